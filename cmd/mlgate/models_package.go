package main

import (
	"context"
	"strings"

	"github.com/mlgate/mlgate/internal/app"
)

// multiFlag collects a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func runModelsPackage(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet(env, "models package", "mlgate models package --onnx model.onnx -d OUTDIR [flags]")
	var o app.PackageOptions
	var extra multiFlag
	fs.StringVar(&o.ONNX, "onnx", "", "the .onnx file to package (required)")
	fs.StringVar(&o.OutDir, "d", "", "output model folder; must not exist or be empty (required)")
	fs.StringVar(&o.OutDir, "path", "", "same as -d")
	fs.StringVar(&o.InputExample, "input-example", "", "JSON input example: {\"inputs\": …}, {\"dataframe_split\": …}, {name: nested list} or a nested list")
	fs.Var(&extra, "extra-file", "file to copy into the model folder (repeatable)")
	fs.StringVar(&o.Archive, "archive", "", "also pack the folder into this .tar.gz, .tgz, .zip or .tar file")
	fs.BoolVar(&o.NoSignature, "no-signature", false, "do not write a signature inferred from the ONNX graph")
	fs.StringVar(&o.PythonVersion, "python-version", "", "python version for python_env.yaml and conda.yaml (default 3.11.7)")
	fs.StringVar(&o.ONNXVersion, "onnx-version", "", "onnx version to pin in requirements.txt (default 1.23.2)")
	fs.StringVar(&o.ONNXRuntimeVersion, "onnxruntime-version", "", "onnxruntime version to pin in requirements.txt (default 1.32.0)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if o.ONNX == "" || o.OutDir == "" {
		return usagef("models package: --onnx FILE and -d OUTDIR are required")
	}
	o.ExtraFiles = extra
	o.Stdout = env.stdout
	return app.Package(ctx, o)
}
