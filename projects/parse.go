package projects

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/mlgate/mlgate/internal/pyfmt"
)

// Environment kinds of a project, as MLproject names them.
const (
	EnvPython = "python_env"
	EnvConda  = "conda_env"
	EnvDocker = "docker_env"
)

// Default environment files MLflow looks for when MLproject names none.
const (
	defaultPythonEnv = "python_env.yaml"
	defaultConda     = "conda.yaml"
)

// maxMLprojectSize bounds the MLproject file read into memory.
const maxMLprojectSize = 1 << 20

// ErrSpec means the project's MLproject (or the request against it: an
// unknown entry point, a missing parameter) is not valid.
var ErrSpec = errors.New("invalid project")

// SpecError is a problem in an MLproject file, at a line (0: the whole
// file).
type SpecError struct {
	File string
	Line int
	Msg  string
}

func (e *SpecError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// Unwrap makes a SpecError an ErrSpec.
func (e *SpecError) Unwrap() error { return ErrSpec }

// Project is a parsed MLproject (or the defaults of a folder without one).
type Project struct {
	// Dir is the project's folder; File its MLproject ("" when none).
	Dir, File string
	Name      string
	// EntryPoints in file order.
	EntryPoints []*EntryPoint
	// Env is EnvPython, EnvConda or EnvDocker; EnvFile the absolute path
	// of the python_env or conda file ("" when none).
	Env, EnvFile string
	Docker       *DockerEnv
}

// EntryPoint is one entry of entry_points.
type EntryPoint struct {
	Name    string
	Command string
	// File and Line locate the entry point in its MLproject (for errors).
	File string
	Line int
	// Params in file order.
	Params []Param
}

// Param is one declared parameter of an entry point.
type Param struct {
	Name string
	// Type is string, float, path or uri (other names act as string, as
	// in MLflow).
	Type string
	// Default is the default's text as MLflow renders it (str() of the
	// YAML value); nil when the parameter has none (it is required).
	Default *string
}

// DockerEnv is the docker_env section.
type DockerEnv struct {
	Image   string
	Volumes []string
	// Environment lists variables: {Name, Value} pairs to set and bare
	// names (Copy) to copy from the host.
	Environment []DockerVar
}

// DockerVar is one docker_env.environment entry.
type DockerVar struct {
	Name, Value string
	Copy        bool
}

// Load reads the project in dir: its MLproject file (any letter case, as
// MLflow finds it) or, without one, MLflow's defaults.
func Load(dir string) (*Project, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSpec, err)
	}
	file := ""
	for _, e := range ents {
		if strings.EqualFold(e.Name(), "MLproject") && !e.IsDir() {
			file = filepath.Join(dir, e.Name())
			break
		}
	}
	var p *Project
	if file == "" {
		p = &Project{}
	} else {
		b, err := readLimited(file)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrSpec, err)
		}
		if p, err = Parse(file, b); err != nil {
			return nil, err
		}
	}
	p.Dir, p.File = dir, file
	return p, p.resolveEnv()
}

func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	b, err := io.ReadAll(io.LimitReader(f, maxMLprojectSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxMLprojectSize {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, maxMLprojectSize)
	}
	return b, nil
}

// resolveEnv finds the environment file: the one MLproject names (it must
// exist) or the default python_env.yaml, then conda.yaml.
func (p *Project) resolveEnv() error {
	switch p.Env {
	case EnvDocker:
		return nil
	case EnvPython, EnvConda:
		path := filepath.Join(p.Dir, p.EnvFile)
		if _, err := os.Stat(path); err != nil {
			return &SpecError{File: p.fileName(), Msg: fmt.Sprintf("%s names %s, but no such file was found in the project", p.Env, p.EnvFile)}
		}
		p.EnvFile = path
		return nil
	}
	for _, d := range []struct{ env, file string }{{EnvPython, defaultPythonEnv}, {EnvConda, defaultConda}} {
		if _, err := os.Stat(filepath.Join(p.Dir, d.file)); err == nil {
			p.Env, p.EnvFile = d.env, filepath.Join(p.Dir, d.file)
			return nil
		}
	}
	p.Env = EnvPython
	return nil
}

func (p *Project) fileName() string {
	if p.File == "" {
		return filepath.Join(p.Dir, "MLproject")
	}
	return p.File
}

var yamlLine = regexp.MustCompile(`line (\d+)`)

// Parse parses MLproject text; file names it in errors.
func Parse(file string, data []byte) (*Project, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		line := 0
		if m := yamlLine.FindStringSubmatch(msg); m != nil {
			line, _ = strconv.Atoi(m[1])
			msg = strings.TrimSpace(yamlLine.ReplaceAllString(msg, ""))
			msg = strings.TrimPrefix(strings.TrimPrefix(msg, ":"), " ")
		}
		return nil, &SpecError{File: file, Line: line, Msg: "not valid YAML: " + msg}
	}
	p := &Project{}
	if len(doc.Content) == 0 {
		return p, nil
	}
	root := doc.Content[0]
	if isNull(root) {
		return p, nil
	}
	ps := parser{file: file}
	if root.Kind != yaml.MappingNode {
		return nil, ps.errf(root, "the top level must be a mapping (name, entry_points, ...), not %s", kindName(root))
	}
	var envKeys []string
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch k.Value {
		case "name":
			s, err := ps.scalar(v, "name")
			if err != nil {
				return nil, err
			}
			p.Name = s
		case "entry_points":
			eps, err := ps.entryPoints(v)
			if err != nil {
				return nil, err
			}
			p.EntryPoints = eps
		case EnvPython, EnvConda:
			envKeys = append(envKeys, k.Value)
			s, err := ps.scalar(v, k.Value)
			if err != nil {
				return nil, err
			}
			if isNull(v) || s == "" {
				continue
			}
			p.Env, p.EnvFile = k.Value, s
		case EnvDocker:
			envKeys = append(envKeys, k.Value)
			d, err := ps.dockerEnv(v)
			if err != nil {
				return nil, err
			}
			p.Env, p.Docker = EnvDocker, d
		}
		if len(envKeys) > 1 {
			return nil, ps.errf(k, "a project may name only one environment, found %s", strings.Join(envKeys, " and "))
		}
	}
	return p, nil
}

type parser struct{ file string }

func (ps parser) errf(n *yaml.Node, format string, args ...any) error {
	return &SpecError{File: ps.file, Line: n.Line, Msg: fmt.Sprintf(format, args...)}
}

func (ps parser) scalar(n *yaml.Node, what string) (string, error) {
	if isNull(n) {
		return "", nil
	}
	if n.Kind != yaml.ScalarNode {
		return "", ps.errf(n, "%s must be a string, not %s", what, kindName(n))
	}
	return n.Value, nil
}

func (ps parser) entryPoints(n *yaml.Node) ([]*EntryPoint, error) {
	if isNull(n) {
		return nil, nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, ps.errf(n, "entry_points must be a mapping of entry point names, not %s", kindName(n))
	}
	var eps []*EntryPoint
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if seen[k.Value] {
			return nil, ps.errf(k, "entry point %q is defined twice", k.Value)
		}
		seen[k.Value] = true
		ep := &EntryPoint{Name: k.Value, File: ps.file, Line: k.Line}
		if v.Kind != yaml.MappingNode {
			return nil, ps.errf(v, "entry point %q must be a mapping with a command, not %s", k.Value, kindName(v))
		}
		for j := 0; j+1 < len(v.Content); j += 2 {
			ek, ev := v.Content[j], v.Content[j+1]
			switch ek.Value {
			case "command":
				s, err := ps.scalar(ev, fmt.Sprintf("the command of entry point %q", k.Value))
				if err != nil {
					return nil, err
				}
				ep.Command = s
			case "parameters":
				params, err := ps.params(k.Value, ev)
				if err != nil {
					return nil, err
				}
				ep.Params = params
			}
		}
		if strings.TrimSpace(ep.Command) == "" {
			return nil, ps.errf(k, "entry point %q has no command", k.Value)
		}
		eps = append(eps, ep)
	}
	return eps, nil
}

func (ps parser) params(ep string, n *yaml.Node) ([]Param, error) {
	if isNull(n) {
		return nil, nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, ps.errf(n, "the parameters of entry point %q must be a mapping, not %s", ep, kindName(n))
	}
	var out []Param
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		p := Param{Name: k.Value, Type: "string"}
		switch {
		case isNull(v):
		case v.Kind == yaml.ScalarNode:
			p.Type = v.Value
		case v.Kind == yaml.MappingNode:
			for j := 0; j+1 < len(v.Content); j += 2 {
				pk, pv := v.Content[j], v.Content[j+1]
				switch pk.Value {
				case "type":
					s, err := ps.scalar(pv, fmt.Sprintf("the type of parameter %q", k.Value))
					if err != nil {
						return nil, err
					}
					if s != "" {
						p.Type = s
					}
				case "default":
					if isNull(pv) {
						continue
					}
					if pv.Kind != yaml.ScalarNode {
						return nil, ps.errf(pv, "the default of parameter %q must be a single value, not %s", k.Value, kindName(pv))
					}
					d := pyStr(pv)
					p.Default = &d
				}
			}
		default:
			return nil, ps.errf(v, "parameter %q of entry point %q must be a type name or a mapping with type and default, not %s", k.Value, ep, kindName(v))
		}
		if p.Type == "float" && p.Default != nil {
			if _, err := parseFloat(*p.Default); err != nil {
				return nil, ps.errf(v, "the default %q of float parameter %q is not a number", *p.Default, k.Value)
			}
		}
		out = append(out, p)
	}
	return out, nil
}

func (ps parser) dockerEnv(n *yaml.Node) (*DockerEnv, error) {
	if n.Kind != yaml.MappingNode {
		return nil, ps.errf(n, "docker_env must be a mapping with an image, not %s", kindName(n))
	}
	d := &DockerEnv{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch k.Value {
		case "image":
			s, err := ps.scalar(v, "docker_env.image")
			if err != nil {
				return nil, err
			}
			d.Image = s
		case "volumes":
			if isNull(v) {
				continue
			}
			if v.Kind != yaml.SequenceNode {
				return nil, ps.errf(v, "docker_env.volumes must be a list of strings, e.g. [\"/path1/:/path1\"]")
			}
			for _, e := range v.Content {
				if e.Kind != yaml.ScalarNode {
					return nil, ps.errf(e, "docker_env.volumes must be a list of strings, e.g. [\"/path1/:/path1\"]")
				}
				d.Volumes = append(d.Volumes, e.Value)
			}
		case "environment":
			if isNull(v) {
				continue
			}
			const want = `docker_env.environment must be a list of variable names to copy from the host or [NAME, value] pairs, e.g. [["NEW_VAR", "value"], "VAR_TO_COPY"]`
			if v.Kind != yaml.SequenceNode {
				return nil, ps.errf(v, want)
			}
			for _, e := range v.Content {
				switch {
				case e.Kind == yaml.ScalarNode:
					d.Environment = append(d.Environment, DockerVar{Name: e.Value, Copy: true})
				case e.Kind == yaml.SequenceNode && len(e.Content) == 2 && e.Content[0].Kind == yaml.ScalarNode && e.Content[1].Kind == yaml.ScalarNode:
					d.Environment = append(d.Environment, DockerVar{Name: e.Content[0].Value, Value: pyStr(e.Content[1])})
				default:
					return nil, ps.errf(e, want)
				}
			}
		}
	}
	if d.Image == "" {
		return nil, ps.errf(n, "docker_env has no image")
	}
	return d, nil
}

// pyStr renders a YAML scalar as Python's str() of the value PyYAML loads
// (MLflow formats defaults that way): 0.10 → 0.1, true → True.
func pyStr(n *yaml.Node) string {
	switch n.ShortTag() {
	case "!!float":
		f, err := parseFloat(strings.ReplaceAll(n.Value, "_", ""))
		if err != nil {
			return n.Value
		}
		switch {
		case math.IsNaN(f):
			return "nan"
		case math.IsInf(f, 1):
			return "inf"
		case math.IsInf(f, -1):
			return "-inf"
		}
		return pyfmt.Float(f)
	case "!!int":
		if i, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64); err == nil {
			return strconv.FormatInt(i, 10)
		}
	case "!!bool":
		switch strings.ToLower(n.Value) {
		case "true":
			return "True"
		case "false":
			return "False"
		}
	}
	return n.Value
}

func parseFloat(s string) (float64, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case ".nan":
		return math.NaN(), nil
	case ".inf", "+.inf":
		return math.Inf(1), nil
	case "-.inf":
		return math.Inf(-1), nil
	}
	return strconv.ParseFloat(strings.TrimSpace(s), 64)
}

func isNull(n *yaml.Node) bool {
	return n == nil || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	default:
		return fmt.Sprintf("the value %q", n.Value)
	}
}
