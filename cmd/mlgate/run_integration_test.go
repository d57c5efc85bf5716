//go:build integration

package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mlgate/mlgate/internal/procutil"
	"github.com/mlgate/mlgate/tracking"
)

// projectEnv is an in-process `mlgate server` and a tracking client to it,
// for driving `mlgate run` against.
type projectEnv struct {
	url string
	c   *tracking.Client
}

func newProjectEnv(t *testing.T) *projectEnv {
	t.Helper()
	url := startTestServer(t)
	c, err := tracking.NewClient(tracking.Config{TrackingURI: url})
	if err != nil {
		t.Fatal(err)
	}
	return &projectEnv{url: url, c: c}
}

// run runs `mlgate run args...` in process with MLFLOW_TRACKING_URI set.
func (pe *projectEnv) run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	getenv := func(k string) string {
		if k == "MLFLOW_TRACKING_URI" {
			return pe.url
		}
		if strings.HasPrefix(k, "MLFLOW_") {
			return ""
		}
		return os.Getenv(k)
	}
	code := run(context.Background(), &cliEnv{stdout: &out, stderr: &errb, getenv: getenv}, append([]string{"run"}, args...))
	return code, out.String(), errb.String()
}

// runs lists the runs of the named experiment (none when it is absent).
func (pe *projectEnv) runs(t *testing.T, experiment string) []tracking.Run {
	t.Helper()
	ctx := context.Background()
	exp, err := pe.c.GetExperimentByName(ctx, experiment)
	if err != nil {
		return nil
	}
	runs, _, err := pe.c.SearchRuns(ctx, tracking.SearchRunsRequest{ExperimentIDs: []string{exp.ExperimentID}})
	if err != nil {
		t.Fatal(err)
	}
	return runs
}

// onlyRun is the one run of the experiment.
func (pe *projectEnv) onlyRun(t *testing.T, experiment string) tracking.Run {
	t.Helper()
	runs := pe.runs(t, experiment)
	if len(runs) != 1 {
		t.Fatalf("experiment %s has %d runs, want 1", experiment, len(runs))
	}
	return runs[0]
}

func wantTags(t *testing.T, r tracking.Run, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got, ok := r.Tag(k); !ok || got != v {
			t.Errorf("tag %s = %q (set %v), want %q", k, got, ok, v)
		}
	}
}

// pythonOnPath puts the test venv (python with mlflow, uv) first on PATH.
func pythonOnPath(t *testing.T) string {
	t.Helper()
	py := os.Getenv("MLGATE_TEST_PYTHON")
	if py == "" {
		t.Fatal("MLGATE_TEST_PYTHON is not set: run the tests with `make gotest`, which provisions the venv")
	}
	dir := filepath.Dir(py)
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return dir
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, text := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func gitCmd(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// The example project runs with the real mlflow package in the child: the
// runner's params and tags and the child's param, metrics and artifact all
// land in the one run, which ends FINISHED.
func TestRunExampleProject(t *testing.T) {
	pythonOnPath(t)
	pe := newProjectEnv(t)
	example, err := filepath.Abs(filepath.Join("..", "..", "examples", "projects"))
	if err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := pe.run(t, example, "--env-manager", "local", "-P", "alpha=0.3", "-P", "note=a b", "--experiment-name", "example", "--run-name", "ex1")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if !strings.Contains(stdout, `"extra": ["--note", "a b"]`) {
		t.Fatalf("the entry point's output was not streamed, or the extra parameter did not arrive: %q", stdout)
	}
	r := pe.onlyRun(t, "example")
	if r.Info.Status != tracking.StatusFinished || r.Info.RunName != "ex1" {
		t.Fatalf("run %+v", r.Info)
	}
	for k, v := range map[string]string{"alpha": "0.3", "l1_ratio": "0.1", "label": "'hello world'", "epochs": "3", "data": "data.csv", "note": "'a b'", "rows": "4"} {
		if got, _ := r.Param(k); got != v {
			t.Errorf("param %s = %q, want %q", k, got, v)
		}
	}
	wantTags(t, r, map[string]string{"mlflow.source.type": "PROJECT", "mlflow.project.entryPoint": "main", "mlflow.project.backend": "local", "mlflow.runName": "ex1", "label": "hello world"})
	if _, ok := r.Tag("mlflow.project.env"); ok {
		t.Error("mlflow.project.env is set for --env-manager local; MLflow sets none")
	}
	if w, ok := r.Metric("w"); !ok || w <= 0 {
		t.Errorf("metric w = %v (%v)", w, ok)
	}
	arts, err := pe.c.ListArtifacts(context.Background(), r.Info.RunID, "outputs")
	if err != nil || len(arts) != 1 || arts[0].Path != "outputs/summary.json" {
		t.Fatalf("artifacts %+v, %v", arts, err)
	}
}

// A local git repository with two commits: --version picks the older one
// and the commit tag says so; #subdir selects the folder; a branch name
// gives the branch tag.
func TestRunGitVersionAndSubdir(t *testing.T) {
	pe := newProjectEnv(t)
	repo := t.TempDir()
	out := filepath.Join(t.TempDir(), "out")
	ml := "name: g\nentry_points:\n  main:\n    parameters: {out: string}\n    command: \"echo %s > {out}\"\n"
	gitCmd(t, repo, "init", "-q", "-b", "main")
	writeFiles(t, repo, map[string]string{"sub/MLproject": strings.Replace(ml, "%s", "v1", 1)})
	gitCmd(t, repo, "add", "-A")
	gitCmd(t, repo, "commit", "-q", "-m", "one")
	first := gitCmd(t, repo, "rev-parse", "HEAD")
	writeFiles(t, repo, map[string]string{"sub/MLproject": strings.Replace(ml, "%s", "v2", 1)})
	gitCmd(t, repo, "commit", "-q", "-am", "two")
	second := gitCmd(t, repo, "rev-parse", "HEAD")

	for i, c := range []struct {
		uri, version, want, commit, branch string
	}{
		{repo + "#sub", first, "v1", first, ""},
		{"file://" + repo + "#sub", "", "v2", second, ""},
		{"file://" + repo + "#sub", first, "v1", first, ""},
		{repo + "#sub", "main", "v2", second, "main"},
	} {
		exp := "git" + strconv.Itoa(i)
		args := []string{c.uri, "-P", "out=" + out, "--experiment-name", exp, "--env-manager", "local"}
		if c.version != "" {
			args = append(args, "--version", c.version)
		}
		code, _, stderr := pe.run(t, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d\n%s", args, code, stderr)
		}
		got, err := os.ReadFile(out)
		if err != nil || strings.TrimSpace(string(got)) != c.want {
			t.Fatalf("%v: ran %q (%v), want %s", args, got, err, c.want)
		}
		r := pe.onlyRun(t, exp)
		wantTags(t, r, map[string]string{"mlflow.source.git.commit": c.commit, "mlflow.source.name": c.uri})
		if b, _ := r.Tag("mlflow.source.git.branch"); b != c.branch {
			t.Errorf("%v: branch tag %q, want %q", args, b, c.branch)
		}
		if r.Info.Status != tracking.StatusFinished {
			t.Errorf("%v: status %s", args, r.Info.Status)
		}
	}
	// The user's repository was not touched: HEAD is still the newer commit.
	if head := gitCmd(t, repo, "rev-parse", "HEAD"); head != second {
		t.Fatalf("the repository's HEAD moved to %s", head)
	}
}

// A failing entry point: FAILED and mlgate's non-zero exit status.
func TestRunFailingEntryPoint(t *testing.T) {
	pe := newProjectEnv(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"MLproject": "entry_points:\n  main: {command: \"echo going down >&2; exit 3\"}\n"})
	code, _, stderr := pe.run(t, dir, "--env-manager", "local", "--experiment-name", "fail")
	if code != exitRuntime || !strings.Contains(stderr, "going down") || !strings.Contains(stderr, "FAILED") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if r := pe.onlyRun(t, "fail"); r.Info.Status != tracking.StatusFailed {
		t.Fatalf("status %s, want FAILED", r.Info.Status)
	}
}

// Bad input: each a clear error naming the problem, before any run exists.
func TestRunBadInput(t *testing.T) {
	pe := newProjectEnv(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"ok/MLproject":         "entry_points:\n  main:\n    parameters:\n      alpha: float\n      name: string\n    command: \"echo {alpha} {name}\"\n",
		"bad/MLproject":        "name: bad\nentry_points:\n  main:\n    command: echo\n    parameters: [a, b]\n",
		"conda/MLproject":      "conda_env: conda.yaml\nentry_points:\n  main: {command: \"true\"}\n",
		"conda/conda.yaml":     "dependencies: [python=3.11]\n",
		"penv/python_env.yaml": "python: '3.11'\n",
	})
	t.Setenv("PATH", "/usr/bin:/bin") // no conda
	for i, c := range []struct {
		args []string
		code int
		in   string
	}{
		{[]string{dir + "/ok", "-P", "alpha=1"}, exitRuntime, "no value given for missing parameters of entry point \"main\": 'name'"},
		{[]string{dir + "/ok", "-P", "alpha=abc", "-P", "name=x"}, exitRuntime, `parameter "alpha" of entry point "main" is a float, but "abc" is not a number`},
		{[]string{dir + "/ok", "-e", "nope"}, exitRuntime, `could not find entry point "nope" among the project's entry points [main]`},
		{[]string{dir + "/bad"}, exitRuntime, dir + `/bad/MLproject:5: the parameters of entry point "main" must be a mapping, not a list`},
		{[]string{dir + "/conda", "--env-manager", "conda"}, exitRuntime, "the conda program is not on PATH"},
		{[]string{dir + "/penv", "--env-manager", "conda"}, exitRuntime, "a python_env project cannot be run with conda"},
		{[]string{dir + "/ok", "--env-manager", "pip"}, exitRuntime, `invalid env manager "pip"`},
		{[]string{dir + "/ok", "--version", "abc"}, exitRuntime, "setting a version is only supported for git project URIs"},
		{[]string{dir + "/nope#x"}, exitRuntime, "project source"},
		{[]string{dir + "/ok#../x"}, exitRuntime, "'.' is not allowed in project subdirectory paths"},
		{[]string{dir + "/ok", "-P", "alpha"}, exitUsage, `invalid format for -P parameter: "alpha"`},
		{[]string{dir + "/ok", "-b", "databricks"}, exitRuntime, `backend "databricks" is not supported`},
		{[]string{}, exitUsage, "want exactly one project URI"},
	} {
		exp := "bad" + strconv.Itoa(i)
		code, _, stderr := pe.run(t, append(c.args, "--experiment-name", exp)...)
		if code != c.code || !strings.Contains(stderr, c.in) {
			t.Errorf("%v: exit %d, stderr %q; want %d containing %q", c.args, code, stderr, c.code, c.in)
		}
		if runs := pe.runs(t, exp); len(runs) != 0 {
			t.Errorf("%v: left %d runs (%s)", c.args, len(runs), runs[0].Info.Status)
		}
	}
}

// SIGTERM to `mlgate run` reaches the entry point's whole process group
// (a shell and its background sleep): nothing is left and the run is KILLED.
func TestRunSIGTERMKillsGroupAndRun(t *testing.T) {
	pe := newProjectEnv(t)
	tmp := t.TempDir()
	proj, pids := filepath.Join(tmp, "p"), filepath.Join(tmp, "pids")
	writeFiles(t, proj, map[string]string{
		"MLproject": "entry_points:\n  main:\n    parameters: {out: string}\n    command: \"bash run.sh {out}\"\n",
		"run.sh":    "sleep 300 &\necho \"$(cut -d' ' -f5 /proc/$$/stat) $$ $!\" > \"$1.tmp\" && mv \"$1.tmp\" \"$1\"\nwait\n",
	})
	cmd := selfCommand(t, "run", proj, "-P", "out="+pids, "--experiment-name", "kill", "--env-manager", "local")
	cmd.Env = append(cmd.Env, "MLFLOW_TRACKING_URI="+pe.url)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var fields []string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if b, err := os.ReadFile(pids); err == nil {
			fields = strings.Fields(string(b))
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("the entry point did not start:\n%s", errb.String())
		}
	}
	pgid, _ := strconv.Atoi(fields[0])
	if pgid <= 1 || pgid == os.Getpid() || !procutil.GroupAlive(pgid) {
		t.Fatalf("bad process group %v", fields)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if cmd.ProcessState.ExitCode() == 0 {
			t.Fatalf("mlgate exited 0 after SIGTERM (%v)", err)
		}
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("mlgate did not exit after SIGTERM")
	}
	for deadline := time.Now().Add(5 * time.Second); procutil.GroupAlive(pgid); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("process group %d is still alive", pgid)
		}
	}
	for _, f := range fields[1:] {
		pid, _ := strconv.Atoi(f)
		if syscall.Kill(pid, 0) == nil && !zombie(pid) {
			t.Errorf("process %d is still alive", pid)
		}
	}
	r := pe.onlyRun(t, "kill")
	if r.Info.Status != tracking.StatusKilled || !strings.Contains(errb.String(), "KILLED") {
		t.Fatalf("status %s, stderr %q", r.Info.Status, errb.String())
	}
}

func zombie(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && i+2 < len(s) && s[i+2] == 'Z'
}

// --env-manager virtualenv builds the project's python_env with uv once,
// in the cache; the second run reuses it, and the tag says virtualenv.
func TestRunVirtualenvBuiltOnce(t *testing.T) {
	pythonOnPath(t)
	t.Setenv("UV_PYTHON_DOWNLOADS", "never")
	t.Setenv("UV_OFFLINE", "1")
	pe := newProjectEnv(t)
	proj, cache := t.TempDir(), t.TempDir()
	out := filepath.Join(t.TempDir(), "prefix")
	writeFiles(t, proj, map[string]string{
		"MLproject":       "python_env: python_env.yaml\nentry_points:\n  main:\n    parameters: {out: string}\n    command: \"python probe.py {out}\"\n",
		"python_env.yaml": "python: \"3.11\"\nbuild_dependencies: []\ndependencies: []\n",
		"probe.py":        "import sys\nopen(sys.argv[1], 'w').write(sys.prefix)\n",
	})
	var prefixes []string
	var ready []time.Time
	for i := range 2 {
		exp := "venv" + strconv.Itoa(i)
		code, _, stderr := pe.run(t, proj, "-P", "out="+out, "--env-manager", "virtualenv", "--cache-dir", cache, "--experiment-name", exp)
		if code != 0 {
			t.Fatalf("exit %d\n%s", code, stderr)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		prefixes = append(prefixes, string(b))
		st, err := os.Stat(filepath.Join(string(b), ".mlgate-ready"))
		if err != nil {
			t.Fatalf("the entry point ran in %s, not in a built environment: %v", b, err)
		}
		ready = append(ready, st.ModTime())
		wantTags(t, pe.onlyRun(t, exp), map[string]string{"mlflow.project.env": "virtualenv"})
	}
	if !strings.HasPrefix(prefixes[0], filepath.Join(cache, "envs", "project-venv-")) || prefixes[0] != prefixes[1] || !ready[0].Equal(ready[1]) {
		t.Fatalf("environments %v (ready %v), want one in %s built once", prefixes, ready, cache)
	}
}

// A remote URI given to a path parameter (here mlflow-artifacts: on the
// server) is downloaded, a file as a file and a folder as a folder, and
// the command gets the local path; the param is logged as given.
func TestRunPathParamDownloadsArtifacts(t *testing.T) {
	pe := newProjectEnv(t)
	ctx := context.Background()
	src, err := pe.c.CreateRun(ctx, "0")
	if err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(t.TempDir(), "in.txt")
	writeFiles(t, filepath.Dir(data), map[string]string{"in.txt": "remote data\n"})
	if err := pe.c.LogArtifact(ctx, src.Info.RunID, data, "inputs"); err != nil {
		t.Fatal(err)
	}
	proj, out := t.TempDir(), filepath.Join(t.TempDir(), "out")
	writeFiles(t, proj, map[string]string{"MLproject": "entry_points:\n  main:\n    parameters: {data: path, out: string}\n    command: \"cat {data} > {out} 2>/dev/null || ls {data} > {out}\"\n"})
	for i, c := range []struct{ rel, want string }{{"inputs/in.txt", "remote data"}, {"inputs", "in.txt"}} {
		uri, err := pe.c.GetArtifactURI(ctx, src.Info.RunID, c.rel)
		if err != nil {
			t.Fatal(err)
		}
		exp := "path" + strconv.Itoa(i)
		code, _, stderr := pe.run(t, proj, "-P", "data="+uri, "-P", "out="+out, "--env-manager", "local", "--experiment-name", exp)
		if code != 0 {
			t.Fatalf("%s: exit %d\n%s", uri, code, stderr)
		}
		got, err := os.ReadFile(out)
		if err != nil || strings.TrimSpace(string(got)) != c.want {
			t.Fatalf("%s: the command read %q (%v), want %q", uri, got, err, c.want)
		}
		r := pe.onlyRun(t, exp)
		if v, _ := r.Param("data"); v != uri {
			t.Errorf("logged data=%q, want %q", v, uri)
		}
	}
}
