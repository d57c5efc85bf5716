//go:build cgo

package onnx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/mlgate/mlgate/flavors"
	"github.com/mlgate/mlgate/pkgformat"
)

// Option configures a Flavor.
type Option func(*Flavor)

// WithLibrary sets the path of libonnxruntime.so (found by internal/ortlib).
func WithLibrary(path string) Option { return func(f *Flavor) { f.lib = path } }

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(f *Flavor) { f.log = l } }

// Flavor loads ONNX models through ONNX Runtime. The runtime environment is
// process-wide: the first Load initialises it with the library path, later
// Loads (from any Flavor) must name the same library.
type Flavor struct {
	lib string
	log *slog.Logger
}

// New returns the ONNX flavor.
func New(opts ...Option) *Flavor {
	f := &Flavor{}
	for _, o := range opts {
		o(f)
	}
	if f.log == nil {
		f.log = slog.New(slog.DiscardHandler)
	}
	return f
}

// Name returns "onnx".
func (f *Flavor) Name() string { return FlavorName }

// ortEnv is the process-wide ONNX Runtime environment. It is never torn
// down: sessions may outlive any one Flavor.
var ortEnv struct {
	mu  sync.Mutex
	lib string
	err error
}

// initRuntime initialises ONNX Runtime once per process from lib.
func initRuntime(lib string) error {
	ortEnv.mu.Lock()
	defer ortEnv.mu.Unlock()
	if ortEnv.lib != "" {
		if ortEnv.err != nil {
			return ortEnv.err
		}
		if lib != "" && lib != ortEnv.lib {
			return fmt.Errorf("onnx: ONNX Runtime is already loaded from %s, cannot also load %s", ortEnv.lib, lib)
		}
		return nil
	}
	if lib == "" {
		return errors.New("onnx: no ONNX Runtime library path given (set --onnxruntime-lib or ONNXRUNTIME_LIB)")
	}
	ortEnv.lib = lib
	ort.SetSharedLibraryPath(lib)
	if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
		ortEnv.err = fmt.Errorf("onnx: loading ONNX Runtime from %s: %w", lib, err)
		return ortEnv.err
	}
	return nil
}

// RuntimeVersion initialises ONNX Runtime from lib if needed and returns its
// version string (e.g. "1.24.1").
func RuntimeVersion(lib string) (string, error) {
	if err := initRuntime(lib); err != nil {
		return "", err
	}
	return ort.GetVersion(), nil
}

// Load opens the model file named by the MLmodel's onnx flavor in dir.
func (f *Flavor) Load(ctx context.Context, dir string, m *pkgformat.Model, opts flavors.LoadOptions) (flavors.Predictor, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, errors.New("onnx: no MLmodel")
	}
	fl, ok := m.Flavor(FlavorName)
	if !ok {
		return nil, fmt.Errorf("%w: the model has no %q flavor", flavors.ErrNoFlavor, FlavorName)
	}
	cfg, err := parseConfig(fl)
	if err != nil {
		return nil, err
	}
	if err := initRuntime(f.lib); err != nil {
		return nil, err
	}
	for _, p := range cfg.Providers {
		if p != "CPUExecutionProvider" {
			f.log.Debug("execution provider not available, using CPU", "provider", p)
		}
	}
	return open(dir, cfg, opts)
}

var _ flavors.Flavor = (*Flavor)(nil)
