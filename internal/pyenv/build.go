package pyenv

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/mlgate/mlgate/internal/procutil"
)

// ErrEnv means a Python environment could not be found or built.
var ErrEnv = errors.New("python environment")

// readyFile marks a finished environment.
const readyFile = ".mlgate-ready"

// Key hashes the parts of an environment's spec into a short name: the
// same parts give the same key, any change gives another.
func Key(parts ...[]byte) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:", len(p))
		h.Write(p)
	}
	return hex.EncodeToString(h.Sum(nil))[:20]
}

// Venv says how to build one virtualenv.
type Venv struct {
	// Dir is the environment's final folder (a venv is not relocatable).
	Dir string
	// WorkDir is where the install commands run (relative requirement
	// files resolve there).
	WorkDir string
	// Python is the base interpreter (a path; with uv also a version).
	Python string
	// SystemSite lets the environment see the base interpreter's packages.
	SystemSite bool
	// Installs are pip install argument lists, run in order (for example
	// the build dependencies, then {"-r", "requirements.txt"}).
	Installs [][]string
	// RequireUV fails the build when uv is not on PATH instead of falling
	// back to venv and pip.
	RequireUV bool
	// Env is the build commands' environment (nil: the parent's).
	Env []string
	// Logger receives build progress (nil discards it); Name says what
	// is built in its messages (default "the virtualenv").
	Logger *slog.Logger
	Name   string
}

// BuildVenv returns the interpreter of the virtualenv v describes, building
// it (with uv when on PATH, else venv + pip) when it is not ready yet.
func BuildVenv(ctx context.Context, v Venv) (string, error) {
	uv, _ := exec.LookPath("uv")
	if v.RequireUV && uv == "" {
		return "", fmt.Errorf("%w: env manager uv: the uv program is not on PATH", ErrEnv)
	}
	log := v.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With(slog.String("env", v.Dir))
	name := v.Name
	if name == "" {
		name = "the virtualenv"
	}
	python := filepath.Join(v.Dir, "bin", "python")
	err := Lock(ctx, v.Dir+".lock", func() error {
		if Ready(v.Dir) {
			return nil
		}
		log.Info("building "+name, slog.Bool("uv", uv != ""))
		start := time.Now()
		if err := os.MkdirAll(filepath.Dir(v.Dir), 0o755); err != nil {
			return err
		}
		_ = os.RemoveAll(v.Dir)
		var steps [][]string
		if uv != "" {
			args := []string{uv, "venv", "--python", v.Python}
			if v.SystemSite {
				args = append(args, "--system-site-packages")
			}
			steps = append(steps, append(args, v.Dir))
			for _, in := range v.Installs {
				steps = append(steps, append([]string{uv, "pip", "install", "--python", python}, in...))
			}
		} else {
			args := []string{v.Python, "-m", "venv"}
			if v.SystemSite {
				args = append(args, "--system-site-packages")
			}
			steps = append(steps, append(args, v.Dir))
			for _, in := range v.Installs {
				steps = append(steps, append([]string{python, "-m", "pip", "install", "--disable-pip-version-check", "-q"}, in...))
			}
		}
		for _, s := range steps {
			if err := RunStep(ctx, v.WorkDir, v.Env, s); err != nil {
				_ = os.RemoveAll(v.Dir)
				return err
			}
		}
		if err := markReady(v.Dir); err != nil {
			return err
		}
		log.Info(name+" is ready", slog.Duration("took", time.Since(start)))
		return nil
	})
	if err != nil {
		return "", err
	}
	return python, nil
}

// Conda says how to build one conda environment.
type Conda struct {
	// Dir is the environment's prefix; File the environment file
	// (conda.yaml) it is created from.
	Dir, File string
	// WorkDir is where conda runs; Env its environment (nil: the parent's).
	WorkDir string
	Env     []string
}

// BuildConda returns the interpreter of the conda environment c describes,
// creating it when it is not ready yet. A missing conda program is a clear
// error wrapping ErrEnv.
func BuildConda(ctx context.Context, c Conda) (string, error) {
	conda, err := exec.LookPath("conda")
	if err != nil {
		return "", fmt.Errorf("%w: env manager conda: the conda program is not on PATH", ErrEnv)
	}
	err = Lock(ctx, c.Dir+".lock", func() error {
		if Ready(c.Dir) {
			return nil
		}
		_ = os.RemoveAll(c.Dir)
		if err := os.MkdirAll(filepath.Dir(c.Dir), 0o755); err != nil {
			return err
		}
		if err := RunStep(ctx, c.WorkDir, c.Env, []string{conda, "env", "create", "--yes", "--prefix", c.Dir, "--file", c.File}); err != nil {
			_ = os.RemoveAll(c.Dir)
			return err
		}
		return markReady(c.Dir)
	})
	if err != nil {
		return "", err
	}
	return filepath.Join(c.Dir, "bin", "python"), nil
}

// Ready reports whether the environment in dir was built to the end.
func Ready(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, readyFile))
	return err == nil
}

func markReady(dir string) error {
	return os.WriteFile(filepath.Join(dir, readyFile), []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o644)
}

// RunStep runs one build command in dir and returns its output tail on
// failure.
func RunStep(ctx context.Context, dir string, env []string, argv []string) error {
	tail := procutil.NewTail(30, 16<<10, nil)
	p, err := procutil.Start(ctx, procutil.Config{Path: argv[0], Args: argv[1:], Dir: dir, Env: env, Stdout: tail, Stderr: tail})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrEnv, err)
	}
	<-p.Done()
	if err := p.Err(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%w: %s failed (%w):\n%s", ErrEnv, strings.Join(argv, " "), err, tail.Last(20))
	}
	return nil
}
