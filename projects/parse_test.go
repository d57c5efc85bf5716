package projects

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseEntryPointsAndDefaults(t *testing.T) {
	p, err := Parse("MLproject", []byte(`name: demo
python_env: env.yaml
entry_points:
  main:
    parameters:
      alpha: {type: float, default: 0.10}
      n: {type: float, default: 5}
      flag: {default: true}
      big: {type: float, default: 1e16}
      data: path
      name: {type: string}
    command: "python train.py {alpha} {data}"
  other:
    command: echo hi
`))
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "demo" || p.Env != EnvPython || p.EnvFile != "env.yaml" || len(p.EntryPoints) != 2 {
		t.Fatalf("got %+v", p)
	}
	main := p.EntryPoints[0]
	if main.Name != "main" || main.Command != "python train.py {alpha} {data}" || main.Line != 4 {
		t.Fatalf("main: %+v", main)
	}
	// Defaults as Python's str() of what PyYAML loads.
	want := []struct {
		name, typ string
		def       any
	}{{"alpha", "float", "0.1"}, {"n", "float", "5"}, {"flag", "string", "True"}, {"big", "float", "1e+16"}, {"data", "path", nil}, {"name", "string", nil}}
	if len(main.Params) != len(want) {
		t.Fatalf("params %+v", main.Params)
	}
	for i, w := range want {
		got := main.Params[i]
		if got.Name != w.name || got.Type != w.typ {
			t.Errorf("param %d: %+v, want %s %s", i, got, w.name, w.typ)
		}
		switch d := w.def.(type) {
		case nil:
			if got.Default != nil {
				t.Errorf("%s: default %q, want none", w.name, *got.Default)
			}
		case string:
			if got.Default == nil || *got.Default != d {
				t.Errorf("%s: default %v, want %q", w.name, got.Default, d)
			}
		}
	}
}

func TestParseErrorsNameFileLineAndProblem(t *testing.T) {
	for _, c := range []struct {
		name, text string
		line       int
		in         string
	}{
		{"bad yaml", "name: x\nentry_points:\n  main: {command: [\n", 3, "not valid YAML"},
		{"tab indent", "name: x\nentry_points:\n\tmain:\n", 3, "not valid YAML"},
		{"top level list", "- a\n- b\n", 1, "top level must be a mapping"},
		{"entry points list", "entry_points:\n  - main\n", 2, "entry_points must be a mapping"},
		{"no command", "entry_points:\n  main:\n    parameters: {a: string}\n", 2, `entry point "main" has no command`},
		{"command list", "entry_points:\n  main:\n    command: [a, b]\n", 3, "must be a string"},
		{"params list", "entry_points:\n  main:\n    command: x\n    parameters: [a]\n", 4, "must be a mapping"},
		{"param list", "entry_points:\n  main:\n    command: x\n    parameters:\n      a: [1]\n", 5, `parameter "a"`},
		{"bad float default", "entry_points:\n  main:\n    command: x\n    parameters:\n      a: {type: float, default: abc}\n", 5, `default "abc" of float parameter "a" is not a number`},
		{"two envs", "python_env: a.yaml\nconda_env: c.yaml\n", 2, "only one environment"},
		{"docker no image", "docker_env:\n  volumes: [a]\n", 2, "docker_env has no image"},
		{"docker volumes", "docker_env:\n  image: x\n  volumes: a\n", 3, "volumes must be a list of strings"},
		{"docker env", "docker_env:\n  image: x\n  environment: [[a]]\n", 3, "docker_env.environment must be"},
		{"twice", "entry_points:\n  main: {command: a}\n  main: {command: b}\n", 3, "defined twice"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("MLproject", []byte(c.text))
			var se *SpecError
			if !errors.As(err, &se) || !errors.Is(err, ErrSpec) {
				t.Fatalf("want a SpecError, got %v", err)
			}
			if se.File != "MLproject" || se.Line != c.line || !strings.Contains(se.Msg, c.in) {
				t.Fatalf("got %q (line %d), want line %d containing %q", err, se.Line, c.line, c.in)
			}
			if !strings.HasPrefix(err.Error(), "MLproject:") {
				t.Fatalf("error does not start with the file name: %q", err)
			}
		})
	}
}

func TestParseDockerEnv(t *testing.T) {
	p, err := Parse("MLproject", []byte("name: d\ndocker_env:\n  image: img:1\n  volumes: [\"/a:/b\"]\n  environment: [[\"K\", 1.50], \"HOME\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	d := p.Docker
	if p.Env != EnvDocker || d.Image != "img:1" || len(d.Volumes) != 1 || d.Volumes[0] != "/a:/b" {
		t.Fatalf("got %+v", d)
	}
	if len(d.Environment) != 2 || d.Environment[0] != (DockerVar{Name: "K", Value: "1.5"}) || d.Environment[1] != (DockerVar{Name: "HOME", Copy: true}) {
		t.Fatalf("environment %+v", d.Environment)
	}
}

// Without an MLproject file a folder is a Python project, with the
// environment file MLflow looks for; an MLproject in any letter case counts.
func TestLoadDefaults(t *testing.T) {
	dir := t.TempDir()
	p, err := Load(dir)
	if err != nil || p.Env != EnvPython || p.EnvFile != "" || p.File != "" {
		t.Fatalf("empty folder: %+v, %v", p, err)
	}
	write(t, dir, "conda.yaml", "dependencies: [python=3.11]\n")
	if p, err = Load(dir); err != nil || p.Env != EnvConda || p.EnvFile != filepath.Join(dir, "conda.yaml") {
		t.Fatalf("conda.yaml: %+v, %v", p, err)
	}
	write(t, dir, "python_env.yaml", "python: '3.11'\n")
	if p, err = Load(dir); err != nil || p.Env != EnvPython || p.EnvFile != filepath.Join(dir, "python_env.yaml") {
		t.Fatalf("python_env.yaml wins: %+v, %v", p, err)
	}
	write(t, dir, "mlproject", "name: lower\npython_env: missing.yaml\n")
	_, err = Load(dir)
	if !errors.Is(err, ErrSpec) || !strings.Contains(err.Error(), filepath.Join(dir, "mlproject")+": python_env names missing.yaml, but no such file") {
		t.Fatalf("missing env file: %v", err)
	}
	write(t, dir, "mlproject", "name: lower\n")
	if p, err = Load(dir); err != nil || p.Name != "lower" || p.File != filepath.Join(dir, "mlproject") {
		t.Fatalf("lower-case file: %+v, %v", p, err)
	}
}

func write(t *testing.T, dir, name, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}
