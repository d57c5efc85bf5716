package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"time"

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
		if oci.IsTarball(o.Output) {
			err = oci.WriteTarball(o.Output, o.Name, img)
		} else {
			err = oci.WriteLayout(o.Output, o.Name, img)
		}
		if err != nil {
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
	res, err := src.Resolve(ctx, uri)
	if err != nil {
		return nil, nil, err
	}
	if err := src.Download(ctx, uri, dir); err != nil {
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
	// Base is the FROM image, a registry reference.
	Base string
	// Source resolves and downloads the model.
	Source *ModelSource
	// Stdout receives the folder written.
	Stdout io.Writer
}

// GenerateDockerfile writes a Docker build context: the model in
// oci.ModelContext and a Dockerfile that builds the image build-docker
// would, for building with Docker elsewhere.
func GenerateDockerfile(ctx context.Context, o GenerateDockerfileOptions) (rerr error) {
	if _, ok := oci.IsLayout(o.Base); ok {
		return fmt.Errorf("generate-dockerfile: --base %s is a local OCI layout; a Dockerfile's FROM needs a registry reference", o.Base)
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
	if _, ok := m.Flavor("onnx"); !ok {
		return fmt.Errorf("%s has no onnx flavor (flavors: %s); generate-dockerfile writes images of onnx models, build python_function images with build-docker --base",
			o.ModelURI, labels[oci.LabelFlavors])
	}
	delete(labels, oci.LabelTitle)
	df := oci.Dockerfile(o.Base, labels, oci.ServeEntrypoint(nil, nameArgs(labels)...))
	if err := os.WriteFile(filepath.Join(o.OutDir, "Dockerfile"), []byte(df), 0o644); err != nil {
		return err
	}
	if o.Stdout != nil {
		fmt.Fprintln(o.Stdout, o.OutDir)
	}
	return nil
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
