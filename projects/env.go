package projects

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/mlgate/mlgate/internal/pyenv"
)

// Env managers (--env-manager), as MLflow names them.
const (
	ManagerLocal      = "local"
	ManagerVirtualenv = "virtualenv"
	ManagerUV         = "uv"
	ManagerConda      = "conda"
)

// ErrEnv means the project's environment could not be prepared (a
// missing conda, a failed install). It is internal/pyenv's error.
var ErrEnv = pyenv.ErrEnv

// envSetup is how the entry point's command runs in the prepared
// environment.
type envSetup struct {
	// tag is the mlflow.project.env tag ("" when MLflow sets none).
	tag string
	// prefix goes before the command ("source <venv>/bin/activate && ").
	prefix string
}

// chooseManager picks the env manager as MLflow does: the user's choice,
// else conda for a conda project, virtualenv for a Python one and local
// for a docker one.
func chooseManager(p *Project, m string) (string, error) {
	switch m {
	case "":
		switch p.Env {
		case EnvConda:
			return ManagerConda, nil
		case EnvDocker:
			return ManagerLocal, nil
		}
		return ManagerVirtualenv, nil
	case ManagerLocal, ManagerVirtualenv, ManagerUV:
		return m, nil
	case ManagerConda:
		if p.Env == EnvPython {
			return "", fmt.Errorf("%w: a python_env project cannot be run with conda; set --env-manager to virtualenv, uv or local", ErrSpec)
		}
		return m, nil
	}
	return "", fmt.Errorf("%w: invalid env manager %q (want local, virtualenv, uv or conda)", ErrSpec, m)
}

// precheckEnv fails early, before a run exists, when a tool the manager
// needs is missing.
func precheckEnv(p *Project, manager string) error {
	if p.Docker != nil {
		return nil
	}
	switch manager {
	case ManagerConda:
		if _, err := exec.LookPath("conda"); err != nil {
			return fmt.Errorf("%w: env manager conda: the conda program is not on PATH (install conda, or use --env-manager virtualenv or local)", ErrEnv)
		}
	case ManagerUV:
		if _, err := exec.LookPath("uv"); err != nil {
			return fmt.Errorf("%w: env manager uv: the uv program is not on PATH", ErrEnv)
		}
	}
	return nil
}

// prepareEnv builds (or finds in the cache) the environment the manager
// asks for.
func prepareEnv(ctx context.Context, p *Project, manager string, o *Options) (*envSetup, error) {
	switch manager {
	case ManagerVirtualenv, ManagerUV:
		spec, err := readPythonSpec(p)
		if err != nil {
			return nil, err
		}
		py, err := buildVenv(ctx, p, spec, manager, o)
		if err != nil {
			return nil, err
		}
		return &envSetup{tag: manager, prefix: "source " + Quote(filepath.Join(filepath.Dir(py), "activate")) + " && "}, nil
	case ManagerConda:
		if p.Env != EnvConda {
			return nil, fmt.Errorf("%w: env manager conda needs a conda_env (conda.yaml) in the project", ErrEnv)
		}
		b, err := os.ReadFile(p.EnvFile)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrEnv, err)
		}
		py, err := pyenv.BuildConda(ctx, pyenv.Conda{
			Dir:  filepath.Join(o.CacheDir, "envs", "project-conda-"+pyenv.Key([]byte("conda"), b)),
			File: p.EnvFile, WorkDir: p.Dir, Env: o.Env,
		})
		if err != nil {
			return nil, err
		}
		prefix := filepath.Dir(filepath.Dir(py))
		return &envSetup{tag: "conda", prefix: "export CONDA_PREFIX=" + Quote(prefix) + " PATH=" + Quote(filepath.Dir(py)) + `:"$PATH" && `}, nil
	}
	return &envSetup{}, nil
}

// pythonSpec is what a virtualenv of the project holds.
type pythonSpec struct {
	Python            string   `yaml:"python"`
	BuildDependencies []string `yaml:"build_dependencies"`
	Dependencies      []string `yaml:"dependencies"`
	raw               []byte
}

// readPythonSpec reads python_env.yaml, or the python version and pip
// dependencies of conda.yaml (as MLflow turns a conda project into a
// virtualenv), or nothing (the base interpreter, no dependencies).
func readPythonSpec(p *Project) (*pythonSpec, error) {
	s := &pythonSpec{}
	if p.EnvFile == "" {
		return s, nil
	}
	b, err := os.ReadFile(p.EnvFile)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrEnv, err)
	}
	s.raw = b
	if p.Env == EnvPython {
		if err := yaml.Unmarshal(b, s); err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrSpec, filepath.Base(p.EnvFile), err)
		}
		return s, nil
	}
	var conda struct {
		Dependencies []any `yaml:"dependencies"`
	}
	if err := yaml.Unmarshal(b, &conda); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrSpec, filepath.Base(p.EnvFile), err)
	}
	for _, d := range conda.Dependencies {
		switch d := d.(type) {
		case string:
			if m := condaPython.FindStringSubmatch(d); m != nil && s.Python == "" {
				s.Python = m[1]
			}
		case map[string]any:
			if pip, ok := d["pip"].([]any); ok {
				for _, e := range pip {
					if e, ok := e.(string); ok {
						s.Dependencies = append(s.Dependencies, e)
					}
				}
			}
		}
	}
	return s, nil
}

var condaPython = regexp.MustCompile(`^python\s*(?:==|=|>=|<=|~=)\s*([0-9][0-9.]*)`)

// buildVenv builds the project's virtualenv through internal/pyenv (uv
// when it is on PATH, as MLflow does for uv; for virtualenv too, where
// MLflow would use pyenv and virtualenv) in the cache, keyed by the
// environment file, the project's requirements.txt and the interpreter.
func buildVenv(ctx context.Context, p *Project, s *pythonSpec, manager string, o *Options) (string, error) {
	base := s.Python
	_, uvErr := exec.LookPath("uv")
	if base == "" {
		py, err := exec.LookPath(o.Python)
		if err != nil {
			return "", fmt.Errorf("%w: Python interpreter %q not found: %w", ErrEnv, o.Python, err)
		}
		base = py
	} else if uvErr != nil {
		py, err := exec.LookPath("python" + base)
		if err != nil {
			return "", fmt.Errorf("%w: the project wants Python %s: neither uv nor python%s is on PATH", ErrEnv, s.Python, s.Python)
		}
		base = py
	}
	req, err := os.ReadFile(filepath.Join(p.Dir, "requirements.txt"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("%w: %w", ErrEnv, err)
	}
	key := pyenv.Key([]byte("project-venv"), []byte(base), s.raw, req)
	var installs [][]string
	for _, deps := range [][]string{s.BuildDependencies, s.Dependencies} {
		if args := pipArgs(deps); len(args) > 0 {
			installs = append(installs, args)
		}
	}
	return pyenv.BuildVenv(ctx, pyenv.Venv{
		Dir: filepath.Join(o.CacheDir, "envs", "project-venv-"+key), WorkDir: p.Dir, Python: base,
		Installs: installs, RequireUV: manager == ManagerUV, Env: o.Env, Logger: o.Logger,
		Name: "the project's virtualenv",
	})
}

// pipArgs turns requirement lines into pip arguments ("-r file" is two).
func pipArgs(deps []string) []string {
	var out []string
	for _, d := range deps {
		d = strings.TrimSpace(d)
		if d == "" {
			continue
		}
		if strings.HasPrefix(d, "-") {
			if opt, val, ok := strings.Cut(d, " "); ok {
				out = append(out, opt, strings.TrimSpace(val))
				continue
			}
		}
		out = append(out, d)
	}
	return out
}
