package pyfunc

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/mlgate/mlgate/internal/pyenv"
	"github.com/mlgate/mlgate/pkgformat"
)

// TargetOptions configure InstallTarget: the interpreter that will import
// the packages, which need not be this machine's.
type TargetOptions struct {
	// UV is the uv program that installs the packages.
	UV string
	// PythonVersion is the interpreter's major.minor version, e.g. 3.11.
	PythonVersion string
	// Platform is the interpreter's platform as uv's --python-platform
	// names it, e.g. x86_64-manylinux_2_28 (see PythonPlatform).
	Platform string
	// Python is the interpreter's path where the folder is used: console
	// scripts in the folder's bin/ start with it.
	Python string
	// Env is uv's environment (nil: the parent's).
	Env []string
}

// TargetEnv describes an installed folder.
type TargetEnv struct {
	// ModelPython is the Python version python_env.yaml asks for ("" when
	// the model names none).
	ModelPython string
	// Requirements are the requirement arguments given to uv.
	Requirements []string
}

// PythonPlatform returns uv's --python-platform for a Linux architecture
// (GOARCH name), for glibc 2.28 or newer.
func PythonPlatform(goarch string) (string, error) {
	switch goarch {
	case "amd64":
		return "x86_64-manylinux_2_28", nil
	case "arm64":
		return "aarch64-manylinux_2_28", nil
	}
	return "", fmt.Errorf("%w: no Python wheel platform for linux/%s (want amd64 or arm64)", ErrEnv, goarch)
}

// InstallTarget installs the packages the model in dir requires (its
// requirements.txt, else the dependencies of its python_env.yaml) into the
// folder dest with `uv pip install --target`, for the interpreter o
// describes, without compiling bytecode: the folder then goes on that
// interpreter's PYTHONPATH. The same requirements and uv give the same
// files. On failure the error carries uv's last output lines and dest is
// removed.
func InstallTarget(ctx context.Context, dir string, m *pkgformat.Model, dest string, o TargetOptions) (_ *TargetEnv, rerr error) {
	if o.UV == "" || o.PythonVersion == "" || o.Platform == "" || o.Python == "" {
		return nil, errors.New("pyfunc: InstallTarget needs uv, the Python version and platform and the interpreter path")
	}
	te, err := TargetRequirements(dir, m)
	if err != nil {
		return nil, err
	}
	defer func() {
		if rerr != nil {
			_ = os.RemoveAll(dest)
		}
	}()
	argv := append([]string{o.UV, "pip", "install", "--no-progress", "--target", dest,
		"--python-version", o.PythonVersion, "--python-platform", o.Platform}, te.Requirements...)
	if err := pyenv.RunStep(ctx, dir, o.Env, argv); err != nil {
		return nil, err
	}
	// uv's lock file is of the build, not of the environment.
	if err := os.Remove(filepath.Join(dest, ".lock")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err := pointScripts(filepath.Join(dest, "bin"), o.Python); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrEnv, err)
	}
	return te, nil
}

// TargetRequirements returns what an image's environment installs for the
// model in dir: `-r requirements.txt` (plus mlflow when it names none: the
// worker runs mlflow's scoring code), else python_env.yaml's dependencies,
// and the Python version the model was saved with.
func TargetRequirements(dir string, m *pkgformat.Model) (*TargetEnv, error) {
	ef, err := readEnvFiles(dir, m)
	if err != nil {
		return nil, err
	}
	doc, err := ef.pythonEnvDoc()
	if err != nil {
		return nil, err
	}
	te := &TargetEnv{}
	if doc.Python != nil {
		te.ModelPython = fmt.Sprint(doc.Python)
	}
	switch {
	case ef.requirements != nil:
		te.Requirements = []string{"-r", pkgformat.RequirementsFile}
		if !namesMLflow(ef.requirements) && m.MLflowVersion != "" {
			te.Requirements = append(te.Requirements, "mlflow=="+m.MLflowVersion)
		}
	case len(doc.Dependencies) > 0:
		for _, d := range doc.Dependencies {
			te.Requirements = append(te.Requirements, strings.Fields(d)...)
		}
	default:
		return nil, fmt.Errorf("%w: the image's environment needs %s or %s in the model folder", ErrEnv, pkgformat.RequirementsFile, ef.pythonEnvRel)
	}
	return te, nil
}

// requirementName is the distribution name at the start of a requirement
// line.
var requirementName = regexp.MustCompile(`^\s*([A-Za-z0-9][A-Za-z0-9._-]*)`)

// namesMLflow reports whether requirements name mlflow (or mlflow-skinny)
// or include another file that may.
func namesMLflow(requirements []byte) bool {
	sc := bufio.NewScanner(bytes.NewReader(requirements))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "-r") || strings.HasPrefix(line, "--requirement") {
			return true
		}
		if m := requirementName.FindStringSubmatch(line); m != nil {
			name := strings.ToLower(strings.NewReplacer("_", "-", ".", "-").Replace(m[1]))
			if name == "mlflow" || name == "mlflow-skinny" {
				return true
			}
		}
	}
	return false
}

// pointScripts makes the console scripts in bin start with python instead
// of the interpreter uv ran with. Files are replaced, not edited: uv may
// have hard-linked them from its cache.
func pointScripts(bin, python string) error {
	ents, err := os.ReadDir(bin)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		p := filepath.Join(bin, e.Name())
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		first, rest, _ := bytes.Cut(b, []byte("\n"))
		if !bytes.HasPrefix(first, []byte("#!")) || !bytes.Contains(first, []byte("python")) {
			continue
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		tmp := p + ".mlgate-tmp"
		out := append([]byte("#!"+python+"\n"), rest...)
		if err := os.WriteFile(tmp, out, info.Mode().Perm()); err != nil { //nolint:gosec // tmp is beside a file uv wrote in the folder we own
			return err
		}
		if err := os.Rename(tmp, p); err != nil {
			_ = os.Remove(tmp)
			return err
		}
	}
	return nil
}
