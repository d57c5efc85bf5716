package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/mlgate/mlgate/internal/app"
	"github.com/mlgate/mlgate/internal/oci"
	"github.com/mlgate/mlgate/internal/version"
	"github.com/mlgate/mlgate/tracking"
)

// defaultImageName is MLflow's build-docker default.
const defaultImageName = "mlflow-pyfunc"

// modelFlags are the flags build-docker and generate-dockerfile share with
// MLflow's, plus how mlgate finds models.
type modelFlags struct {
	uri, trackingURI, cacheDir, envManager, mlflowHome string
}

// register adds the shared flags to fs, the flag set of command cmd.
func (m *modelFlags) register(fs *flag.FlagSet, cmd string) {
	fs.StringVar(&m.uri, "model-uri", "", "model URI (any URI models serve takes: folder, archive, models:/, runs:/, s3:, http(s))")
	fs.StringVar(&m.uri, "m", "", "shorthand for --model-uri")
	fs.StringVar(&m.trackingURI, "tracking-uri", "", "tracking/registry server for models:/ and runs:/ URIs (default $MLFLOW_TRACKING_URI)")
	fs.StringVar(&m.cacheDir, "cache-dir", "", "download cache (default $MLGATE_CACHE/models or ~/.cache/mlgate/models)")
	fs.StringVar(&m.mlflowHome, "mlflow-home", "", "accepted for compatibility (ignored)")
	fs.StringVar(&m.envManager, "env-manager", "local", "accepted for compatibility: onnx models need no Python environment; build-docker installs a python_function model's requirements with uv")
	for _, name := range []string{"install-mlflow", "install-java"} {
		fs.BoolFunc(name, "accepted for compatibility (ignored)", func(string) error { return nil })
	}
	fs.BoolFunc("enable-mlserver", "not supported: mlgate serves the model itself", func(string) error {
		return usagef("models %s: --enable-mlserver is not supported; mlgate serves the model itself (KServe v2 included)", cmd)
	})
}

// parse parses args into fs and checks that a model was given.
func (m *modelFlags) parse(fs *flag.FlagSet, args []string, cmd string) error {
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if m.uri == "" {
		return usagef("models %s: -m/--model-uri is required", cmd)
	}
	return nil
}

func (m *modelFlags) source(env *cliEnv, logger *slog.Logger) (*app.ModelSource, error) {
	cfg := tracking.FromEnv(env.getenv)
	if m.trackingURI != "" {
		cfg.TrackingURI = m.trackingURI
	}
	if m.cacheDir == "" {
		m.cacheDir = app.DefaultCacheDir(env.getenv)
	}
	return app.NewModelSource(app.ModelSourceOptions{Tracking: cfg, CacheDir: m.cacheDir, Logger: logger, Progress: progressOut(env)})
}

func runModelsBuildDocker(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet(env, "models build-docker", "mlgate models build-docker -m URI -n NAME[:TAG] [--output DIR|FILE.tar] [--push] [flags]")
	var mf modelFlags
	mf.register(fs, "build-docker")
	var o app.BuildImageOptions
	var insecure bool
	fs.StringVar(&o.Name, "name", defaultImageName, "image name[:tag] (a registry reference with --push)")
	fs.StringVar(&o.Name, "n", defaultImageName, "shorthand for --name")
	fs.StringVar(&o.Base, "base-image", "", "base image: OCI layout folder or registry reference (default $MLGATE_BASE_IMAGE, else the runtime base 'make image' writes); a python_function model needs one with Python 3")
	fs.StringVar(&o.Base, "base", "", "same as --base-image")
	fs.StringVar(&o.Runtime, "runtime", "", "for a python_function model on a Python --base without mlgate: the image whose mlgate and ONNX Runtime layers are added (default as --base's default)")
	fs.StringVar(&o.Output, "output", "", "write the image to this OCI layout folder, or to FILE.tar for docker load (default NAME.tar unless --push)")
	fs.StringVar(&o.Output, "o", "", "shorthand for --output")
	fs.BoolVar(&o.Push, "push", false, "push the image to the registry NAME names (credentials from the docker config file)")
	fs.BoolVar(&insecure, "insecure-registry", false, "allow plain HTTP and unverified TLS to the registry")
	fs.StringVar(&o.Platform, "platform", "", "os/arch of the image (default linux/ this machine's architecture)")
	if err := mf.parse(fs, args, "build-docker"); err != nil {
		return err
	}
	created, err := sourceDateEpoch(env)
	if err != nil {
		return err
	}
	if o.Base == "" {
		o.Base = defaultBase(env)
		if _, ok := oci.IsLayout(o.Base); !ok && env.getenv("MLGATE_BASE_IMAGE") == "" {
			return fmt.Errorf("no --base given and no runtime base image at %s: write it with 'make image' (scripts/image.sh) or pass --base IMAGE", o.Base)
		}
	}
	if o.Runtime == "" {
		o.Runtime = defaultBase(env)
	}
	o.UV = env.getenv("MLGATE_UV")
	if o.Output == "" && !o.Push {
		o.Output = imageFileName(o.Name)
	}
	logger := slog.New(slog.NewTextHandler(env.stderr, nil))
	src, err := mf.source(env, logger)
	if err != nil {
		return err
	}
	o.ModelURI, o.Source, o.Logger, o.Stdout, o.Created = mf.uri, src, logger, env.stdout, created
	o.Remote = oci.Remote{Insecure: insecure}
	_, err = app.BuildImage(ctx, o)
	return err
}

func runModelsGenerateDockerfile(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet(env, "models generate-dockerfile", "mlgate models generate-dockerfile -m URI [-d DIR] [flags]")
	var mf modelFlags
	mf.register(fs, "generate-dockerfile")
	o := app.GenerateDockerfileOptions{Stdout: env.stdout}
	runtime := "mlgate/mlgate:" + version.Version
	fs.StringVar(&o.OutDir, "output-directory", "mlflow-dockerfile", "folder to write the Dockerfile and the model into")
	fs.StringVar(&o.OutDir, "d", "mlflow-dockerfile", "shorthand for --output-directory")
	fs.StringVar(&o.Base, "base-image", "", "FROM image: default --runtime for an onnx model, python:X.Y-slim (the model's Python) for a python_function model")
	fs.StringVar(&o.Base, "base", "", "same as --base-image")
	fs.StringVar(&o.Runtime, "runtime", runtime, "the mlgate runtime image (the top-level Dockerfile builds one): the base of onnx images, where python_function images copy mlgate and ONNX Runtime from")
	if err := mf.parse(fs, args, "generate-dockerfile"); err != nil {
		return err
	}
	src, err := mf.source(env, slog.New(slog.NewTextHandler(env.stderr, nil)))
	if err != nil {
		return err
	}
	o.ModelURI, o.Source = mf.uri, src
	return app.GenerateDockerfile(ctx, o)
}

// runBuildBase writes the runtime base image from staged parts (hidden:
// `make image` runs it).
func runBuildBase(_ context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet(env, "build-base", "mlgate build-base --system DIR --onnxruntime-lib FILE --binary FILE -n NAME -o OUT")
	o := app.BaseImageOptions{Stdout: env.stdout}
	fs.StringVar(&o.System, "system", "", "folder laid out as the image root (libraries, certificates, users)")
	fs.StringVar(&o.ORTLib, "onnxruntime-lib", "", "libonnxruntime.so.1")
	fs.StringVar(&o.Binary, "binary", "", "the mlgate executable to put in the image")
	fs.StringVar(&o.Name, "n", "mlgate:"+version.Version, "image name[:tag]")
	fs.StringVar(&o.Output, "o", "", "OCI layout folder or FILE.tar")
	fs.StringVar(&o.Platform, "platform", "", "os/arch (default linux/ this machine's architecture)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if o.System == "" || o.ORTLib == "" || o.Binary == "" || o.Output == "" {
		return usagef("build-base: --system, --onnxruntime-lib, --binary and -o are required")
	}
	created, err := sourceDateEpoch(env)
	if err != nil {
		return err
	}
	o.Created = created
	_, err = app.BuildBaseImage(o)
	return err
}

// sourceDateEpoch reads SOURCE_DATE_EPOCH (reproducible-builds.org), the
// time of every file and of the image; zero means oci.Epoch.
func sourceDateEpoch(env *cliEnv) (time.Time, error) {
	v := env.getenv("SOURCE_DATE_EPOCH")
	if v == "" {
		return time.Time{}, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return time.Time{}, usagef("SOURCE_DATE_EPOCH=%q is not a number of seconds", v)
	}
	return time.Unix(n, 0).UTC(), nil
}

// defaultBase is $MLGATE_BASE_IMAGE, else the layout `make image` writes
// into the cache.
func defaultBase(env *cliEnv) string {
	if v := env.getenv("MLGATE_BASE_IMAGE"); v != "" {
		return v
	}
	return filepath.Join(filepath.Dir(app.DefaultCacheDir(env.getenv)), "images", "mlgate-runtime")
}

// imageFileName is the default tarball of an image name: its last path
// element without the tag, e.g. reg:5000/team/iris:v2 -> iris.tar.
func imageFileName(ref string) string {
	base := ref[strings.LastIndex(ref, "/")+1:]
	if i := strings.IndexAny(base, ":@"); i >= 0 {
		base = base[:i]
	}
	if base == "" {
		base = defaultImageName
	}
	return fmt.Sprintf("%s.tar", base)
}
