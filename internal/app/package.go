package app

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/mlgate/mlgate/internal/version"
	"github.com/mlgate/mlgate/pkgformat"
)

// PackageOptions configure `mlgate models package`.
type PackageOptions struct {
	// ONNX is the .onnx file to package.
	ONNX string
	// OutDir is the model folder to write (must not exist or be empty).
	OutDir string
	// InputExample is an optional JSON file with an input example.
	InputExample string
	// ExtraFiles are copied into the model folder.
	ExtraFiles []string
	// Archive, when set, is a .tar.gz/.tgz/.zip/.tar file to pack the folder into.
	Archive string
	// NoSignature skips the signature inferred from the ONNX graph.
	NoSignature bool
	// PythonVersion, ONNXVersion and ONNXRuntimeVersion override the
	// versions written into the environment files.
	PythonVersion, ONNXVersion, ONNXRuntimeVersion string
	// Stdout receives the folder (and archive) path.
	Stdout io.Writer
}

// Package writes an MLflow model folder from an ONNX file, and optionally
// an archive of it.
func Package(ctx context.Context, o PackageOptions) error {
	var example []byte
	if o.InputExample != "" {
		b, err := os.ReadFile(o.InputExample)
		if err != nil {
			return fmt.Errorf("input example: %w", err)
		}
		example = b
	}
	if o.Archive != "" {
		// Fail on a bad extension before writing anything.
		if err := pkgformat.CheckArchiveName(o.Archive); err != nil {
			return err
		}
	}
	_, err := pkgformat.PackageONNX(ctx, pkgformat.ONNXPackageOptions{
		ModelPath:          o.ONNX,
		OutDir:             o.OutDir,
		InputExample:       example,
		ExtraFiles:         o.ExtraFiles,
		NoSignature:        o.NoSignature,
		MLflowVersion:      version.MLflowCompat,
		PythonVersion:      o.PythonVersion,
		ONNXVersion:        o.ONNXVersion,
		ONNXRuntimeVersion: o.ONNXRuntimeVersion,
	})
	if err != nil {
		return err
	}
	if o.Stdout != nil {
		abs, _ := filepath.Abs(o.OutDir)
		fmt.Fprintln(o.Stdout, abs)
	}
	if o.Archive != "" {
		if err := pkgformat.Pack(ctx, o.OutDir, o.Archive); err != nil {
			return err
		}
		if o.Stdout != nil {
			abs, _ := filepath.Abs(o.Archive)
			fmt.Fprintln(o.Stdout, abs)
		}
	}
	return nil
}
