package projects

import (
	"context"
	"errors"
	"testing"
)

// FuzzParse feeds arbitrary text to the MLproject parser: it never
// panics, every failure is a SpecError naming the file, and every parsed
// entry point has a command that either fills or fails cleanly.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"name: x\nentry_points:\n  main:\n    parameters:\n      a: {type: float, default: 0.1}\n    command: \"python t.py {a}\"\n",
		"docker_env:\n  image: img\n  environment: [[\"A\", \"1\"], B]\n",
		"entry_points:\n  main: {command: \"echo {{x}} {y}\"}\n",
		"python_env: p.yaml\nconda_env: c.yaml\n",
		"- 1\n", "{", "entry_points: {a: {command: '}'}}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse("MLproject", data)
		if err != nil {
			var se *SpecError
			if !errors.As(err, &se) || se.File != "MLproject" || !errors.Is(err, ErrSpec) {
				t.Fatalf("error is not a SpecError of MLproject: %v", err)
			}
			return
		}
		for _, ep := range p.EntryPoints {
			if ep.Command == "" {
				t.Fatalf("entry point %q without a command", ep.Name)
			}
			var user []KV
			for _, prm := range ep.Params {
				if prm.Default == nil {
					user = append(user, KV{Name: prm.Name, Value: "1"})
				}
			}
			if _, err := ep.Resolve(context.Background(), user, t.TempDir(), nil); err != nil && !errors.Is(err, ErrSpec) {
				t.Fatalf("resolve: %v", err)
			}
		}
	})
}
