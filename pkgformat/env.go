package pkgformat

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Environment file names in a model folder.
const (
	PythonEnvFile    = "python_env.yaml"
	CondaFile        = "conda.yaml"
	RequirementsFile = "requirements.txt"
	ConstraintsFile  = "constraints.txt"
)

// ErrBadEnv is wrapped by environment file parse errors.
var ErrBadEnv error = formatError("invalid model environment")

const maxEnvFileSize = 4 << 20

// Env is a model's Python environment, read from python_env.yaml (with the
// requirements files it points to) or, failing that, from conda.yaml or
// requirements.txt alone.
type Env struct {
	// Python is the Python version, e.g. "3.11.7" (empty when unknown).
	Python string
	// BuildDependencies are installed first: pip, setuptools, wheel pins.
	BuildDependencies []string
	// Requirements are pip requirement lines, with "-r file" expanded.
	Requirements []string
	// Constraints are pip constraint lines from "-c file" entries.
	Constraints []string
	// CondaChannels and CondaDependencies are conda.yaml's channels and
	// non-pip dependencies, when the environment came from conda.yaml or
	// one was found beside python_env.yaml.
	CondaChannels     []string
	CondaDependencies []string
	// Source names the file the environment was read from.
	Source string
}

var condaDepRe = regexp.MustCompile(`^(?P<package>[^<>=!\s]+)\s*(?P<operator><=|>=|==|=|<|>|!=)?\s*(?P<version>[\w.*+!-]+)?$`)

// ReadEnv reads the environment of the model in dir. It prefers
// python_env.yaml, then conda.yaml, then requirements.txt; it returns an
// error wrapping os.ErrNotExist when there is none.
func ReadEnv(dir string) (*Env, error) {
	raw, err := readContained(dir, PythonEnvFile, maxEnvFileSize)
	if err == nil {
		env, err := parsePythonEnv(dir, raw)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", PythonEnvFile, err)
		}
		if craw, err := readContained(dir, CondaFile, maxEnvFileSize); err == nil {
			if cenv, err := ParseCondaEnv(craw); err == nil {
				env.CondaChannels, env.CondaDependencies = cenv.CondaChannels, cenv.CondaDependencies
			}
		}
		return env, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	raw, err = readContained(dir, CondaFile, maxEnvFileSize)
	if err == nil {
		env, err := ParseCondaEnv(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", CondaFile, err)
		}
		return env, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	reqs, cons, err := readRequirements(dir, RequirementsFile, 0)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("model folder %s has no %s, %s or %s: %w", dir, PythonEnvFile, CondaFile, RequirementsFile, err)
		}
		return nil, err
	}
	return &Env{Requirements: reqs, Constraints: cons, Source: RequirementsFile}, nil
}

func parsePythonEnv(dir string, raw []byte) (*Env, error) {
	var doc struct {
		Python            any   `yaml:"python"`
		BuildDependencies []any `yaml:"build_dependencies"`
		Dependencies      []any `yaml:"dependencies"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadEnv, err)
	}
	env := &Env{Source: PythonEnvFile}
	if doc.Python != nil {
		env.Python = fmt.Sprint(doc.Python)
	}
	for _, d := range doc.BuildDependencies {
		env.BuildDependencies = append(env.BuildDependencies, fmt.Sprint(d))
	}
	for _, d := range doc.Dependencies {
		line := strings.TrimSpace(fmt.Sprint(d))
		if err := env.addRequirementLine(dir, line, 0); err != nil {
			return nil, err
		}
	}
	return env, nil
}

const maxRequirementsDepth = 8

// addRequirementLine adds one pip requirement line, expanding -r and -c
// references (relative to dir, which must contain them).
func (e *Env) addRequirementLine(dir, line string, depth int) error {
	if line == "" || strings.HasPrefix(line, "#") {
		return nil
	}
	if ref, ok := cutOption(line, "-r", "--requirement"); ok {
		reqs, cons, err := readRequirements(dir, ref, depth+1)
		if err != nil {
			return err
		}
		e.Requirements = append(e.Requirements, reqs...)
		e.Constraints = append(e.Constraints, cons...)
		return nil
	}
	if ref, ok := cutOption(line, "-c", "--constraint"); ok {
		reqs, cons, err := readRequirements(dir, ref, depth+1)
		if err != nil {
			return err
		}
		e.Constraints = append(e.Constraints, reqs...)
		e.Constraints = append(e.Constraints, cons...)
		return nil
	}
	e.Requirements = append(e.Requirements, line)
	return nil
}

func cutOption(line, short, long string) (string, bool) {
	for _, p := range []string{long + "=", long + " ", short + " ", short} {
		if strings.HasPrefix(line, p) {
			return strings.TrimSpace(strings.TrimPrefix(line, p)), true
		}
	}
	return "", false
}

// readRequirements reads a requirements file (relative to dir), expanding
// -r and -c references; comments and blank lines are dropped.
func readRequirements(dir, name string, depth int) (reqs, cons []string, err error) {
	if depth > maxRequirementsDepth {
		return nil, nil, fmt.Errorf("%w: requirements files nested deeper than %d (cycle?) at %s", ErrBadEnv, maxRequirementsDepth, name)
	}
	raw, err := readContained(dir, name, maxEnvFileSize)
	if err != nil {
		return nil, nil, err
	}
	env := &Env{}
	base := path.Dir(name)
	for _, line := range ParseRequirements(raw) {
		if ref, ok := cutOption(line, "-r", "--requirement"); ok {
			line = "-r " + path.Join(base, ref)
		} else if ref, ok := cutOption(line, "-c", "--constraint"); ok {
			line = "-c " + path.Join(base, ref)
		}
		if err := env.addRequirementLine(dir, line, depth); err != nil {
			return nil, nil, err
		}
	}
	return env.Requirements, env.Constraints, nil
}

// ParseRequirements splits requirements.txt content into lines, dropping
// comments, blank lines and joining backslash continuations.
func ParseRequirements(raw []byte) []string {
	var out []string
	var cont strings.Builder
	for _, line := range strings.Split(string(raw), "\n") {
		line = strings.TrimRight(line, "\r")
		if strings.HasSuffix(line, "\\") {
			cont.WriteString(strings.TrimSuffix(line, "\\"))
			continue
		}
		if cont.Len() > 0 {
			cont.WriteString(line)
			line = cont.String()
			cont.Reset()
		}
		if i := strings.Index(line, " #"); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, line)
	}
	return out
}

// ParseCondaEnv reads a conda.yaml the way MLflow turns it into a Python
// environment: python=X.Y.Z gives the Python version, other conda
// packages become build dependencies, the pip list the requirements.
func ParseCondaEnv(raw []byte) (*Env, error) {
	var doc struct {
		Name         string `yaml:"name"`
		Channels     []any  `yaml:"channels"`
		Dependencies []any  `yaml:"dependencies"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadEnv, err)
	}
	env := &Env{Source: CondaFile}
	for _, c := range doc.Channels {
		env.CondaChannels = append(env.CondaChannels, fmt.Sprint(c))
	}
	for _, d := range doc.Dependencies {
		switch x := d.(type) {
		case string:
			env.CondaDependencies = append(env.CondaDependencies, x)
			m := condaDepRe.FindStringSubmatch(strings.TrimSpace(x))
			if m == nil {
				continue
			}
			pkg, op, ver := m[1], m[2], m[3]
			if pkg == "python" && env.Python == "" {
				if op == "" || op == "<" || op == ">" || op == "!=" {
					return nil, fmt.Errorf("%w: python must be pinned with =, ==, <= or >=, got %q", ErrBadEnv, x)
				}
				env.Python = ver
				continue
			}
			if op == "=" {
				op = "=="
			}
			env.BuildDependencies = append(env.BuildDependencies, pkg+op+ver)
		case map[string]any:
			pip, ok := x["pip"].([]any)
			if !ok || len(x) != 1 {
				return nil, fmt.Errorf("%w: conda dependency %v must be a string or {pip: [...]}", ErrBadEnv, x)
			}
			for _, p := range pip {
				env.Requirements = append(env.Requirements, fmt.Sprint(p))
			}
		default:
			return nil, fmt.Errorf("%w: conda dependency %v must be a string or {pip: [...]}", ErrBadEnv, d)
		}
	}
	return env, nil
}

// WriteEnv writes python_env.yaml, requirements.txt (and constraints.txt
// when there are constraints) and conda.yaml into dir, as MLflow writes
// them for a model.
func WriteEnv(dir string, e *Env) error {
	reqs := append([]string(nil), e.Requirements...)
	if len(e.Constraints) > 0 {
		reqs = append(reqs, "-c "+ConstraintsFile)
		if err := writeFileAtomic(filepath.Join(dir, ConstraintsFile), []byte(strings.Join(e.Constraints, "\n"))); err != nil {
			return err
		}
	}
	if err := writeFileAtomic(filepath.Join(dir, RequirementsFile), []byte(strings.Join(reqs, "\n"))); err != nil {
		return err
	}
	// python_env.yaml keeps MLflow's key order (sort_keys=False).
	py := &yaml.Node{Kind: yaml.MappingNode}
	if e.Python != "" {
		py.Content = append(py.Content, strNode("python"), strNode(e.Python))
	}
	if len(e.BuildDependencies) > 0 {
		n, _ := toNode(e.BuildDependencies, 0)
		py.Content = append(py.Content, strNode("build_dependencies"), n)
	}
	deps, _ := toNode([]string{"-r " + RequirementsFile}, 0)
	py.Content = append(py.Content, strNode("dependencies"), deps)
	pyYAML, err := encodeYAML(py)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(dir, PythonEnvFile), pyYAML); err != nil {
		return err
	}
	channels := e.CondaChannels
	if channels == nil {
		channels = []string{"conda-forge"}
	}
	condaDeps := []any{}
	if len(e.CondaDependencies) > 0 {
		for _, d := range e.CondaDependencies {
			condaDeps = append(condaDeps, d)
		}
	} else {
		if e.Python != "" {
			condaDeps = append(condaDeps, "python="+e.Python)
		}
		for _, b := range e.BuildDependencies {
			if strings.HasPrefix(b, "pip") {
				condaDeps = append(condaDeps, b)
			}
		}
	}
	pip := make([]any, 0, len(reqs))
	for _, r := range reqs {
		pip = append(pip, r)
	}
	condaDeps = append(condaDeps, map[string]any{"pip": pip})
	n, err := toNode(map[string]any{
		"name":         "mlflow-env",
		"channels":     toAnySlice(channels),
		"dependencies": condaDeps,
	}, 0)
	if err != nil {
		return err
	}
	condaYAML, err := encodeYAML(n)
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, CondaFile), condaYAML)
}

func toAnySlice(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

func encodeYAML(n *yaml.Node) ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	enc.CompactSeqIndent()
	if err := enc.Encode(n); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
