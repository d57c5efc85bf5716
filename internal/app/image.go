package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/mlgate/mlgate/flavors/pyfunc"
	"github.com/mlgate/mlgate/internal/oci"
	"github.com/mlgate/mlgate/pkgformat"
)

// BuildImageOptions configure `mlgate models build-docker`.
type BuildImageOptions struct {
	// ModelURI is any URI `models serve` takes.
	ModelURI string
	// Name is the image name[:tag] (tag default latest).
	Name string
	// Base is the base image: a local OCI layout or a registry reference.
	// A python_function model (without an onnx flavor) needs a base with
	// Python 3.
	Base string
	// Runtime is the image (layout or reference) whose mlgate and ONNX
	// Runtime layers are added to a Python base that lacks mlgate: the
	// runtime base `make image` writes.
	Runtime string
	// UV is the uv program that installs a python_function model's
	// requirements (default uv on PATH).
	UV string
	// Output is an OCI layout folder, or a .tar file for `docker load`;
	// empty writes nothing locally (with Push).
	Output string
	// Push uploads the image to the registry Name names.
	Push bool
	// Platform is os/arch of the image (default linux/GOARCH).
	Platform string
	// Created fixes the image time (default oci.Epoch).
	Created time.Time
	// Source resolves and downloads the model.
	Source *ModelSource
	// Remote configures registry access.
	Remote oci.Remote
	// Logger receives progress lines.
	Logger *slog.Logger
	// Stdout receives the image digest and where it went.
	Stdout io.Writer
}

// BuiltImage describes a built image.
type BuiltImage struct {
	// Digest is the manifest digest (sha256:...).
	Digest string
	// Pushed is the pushed reference by digest, when pushed.
	Pushed string
}

// BuildImage resolves the model, lays it as a layer on the base and
// writes the image where the options say. Nothing is written when any step
// fails.
func BuildImage(ctx context.Context, o BuildImageOptions) (*BuiltImage, error) {
	if o.Output == "" && !o.Push {
		return nil, fmt.Errorf("build-docker: give --output (OCI layout folder or .tar) or --push")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	platform, err := oci.ParsePlatform(orDefault(o.Platform, "linux/"+runtime.GOARCH))
	if err != nil {
		return nil, err
	}
	base, err := oci.LoadBase(ctx, o.Base, platform, o.Remote)
	if err != nil {
		return nil, err
	}
	baseCfg, err := base.ConfigFile()
	if err != nil {
		return nil, err
	}
	stage, err := os.MkdirTemp("", "mlgate-build-")
	if err != nil {
		return nil, err
	}
	defer func() { _ = os.RemoveAll(stage) }()
	modelDir := filepath.Join(stage, "model")
	labels, m, err := stageModel(ctx, o.Source, o.ModelURI, o.Name, modelDir)
	if err != nil {
		return nil, err
	}
	spec := oci.Spec{
		Base: base,
		Layers: []oci.LayerSpec{{
			Trees:   []oci.Tree{{Src: modelDir, Dest: oci.ModelDir}},
			Comment: "mlgate models build-docker -m " + o.ModelURI,
		}},
		Entrypoint: oci.ServeEntrypoint(baseCfg.Config.Entrypoint, nameArgs(labels)...),
		Cmd:        []string{},
		Labels:     labels,
		Ports:      []string{fmt.Sprintf("%d/tcp", oci.ModelPort)},
		Created:    o.Created,
	}
	if _, ok := m.Flavor("onnx"); !ok {
		if err := pythonImage(ctx, o, platform, base, m, modelDir, stage, &spec); err != nil {
			return nil, err
		}
	}
	img, err := oci.Build(spec)
	if err != nil {
		return nil, fmt.Errorf("build image: %w", err)
	}
	digest, err := img.Digest()
	if err != nil {
		return nil, fmt.Errorf("build image: %w", err)
	}
	out := &BuiltImage{Digest: digest.String()}
	// Push first: a refused push then leaves no local output either.
	if o.Push {
		if out.Pushed, err = oci.Push(ctx, o.Name, img, o.Remote); err != nil {
			return nil, err
		}
		o.Logger.Info("image pushed", "ref", out.Pushed)
	}
	if o.Output != "" {
		if err := oci.Write(o.Output, o.Name, img); err != nil {
			return nil, err
		}
		o.Logger.Info("image written", "output", o.Output, "digest", out.Digest)
	}
	if o.Stdout != nil {
		fmt.Fprintln(o.Stdout, out.Digest)
	}
	return out, nil
}

// stageModel downloads the model into dir and returns the labels of its
// image and its MLmodel.
func stageModel(ctx context.Context, src *ModelSource, uri, title, dir string) (map[string]string, *pkgformat.Model, error) {
	res, err := src.Download(ctx, uri, dir)
	if err != nil {
		return nil, nil, err
	}
	m, err := pkgformat.ReadModel(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("%s is not an MLflow model: %w", uri, err)
	}
	return oci.ModelLabels(title, oci.ModelInfo{URI: uri, Name: res.Name, Version: res.Version, Model: m}), m, nil
}

// GenerateDockerfileOptions configure `mlgate models generate-dockerfile`.
type GenerateDockerfileOptions struct {
	// ModelURI is any URI `models serve` takes.
	ModelURI string
	// OutDir is the build context to write (must not exist or be empty).
	OutDir string
	// Base is the FROM image, a registry reference: for an onnx model an
	// mlgate runtime image (default Runtime); for a python_function model
	// an image with Python (default python:X.Y-slim for the model's
	// Python version).
	Base string
	// Runtime is the mlgate runtime image that python_function images copy
	// mlgate and ONNX Runtime from.
	Runtime string
	// Source resolves and downloads the model.
	Source *ModelSource
	// Stdout receives the folder written.
	Stdout io.Writer
}

// GenerateDockerfile writes a Docker build context: the model in
// oci.ModelContext and a Dockerfile that builds the image build-docker
// would, for building with Docker elsewhere.
func GenerateDockerfile(ctx context.Context, o GenerateDockerfileOptions) (rerr error) {
	for _, ref := range []string{o.Base, o.Runtime} {
		if _, ok := oci.IsLayout(ref); ok && ref != "" {
			return fmt.Errorf("generate-dockerfile: %s is a local OCI layout; a Dockerfile's FROM needs a registry reference", ref)
		}
	}
	if ents, err := os.ReadDir(o.OutDir); err == nil && len(ents) > 0 {
		return fmt.Errorf("generate-dockerfile: %s exists and is not an empty folder", o.OutDir)
	} else if os.IsNotExist(err) {
		// A failed generation removes the folder it created.
		defer func() {
			if rerr != nil {
				_ = os.RemoveAll(o.OutDir)
			}
		}()
	}
	labels, m, err := stageModel(ctx, o.Source, o.ModelURI, "", filepath.Join(o.OutDir, oci.ModelContext))
	if err != nil {
		return err
	}
	delete(labels, oci.LabelTitle)
	spec, err := dockerfileSpec(o, labels, m, filepath.Join(o.OutDir, oci.ModelContext))
	if err != nil {
		return err
	}
	df := oci.Dockerfile(spec)
	if err := os.WriteFile(filepath.Join(o.OutDir, "Dockerfile"), []byte(df), 0o644); err != nil {
		return err
	}
	if o.Stdout != nil {
		fmt.Fprintln(o.Stdout, o.OutDir)
	}
	return nil
}

// dockerfileSpec is the Dockerfile of an onnx model (on the mlgate
// runtime) or of a python_function model (on a Python base, with mlgate
// copied from the runtime and the requirements installed with pip).
func dockerfileSpec(o GenerateDockerfileOptions, labels map[string]string, m *pkgformat.Model, modelDir string) (oci.DockerfileSpec, error) {
	if _, ok := m.Flavor("onnx"); ok {
		return oci.DockerfileSpec{Base: orDefault(o.Base, o.Runtime), Labels: labels, Entrypoint: oci.ServeEntrypoint(nil, nameArgs(labels)...)}, nil
	}
	if _, ok := m.Flavor(pyfunc.Name); !ok {
		return oci.DockerfileSpec{}, fmt.Errorf("%s has neither an onnx nor a python_function flavor (flavors: %s)", o.ModelURI, labels[oci.LabelFlavors])
	}
	te, err := pyfunc.TargetRequirements(modelDir, m)
	if err != nil {
		return oci.DockerfileSpec{}, fmt.Errorf("%s: %w", o.ModelURI, err)
	}
	base := o.Base
	if base == "" {
		v := strings.Split(te.ModelPython, ".")
		if len(v) < 2 {
			return oci.DockerfileSpec{}, fmt.Errorf("%s names no Python version in %s: give --base, an image with Python", o.ModelURI, pkgformat.PythonEnvFile)
		}
		base = fmt.Sprintf("python:%s.%s-slim", v[0], v[1])
	}
	install := []string{"python3", "-m", "pip", "install", "--no-cache-dir", "--target", imageEnvDir}
	for i := 0; i < len(te.Requirements); i++ {
		r := te.Requirements[i]
		install = append(install, r)
		if (r == "-r" || r == "-c") && i+1 < len(te.Requirements) {
			i++
			install = append(install, path.Join(oci.ModelDir, te.Requirements[i]))
		}
	}
	return oci.DockerfileSpec{
		Base: base,
		From: []oci.CopyFrom{
			{Image: o.Runtime, Src: baseBinary, Dest: baseBinary},
			{Image: o.Runtime, Src: baseORTLib, Dest: baseORTLib},
		},
		Run:        [][]string{install},
		Env:        []string{"PYTHONPATH=" + imageEnvDir, "ONNXRUNTIME_LIB=" + baseORTLib, "MLGATE_PYTHON=python3"},
		Labels:     labels,
		Entrypoint: oci.ServeEntrypoint([]string{baseBinary}, append(nameArgs(labels), "--env-manager", "local", "--python", "python3")...),
	}, nil
}

// nameArgs serves a registered model under its registered name, as
// `models serve` does for a models:/ URI.
func nameArgs(labels map[string]string) []string {
	if n := labels[oci.LabelModelName]; n != "" {
		return []string{"--name", n}
	}
	return nil
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
