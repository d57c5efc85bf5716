package app

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/mlgate/mlgate/flavors/pyfunc"
	"github.com/mlgate/mlgate/internal/oci"
	"github.com/mlgate/mlgate/pkgformat"
)

// Where a python_function image puts the model's environment, and the
// label naming the Python it was installed for.
const (
	imageEnvDir        = "/opt/ml/env"
	labelPythonVersion = "io.mlgate.python.version"
)

// pythonImage turns spec (the model layer on base) into the image of a
// python_function model: mlgate from the runtime image unless the base
// has it, the model's requirements installed for the base's Python as a
// layer at imageEnvDir, and workers started with that Python.
func pythonImage(ctx context.Context, o BuildImageOptions, platform oci.Platform, base oci.Image, m *pkgformat.Model, modelDir, stage string, spec *oci.Spec) error {
	if _, ok := m.Flavor(pyfunc.Name); !ok {
		return fmt.Errorf("%s has neither an onnx nor a python_function flavor (flavors: %s); build-docker serves those two",
			o.ModelURI, spec.Labels[oci.LabelFlavors])
	}
	start := time.Now()
	files, err := oci.Files(base)
	if err != nil {
		return fmt.Errorf("base image %s: %w", o.Base, err)
	}
	py, err := oci.FindPython(base, files)
	if errors.Is(err, oci.ErrNoPython) {
		return fmt.Errorf("base image %s has no Python for the python_function model %s: %w; give a --base with Python 3 (e.g. a python:3.11-slim image)",
			o.Base, o.ModelURI, err)
	}
	if err != nil {
		return fmt.Errorf("base image %s: %w", o.Base, err)
	}
	o.Logger.Info("base Python", "python", py.Path, "version", py.Version, "took", time.Since(start).Round(time.Millisecond))
	bin, layers, env, err := mlgateLayers(ctx, o, platform, base, files)
	if err != nil {
		return err
	}
	wheels, err := pyfunc.PythonPlatform(platform.Architecture)
	if err != nil {
		return err
	}
	uv, err := findUV(o.UV)
	if err != nil {
		return err
	}
	start = time.Now()
	envDir := filepath.Join(stage, "env")
	te, err := pyfunc.InstallTarget(ctx, modelDir, m, envDir, pyfunc.TargetOptions{
		UV: uv, PythonVersion: py.Version, Platform: wheels, Python: py.Path,
	})
	if err != nil {
		return fmt.Errorf("the environment of %s cannot be built for Python %s of base image %s: %w", o.ModelURI, py.Version, o.Base, err)
	}
	o.Logger.Info("model environment installed", "requirements", strings.Join(te.Requirements, " "), "took", time.Since(start).Round(time.Millisecond))
	if mp := te.ModelPython; mp != "" && mp != py.Version && !strings.HasPrefix(mp, py.Version+".") {
		o.Logger.Warn("the model was saved with another Python than the base's", slog.String("model", mp), slog.String("base", py.Version))
	}
	pythonPath := imageEnvDir
	if v, ok, err := oci.EnvValue(base, "PYTHONPATH"); err == nil && ok && v != "" {
		pythonPath += ":" + v
	}
	layers = append(layers, oci.LayerSpec{
		Trees:   []oci.Tree{{Src: envDir, Dest: imageEnvDir, Links: true}},
		Comment: fmt.Sprintf("python environment of %s for Python %s (uv pip install --target %s)", o.ModelURI, py.Version, imageEnvDir),
	})
	spec.Layers = append(layers, spec.Layers...)
	// MLGATE_PYTHON as well as --python: a chart or runtime that replaces
	// the entrypoint (command: mlgate) still starts workers on this Python.
	spec.Env = append(env, "PYTHONPATH="+pythonPath, "MLGATE_PYTHON="+py.Path)
	spec.Labels[labelPythonVersion] = py.Version
	spec.Entrypoint = oci.ServeEntrypoint([]string{bin}, append(nameArgs(spec.Labels), "--env-manager", "local", "--python", py.Path)...)
	return nil
}

// mlgateLayers returns where mlgate is in the image and, when the base
// lacks it, the layers and environment that bring it from the runtime
// image: its ONNX Runtime and mlgate layers, not its system layer (the
// base's C library stays).
func mlgateLayers(ctx context.Context, o BuildImageOptions, platform oci.Platform, base oci.Image, files map[string]oci.File) (string, []oci.LayerSpec, []string, error) {
	if cf, err := base.ConfigFile(); err == nil && len(cf.Config.Entrypoint) == 1 && path.Base(cf.Config.Entrypoint[0]) == "mlgate" {
		return cf.Config.Entrypoint[0], nil, nil, nil
	}
	if _, ok := files[baseBinary]; ok {
		return baseBinary, nil, nil, nil
	}
	if o.Runtime == "" {
		return "", nil, nil, fmt.Errorf("base image %s has no %s and no runtime image was given to take mlgate from", o.Base, baseBinary)
	}
	rt, err := oci.LoadBase(ctx, o.Runtime, platform, o.Remote)
	if err != nil {
		return "", nil, nil, fmt.Errorf("runtime image (mlgate for the python base): %w", err)
	}
	var layers []oci.LayerSpec
	for _, prefix := range []string{ortLayerComment, mlgateLayerComment} {
		l, err := oci.LayersByHistory(rt, prefix)
		if err == nil && len(l) != 1 {
			err = fmt.Errorf("has %d layers made by %q, want 1 (is it the image `make image` writes?)", len(l), prefix+"...")
		}
		if err != nil {
			return "", nil, nil, fmt.Errorf("runtime image %s: %w", o.Runtime, err)
		}
		layers = append(layers, l...)
	}
	var env []string
	if v, ok, err := oci.EnvValue(rt, "ONNXRUNTIME_LIB"); err == nil && ok {
		env = append(env, "ONNXRUNTIME_LIB="+v)
	}
	bin := baseBinary
	if cf, err := rt.ConfigFile(); err == nil && len(cf.Config.Entrypoint) == 1 && path.Base(cf.Config.Entrypoint[0]) == "mlgate" {
		bin = cf.Config.Entrypoint[0]
	}
	return bin, layers, env, nil
}

// findUV returns the uv program: uv as given, else uv on PATH.
func findUV(uv string) (string, error) {
	if uv == "" {
		uv = "uv"
	}
	p, err := exec.LookPath(uv)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, exec.ErrNotFound) {
			return "", fmt.Errorf("python_function images install the model's environment with uv, and %q was not found (put uv on PATH or set MLGATE_UV): %w", uv, err)
		}
		return "", err
	}
	return p, nil
}
