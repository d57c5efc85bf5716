package pyfunc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/mlgate/mlgate/flavors"
	"github.com/mlgate/mlgate/internal/pyenv"
	"github.com/mlgate/mlgate/pkgformat"
)

// Env managers, as `mlflow models serve --env-manager` names them.
const (
	EnvLocal      = "local"
	EnvVirtualenv = "virtualenv"
	EnvUV         = "uv"
	EnvConda      = "conda"
)

// ExtraSystemSitePackages ("true") builds virtualenvs that also see the
// base interpreter's packages (for offline machines and tests).
const ExtraSystemSitePackages = "pyfunc.venv_system_site_packages"

// ErrEnv means the model's Python environment could not be found or built
// (the same error as internal/pyenv's).
var ErrEnv = pyenv.ErrEnv

// interpreter returns the Python that runs the model's workers, building
// the model's environment first when the env manager asks for one.
func (f *Flavor) interpreter(ctx context.Context, dir string, m *pkgformat.Model, opts flavors.LoadOptions) (string, error) {
	base := f.opts.Python
	if v := opts.Extra[ExtraPython]; v != "" {
		base = v
	}
	manager := opts.EnvManager
	if manager == "" {
		manager = EnvLocal
	}
	switch manager {
	case EnvLocal:
		return lookPython(base, manager)
	case EnvVirtualenv, EnvUV:
		py, err := lookPython(base, manager)
		if err != nil {
			return "", err
		}
		return buildVirtualenv(ctx, f.opts, dir, m, py, manager, opts.Extra[ExtraSystemSitePackages] == "true")
	case EnvConda:
		return buildConda(ctx, f.opts, dir, m)
	default:
		return "", fmt.Errorf("%w: unknown env manager %q (want local, virtualenv, uv or conda)", ErrEnv, manager)
	}
}

func lookPython(python, manager string) (string, error) {
	p, err := exec.LookPath(python)
	if err != nil {
		return "", fmt.Errorf("%w: Python interpreter %q not found (env manager %s): %w", ErrEnv, python, manager, err)
	}
	return filepath.Abs(p)
}

// envFiles reads the environment files of the model: their contents make
// the cache key.
type envFiles struct {
	pythonEnv    []byte // python_env.yaml
	requirements []byte // requirements.txt
	constraints  []byte // constraints.txt
	conda        []byte // conda.yaml
	pythonEnvRel string
	condaRel     string
}

func readEnvFiles(dir string, m *pkgformat.Model) (*envFiles, error) {
	ef := &envFiles{pythonEnvRel: pkgformat.PythonEnvFile, condaRel: pkgformat.CondaFile}
	if cfg, ok := m.Flavor(Name); ok {
		switch env := cfg["env"].(type) {
		case map[string]any:
			if s, ok := env["virtualenv"].(string); ok && s != "" {
				ef.pythonEnvRel = s
			}
			if s, ok := env["conda"].(string); ok && s != "" {
				ef.condaRel = s
			}
		case string: // legacy: a conda file name
			ef.condaRel = env
		}
	}
	read := func(rel string) ([]byte, error) {
		clean := filepath.Clean(rel)
		if filepath.IsAbs(clean) || strings.HasPrefix(clean, "..") {
			return nil, fmt.Errorf("%w: environment file %q is outside the model folder", ErrEnv, rel)
		}
		b, err := os.ReadFile(filepath.Join(dir, clean))
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return b, err
	}
	var err error
	if ef.pythonEnv, err = read(ef.pythonEnvRel); err != nil {
		return nil, err
	}
	if ef.requirements, err = read(pkgformat.RequirementsFile); err != nil {
		return nil, err
	}
	if ef.constraints, err = read(pkgformat.ConstraintsFile); err != nil {
		return nil, err
	}
	if ef.conda, err = read(ef.condaRel); err != nil {
		return nil, err
	}
	return ef, nil
}

// pythonEnvDoc is the part of python_env.yaml a builder needs.
type pythonEnvDoc struct {
	Python            any      `yaml:"python"`
	BuildDependencies []string `yaml:"build_dependencies"`
	Dependencies      []string `yaml:"dependencies"`
}

// pythonEnvDoc parses python_env.yaml (empty when the model has none).
func (ef *envFiles) pythonEnvDoc() (pythonEnvDoc, error) {
	var doc pythonEnvDoc
	if ef.pythonEnv != nil {
		if err := yaml.Unmarshal(ef.pythonEnv, &doc); err != nil {
			return doc, fmt.Errorf("%w: %s: %w", ErrEnv, ef.pythonEnvRel, err)
		}
	}
	return doc, nil
}

// buildVirtualenv returns the interpreter of the model's virtualenv,
// building it (internal/pyenv: with uv when present, else venv + pip) when
// the cache has none.
func buildVirtualenv(ctx context.Context, o Options, dir string, m *pkgformat.Model, basePython, manager string, systemSite bool) (string, error) {
	ef, err := readEnvFiles(dir, m)
	if err != nil {
		return "", err
	}
	if ef.pythonEnv == nil && ef.requirements == nil {
		return "", fmt.Errorf("%w: env manager %s needs %s or %s in the model folder", ErrEnv, manager, pkgformat.PythonEnvFile, pkgformat.RequirementsFile)
	}
	doc, err := ef.pythonEnvDoc()
	if err != nil {
		return "", err
	}
	var installs [][]string
	if len(doc.BuildDependencies) > 0 {
		installs = append(installs, doc.BuildDependencies)
	}
	if ef.requirements != nil {
		installs = append(installs, []string{"-r", pkgformat.RequirementsFile})
	}
	return pyenv.BuildVenv(ctx, pyenv.Venv{
		Dir: venvPath(o, ef, basePython, systemSite), WorkDir: dir, Python: basePython, SystemSite: systemSite,
		Installs: installs, RequireUV: manager == EnvUV, Env: o.Env, Logger: o.Logger, Name: "the model's virtualenv",
	})
}

// venvPath is where the virtualenv for these environment files lives: the
// name hashes everything the build depends on.
func venvPath(o Options, ef *envFiles, basePython string, systemSite bool) string {
	site := "isolated"
	if systemSite {
		site = "system-site"
	}
	key := pyenv.Key([]byte("venv"), []byte(basePython), []byte(site), ef.pythonEnv, ef.requirements, ef.constraints)
	return filepath.Join(o.CacheDir, "envs", "venv-"+key)
}

// venvDir is venvPath for the model in dir.
func venvDir(o Options, dir string, m *pkgformat.Model, basePython string, systemSite bool) (string, error) {
	ef, err := readEnvFiles(dir, m)
	if err != nil {
		return "", err
	}
	return venvPath(o, ef, basePython, systemSite), nil
}

// buildConda returns the interpreter of the model's conda environment,
// created from conda.yaml when the cache has none.
func buildConda(ctx context.Context, o Options, dir string, m *pkgformat.Model) (string, error) {
	if _, err := exec.LookPath("conda"); err != nil {
		return "", fmt.Errorf("%w: env manager conda: the conda program is not on PATH", ErrEnv)
	}
	ef, err := readEnvFiles(dir, m)
	if err != nil {
		return "", err
	}
	if ef.conda == nil {
		return "", fmt.Errorf("%w: env manager conda needs %s in the model folder", ErrEnv, ef.condaRel)
	}
	return pyenv.BuildConda(ctx, pyenv.Conda{
		Dir:  filepath.Join(o.CacheDir, "envs", "conda-"+pyenv.Key([]byte("conda"), ef.conda, ef.requirements)),
		File: filepath.Join(dir, ef.condaRel), WorkDir: dir, Env: o.Env,
	})
}
