package projects

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Quote agrees with Python's shlex.quote (values checked against it).
func TestQuoteLikeShlex(t *testing.T) {
	for in, want := range map[string]string{
		"":          "''",
		"abc":       "abc",
		"x=1,y:2":   "x=1,y:2",
		"a/b.c@d%e": "a/b.c@d%e",
		"a b":       "'a b'",
		"it's":      `'it'"'"'s'`,
		"é":         "'é'",
		"$HOME":     "'$HOME'",
		"a\nb":      "'a\nb'",
		"; rm -rf":  "'; rm -rf'",
	} {
		if got := Quote(in); got != want {
			t.Errorf("Quote(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFillTemplate(t *testing.T) {
	vals := map[string]string{"a": "1", "b": "'x y'"}
	for tmpl, want := range map[string]string{
		"run {a} {b}":     "run 1 'x y'",
		"{{a}} {a}":       "{a} 1",
		"awk '{{print}}'": "awk '{print}'",
		"plain":           "plain",
	} {
		got, err := fill(tmpl, vals)
		if err != nil || got != want {
			t.Errorf("fill(%q) = %q, %v; want %q", tmpl, got, err, want)
		}
	}
	for tmpl, in := range map[string]string{
		"run {c}": "{c}, which is not a parameter",
		"run {a":  "unmatched '{'",
		"run }":   "single '}'",
	} {
		if _, err := fill(tmpl, vals); err == nil || !strings.Contains(err.Error(), in) {
			t.Errorf("fill(%q): %v, want an error containing %q", tmpl, err, in)
		}
	}
}

func entry(t *testing.T) *EntryPoint {
	t.Helper()
	p, err := Parse("MLproject", []byte(`entry_points:
  main:
    parameters:
      alpha: {type: float, default: 0.5}
      name: string
      data: {type: path, default: data.csv}
      src: {type: uri, default: "s3://b/k"}
    command: "python t.py --alpha {alpha} --name {name} --data {data} --src {src}"
`))
	if err != nil {
		t.Fatal(err)
	}
	return p.EntryPoints[0]
}

// The logged values are MLflow's: declared parameters first, shell-quoted,
// path values as given; extra parameters after them with quoted names.
func TestValidateAndResolve(t *testing.T) {
	ep := entry(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "my data.csv")
	if err := os.WriteFile(data, []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	user := []KV{{Name: "name", Value: "a b"}, {Name: "data", Value: data}, {Name: "extra key", Value: "v;1"}, {Name: "alpha", Value: "1e-3"}}
	res, err := ep.Resolve(context.Background(), user, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []KV{{Name: "alpha", Value: "1e-3"}, {Name: "name", Value: "'a b'"}, {Name: "data", Value: Quote(data)}, {Name: "src", Value: "s3://b/k"}, {Name: "'extra key'", Value: "'v;1'"}}
	if len(res.Params) != len(want) {
		t.Fatalf("params %+v", res.Params)
	}
	for i := range want {
		if res.Params[i] != want[i] {
			t.Errorf("param %d = %+v, want %+v", i, res.Params[i], want[i])
		}
	}
	wantCmd := "python t.py --alpha 1e-3 --name 'a b' --data " + Quote(data) + " --src s3://b/k --'extra key' 'v;1'"
	if res.Command != wantCmd {
		t.Fatalf("command\n %s\nwant\n %s", res.Command, wantCmd)
	}
}

func TestValidateErrors(t *testing.T) {
	ep := entry(t)
	for _, c := range []struct {
		user []KV
		in   string
	}{
		{nil, `no value given for missing parameters of entry point "main": 'name'`},
		{[]KV{{Name: "name", Value: "x"}, {Name: "alpha", Value: "abc"}}, `parameter "alpha" of entry point "main" is a float, but "abc" is not a number`},
		{[]KV{{Name: "name", Value: "x"}, {Name: "src", Value: "no-scheme"}}, `parameter "src" of entry point "main" is a uri, but "no-scheme" has no scheme`},
	} {
		_, err := ep.Validate(c.user)
		if !errors.Is(err, ErrSpec) || !strings.Contains(err.Error(), c.in) {
			t.Errorf("%v: got %v, want an error containing %q", c.user, err, c.in)
		}
	}
	// A path that does not exist is found when the command is filled.
	_, err := ep.Resolve(context.Background(), []KV{{Name: "name", Value: "x"}, {Name: "data", Value: "/no/such/file"}}, t.TempDir(), nil)
	if !errors.Is(err, ErrSpec) || !strings.Contains(err.Error(), `got value "/no/such/file" for parameter "data", but no such file or directory was found`) {
		t.Fatalf("missing path: %v", err)
	}
}

// A remote URI given to a path parameter is fetched into param_<i>.
func TestPathParamFetchesRemoteURIs(t *testing.T) {
	ep := entry(t)
	storage := t.TempDir()
	var gotURI, gotDir string
	fetch := func(_ context.Context, uri, dir string) (string, error) {
		gotURI, gotDir = uri, dir
		return filepath.Join(dir, "k.csv"), nil
	}
	res, err := ep.Resolve(context.Background(), []KV{{Name: "name", Value: "x"}, {Name: "data", Value: "s3://bucket/k.csv"}}, storage, fetch)
	if err != nil {
		t.Fatal(err)
	}
	if gotURI != "s3://bucket/k.csv" || gotDir != filepath.Join(storage, "param_2") {
		t.Fatalf("fetched %q into %q", gotURI, gotDir)
	}
	if !strings.Contains(res.Command, "--data "+filepath.Join(storage, "param_2", "k.csv")) {
		t.Fatalf("command %q", res.Command)
	}
	if res.Params[2].Value != "s3://bucket/k.csv" {
		t.Fatalf("logged %+v, want the URI as given", res.Params[2])
	}
}

// Script entry points as MLflow makes them; unknown names are errors.
func TestScriptEntryPoints(t *testing.T) {
	p := &Project{EntryPoints: []*EntryPoint{{Name: "main", Command: "x"}}}
	for name, want := range map[string]string{"train.py": "python train.py", "run me.sh": "zsh 'run me.sh'"} {
		ep, err := p.EntryPoint(name, "zsh")
		if err != nil || ep.Command != want {
			t.Errorf("%s: %+v, %v; want %q", name, ep, err, want)
		}
	}
	if ep, _ := p.EntryPoint("x.sh", ""); ep.Command != "bash x.sh" {
		t.Errorf("no $SHELL: %q", ep.Command)
	}
	_, err := p.EntryPoint("nope", "")
	if !errors.Is(err, ErrSpec) || !strings.Contains(err.Error(), `could not find entry point "nope" among the project's entry points [main]`) {
		t.Fatalf("unknown entry point: %v", err)
	}
}

func TestParseKV(t *testing.T) {
	kv, err := ParseKV([]string{"a=1", "b=x=y", "c="}, false, "-P")
	if err != nil || len(kv) != 3 || kv[1] != (KV{Name: "b", Value: "x=y"}) || kv[2] != (KV{Name: "c"}) {
		t.Fatalf("%+v, %v", kv, err)
	}
	if _, err := ParseKV([]string{"a"}, false, "-P"); err == nil || !strings.Contains(err.Error(), `invalid format for -P parameter: "a"; use -P name=value`) {
		t.Fatalf("no '=': %v", err)
	}
	if _, err := ParseKV([]string{"a=1", "a=2"}, false, "-P"); err == nil || !strings.Contains(err.Error(), `repeated parameter: "a"`) {
		t.Fatalf("repeated: %v", err)
	}
	kv, err = ParseKV([]string{"t", "gpus=all"}, true, "-A")
	if err != nil || kv[0] != (KV{Name: "t", Flag: true}) || kv[1] != (KV{Name: "gpus", Value: "all"}) {
		t.Fatalf("docker args %+v, %v", kv, err)
	}
}
