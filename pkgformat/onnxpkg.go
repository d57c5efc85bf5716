package pkgformat

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// Defaults written by PackageONNX when the options leave them empty: the
// versions the interop environment pins.
const (
	DefaultMLflowVersion      = "3.17.2"
	DefaultPythonVersion      = "3.11.7"
	DefaultONNXVersion        = "1.23.2"
	DefaultONNXRuntimeVersion = "1.32.0"
	// ONNXModelFile is the model file name inside a packaged folder.
	ONNXModelFile = "model.onnx"
)

// MaxONNXSize caps the .onnx file PackageONNX reads (protobuf's limit).
const MaxONNXSize = 2 << 30

// ONNXPackageOptions says what PackageONNX writes.
type ONNXPackageOptions struct {
	// ModelPath is the .onnx file. External data files it references are
	// copied too, from their paths relative to it.
	ModelPath string
	// OutDir is the model folder to create; it must not exist or be empty.
	OutDir string
	// InputExample is an optional example (see ExampleFromPayload).
	InputExample []byte
	// ExtraFiles are copied into the folder under their base names.
	ExtraFiles []string
	// NoSignature skips the signature inferred from the graph.
	NoSignature bool
	// Metadata is written as the MLmodel metadata block when non-nil.
	Metadata map[string]any
	// Versions written into MLmodel and the environment files; empty
	// fields take the Default* constants.
	MLflowVersion, PythonVersion, ONNXVersion, ONNXRuntimeVersion string
	// Now is the creation time (time.Now when zero).
	Now time.Time
}

// PackageONNX writes an MLflow model folder for an ONNX file the way
// mlflow.onnx.save_model does: model.onnx, an MLmodel with the onnx and
// python_function flavors and a tensor signature read from the graph, the
// input example, python_env.yaml, requirements.txt and conda.yaml. The
// folder is assembled beside OutDir and renamed into place.
func PackageONNX(ctx context.Context, o ONNXPackageOptions) (m *Model, err error) {
	o.defaults()
	if o.ModelPath == "" || o.OutDir == "" {
		return nil, errors.New("package: the ONNX file and the output folder are required")
	}
	data, err := readLimited(o.ModelPath, MaxONNXSize)
	if err != nil {
		return nil, fmt.Errorf("package: %w", err)
	}
	graph, err := ParseONNX(data)
	if err != nil {
		return nil, fmt.Errorf("package %s: %w", o.ModelPath, err)
	}
	m = &Model{
		Flavors: map[string]map[string]any{
			"onnx": {
				"code": nil, "data": ONNXModelFile, "onnx_session_options": nil,
				"onnx_version": o.ONNXVersion,
				"providers":    []any{"CUDAExecutionProvider", "CPUExecutionProvider"},
			},
			"python_function": {
				"data":           ONNXModelFile,
				"env":            map[string]any{"conda": CondaFile, "virtualenv": PythonEnvFile},
				"loader_module":  "mlflow.onnx",
				"python_version": o.PythonVersion,
			},
		},
		ModelUUID:      newUUIDHex(),
		UTCTimeCreated: FormatUTCTime(o.Now),
		MLflowVersion:  o.MLflowVersion,
		Metadata:       o.Metadata,
		Extra:          map[string]any{"model_id": nil, "prompts": nil},
	}
	if !o.NoSignature {
		sig, err := graph.Signature()
		if err != nil {
			return nil, fmt.Errorf("package %s: cannot infer a signature (use --no-signature): %w", o.ModelPath, err)
		}
		m.Signature = sig
		m.Extra["is_signature_from_type_hint"] = false
		m.Extra["type_hint_from_example"] = false
	}
	var example *InputExample
	if o.InputExample != nil {
		if example, err = ExampleFromPayload(o.InputExample); err != nil {
			return nil, fmt.Errorf("package: input example: %w", err)
		}
	}

	if err := checkTarget(o.OutDir); err != nil {
		return nil, fmt.Errorf("package: %w", err)
	}
	parent := filepath.Dir(o.OutDir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(o.OutDir)+".pkg-*")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = os.RemoveAll(tmp)
		}
	}()
	if err = writeFileAtomic(filepath.Join(tmp, ONNXModelFile), data); err != nil {
		return nil, err
	}
	taken := map[string]bool{ONNXModelFile: true, MLmodelFile: true, PythonEnvFile: true, CondaFile: true,
		RequirementsFile: true, InputExampleFile: true, ServingInputExampleFile: true}
	srcDir := filepath.Dir(o.ModelPath)
	for _, loc := range graph.ExternalData {
		if err = ctx.Err(); err != nil {
			return nil, err
		}
		if !filepath.IsLocal(filepath.FromSlash(loc)) || taken[loc] {
			err = fmt.Errorf("package %s: external data location %q must be a relative path beside the model", o.ModelPath, loc)
			return nil, err
		}
		taken[loc] = true
		if err = copyFile(filepath.Join(srcDir, filepath.FromSlash(loc)), filepath.Join(tmp, filepath.FromSlash(loc))); err != nil {
			return nil, fmt.Errorf("package: external data: %w", err)
		}
	}
	for _, f := range o.ExtraFiles {
		base := filepath.Base(f)
		if taken[base] {
			err = fmt.Errorf("package: extra file %s would overwrite %s in the model folder", f, base)
			return nil, err
		}
		taken[base] = true
		if err = copyFile(f, filepath.Join(tmp, base)); err != nil {
			return nil, fmt.Errorf("package: extra file: %w", err)
		}
	}
	if example != nil {
		if m.SavedInputExampleInfo, err = WriteInputExample(tmp, example); err != nil {
			return nil, fmt.Errorf("package: input example: %w", err)
		}
	}
	env := &Env{
		Python:            o.PythonVersion,
		BuildDependencies: []string{"pip", "setuptools", "wheel"},
		Requirements: []string{
			"mlflow==" + o.MLflowVersion,
			"onnx==" + o.ONNXVersion,
			"onnxruntime==" + o.ONNXRuntimeVersion,
		},
	}
	if err = WriteEnv(tmp, env); err != nil {
		return nil, err
	}
	size, err := dirSize(tmp)
	if err != nil {
		return nil, err
	}
	m.ModelSizeBytes = &size
	if err = WriteModel(tmp, m); err != nil {
		return nil, err
	}
	if err = os.Chmod(tmp, 0o755); err != nil { //nolint:gosec // model folders are world-readable
		return nil, err
	}
	if _, statErr := os.Lstat(o.OutDir); statErr == nil {
		if err = os.Remove(o.OutDir); err != nil {
			return nil, err
		}
	}
	if err = os.Rename(tmp, o.OutDir); err != nil {
		return nil, err
	}
	return m, nil
}

func (o *ONNXPackageOptions) defaults() {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&o.MLflowVersion, DefaultMLflowVersion)
	def(&o.PythonVersion, DefaultPythonVersion)
	def(&o.ONNXVersion, DefaultONNXVersion)
	def(&o.ONNXRuntimeVersion, DefaultONNXRuntimeVersion)
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
}

func newUUIDHex() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return hex.EncodeToString(b[:])
}

func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, limit)
	}
	return data, nil
}

func copyFile(src, dst string) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer func() { _ = in.Close() }()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", src)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644) //nolint:gosec // model files are world-readable
	if err != nil {
		return err
	}
	defer func() {
		if cerr := out.Close(); err == nil {
			err = cerr
		}
	}()
	_, err = io.Copy(out, in)
	return err
}

// dirSize sums the sizes of the regular files under dir.
func dirSize(dir string) (int64, error) {
	var total int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			fi, err := d.Info()
			if err != nil {
				return err
			}
			total += fi.Size()
		}
		return nil
	})
	return total, err
}
