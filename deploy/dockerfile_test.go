package deploy

import (
	"bufio"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// dockerfile parses the top-level Dockerfile with BuildKit's parser and
// instruction decoder; parser and linter warnings fail the test.
func dockerfile(t *testing.T, src []byte) []instructions.Stage {
	t.Helper()
	res, err := parser.Parse(strings.NewReader(string(src)))
	if err != nil {
		t.Fatalf("Dockerfile: %v", err)
	}
	for _, w := range res.Warnings {
		t.Errorf("Dockerfile parser warning: %s", w.Short)
	}
	lint := linter.New(&linter.Config{Warn: func(rule, desc, _, msg string, loc []parser.Range) {
		t.Errorf("Dockerfile lint %s at %v: %s", rule, loc, msg)
	}})
	stages, _, err := instructions.Parse(res.AST, lint)
	if err != nil {
		t.Fatalf("Dockerfile instructions: %v", err)
	}
	return stages
}

func readDockerfile(t *testing.T) []instructions.Stage {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	return dockerfile(t, src)
}

func commandsOf[T instructions.Command](s instructions.Stage) []T {
	var out []T
	for _, c := range s.Commands {
		if v, ok := c.(T); ok {
			out = append(out, v)
		}
	}
	return out
}

// ortScript returns the version and sha256 that scripts/onnxruntime.sh pins.
func ortScript(t *testing.T) (version, sha string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "scripts", "onnxruntime.sh"))
	if err != nil {
		t.Fatal(err)
	}
	v := regexp.MustCompile(`(?m)^version=([0-9.]+)$`).FindSubmatch(b)
	s := regexp.MustCompile(`(?m)^sha=([0-9a-f]{64})$`).FindSubmatch(b)
	if v == nil || s == nil {
		t.Fatal("scripts/onnxruntime.sh: no version= or sha= line")
	}
	return string(v[1]), string(s[1])
}

// makeRecipe returns the first recipe line of a Makefile target.
func makeRecipe(t *testing.T, target string) string {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	in := false
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, target+":") {
			in = true
			continue
		}
		if in && strings.HasPrefix(line, "\t") {
			return strings.TrimSpace(line)
		}
	}
	t.Fatalf("Makefile: no recipe for %s", target)
	return ""
}

func TestDockerfileStages(t *testing.T) {
	stages := readDockerfile(t)
	if len(stages) != 2 || stages[0].Name != "build" || stages[1].Name != "runtime" {
		t.Fatalf("want stages build and runtime, got %d", len(stages))
	}
	for _, s := range stages {
		if !strings.Contains(s.BaseName, ":") || strings.HasSuffix(s.BaseName, ":latest") {
			t.Errorf("stage %s: base %q has no pinned tag", s.Name, s.BaseName)
		}
	}
}

// TestDockerfileCopySources checks that every COPY from the build context
// names a path of the repository, and that the copied folders hold every
// package of the main module that cmd/mlgate is built from.
func TestDockerfileCopySources(t *testing.T) {
	stages := readDockerfile(t)
	copied := map[string]bool{}
	for _, s := range stages {
		for _, c := range commandsOf[*instructions.CopyCommand](s) {
			if c.From != "" {
				continue
			}
			for _, src := range c.SourcePaths {
				if strings.ContainsAny(src, "*?[") || filepath.IsAbs(src) || strings.HasPrefix(path.Clean(src), "..") {
					t.Errorf("COPY %s: want a plain path inside the repository", src)
					continue
				}
				if _, err := os.Stat(filepath.Join(repoRoot, src)); err != nil {
					t.Errorf("COPY %s: %v", src, err)
				}
				copied[path.Clean(src)] = true
			}
		}
	}
	checkDockerignore(t, copied)
	for _, f := range []string{"go.mod", "go.sum", "scripts/onnxruntime.sh"} {
		if !copied[f] {
			t.Errorf("the Dockerfile does not copy %s", f)
		}
	}
	cmd := exec.Command("go", "list", "-deps", "-f", "{{if .Module}}{{if .Module.Main}}{{.ImportPath}}{{end}}{{end}}", "./cmd/mlgate")
	cmd.Dir = repoRoot
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const mod = "github.com/mlgate/mlgate/"
	n := 0
	for _, pkg := range strings.Fields(string(out)) {
		rel := strings.TrimPrefix(pkg, mod)
		top, _, _ := strings.Cut(rel, "/")
		if !copied[top] && !copied[rel] {
			t.Errorf("package %s is not copied into the build stage", pkg)
		}
		n++
	}
	if n < 5 {
		t.Fatalf("go list found only %d packages of the main module", n)
	}
}

// checkDockerignore fails when .dockerignore leaves a file under a COPY
// source out of the build context (test files and testdata may go: the
// build does not read them), or lets in a file no COPY takes.
func checkDockerignore(t *testing.T, copied map[string]bool) {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("git", "-C", repoRoot, "ls-files").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	in := 0
	for _, file := range strings.Fields(string(out)) {
		excluded, err := pm.MatchesOrParentMatches(file)
		if err != nil {
			t.Fatal(err)
		}
		top, _, _ := strings.Cut(file, "/")
		wanted := copied[file] || copied[top]
		buildInput := !strings.HasSuffix(file, "_test.go") && !strings.Contains(file, "/testdata/")
		switch {
		case wanted && buildInput && excluded:
			t.Errorf(".dockerignore leaves %s out of the build context", file)
		case !wanted && !excluded:
			t.Errorf(".dockerignore sends %s, which no COPY takes", file)
		}
		if !excluded {
			in++
		}
	}
	if in < 10 {
		t.Errorf("only %d files in the build context", in)
	}
}

// TestDockerfileBuild checks the build stage: ONNX Runtime through
// scripts/onnxruntime.sh and the go build line of `make build`.
func TestDockerfileBuild(t *testing.T) {
	stages := readDockerfile(t)
	build, runtime := stages[0], stages[1]
	version, sha := ortScript(t)
	src, err := os.ReadFile(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range regexp.MustCompile(`[0-9a-f]{64}`).FindAllString(string(src), -1) {
		if h != sha {
			t.Errorf("the Dockerfile names sha256 %s, scripts/onnxruntime.sh pins %s", h, sha)
		}
	}

	recipe := strings.Fields(makeRecipe(t, "build"))
	var goBuild []string
	ortCache := ""
	for _, r := range commandsOf[*instructions.RunCommand](build) {
		line := strings.Join(r.CmdLine, " ")
		if strings.Contains(line, "scripts/onnxruntime.sh") {
			m := regexp.MustCompile(`MLGATE_CACHE=(\S+) scripts/onnxruntime.sh`).FindStringSubmatch(line)
			if m == nil {
				t.Errorf("RUN %s: want MLGATE_CACHE=DIR scripts/onnxruntime.sh", line)
				continue
			}
			ortCache = m[1]
		}
		if strings.Contains(line, "go build") {
			goBuild = strings.Fields(line)
		}
	}
	if ortCache == "" {
		t.Fatal("the build stage does not run scripts/onnxruntime.sh")
	}
	// the Makefile's `go build -o $(BIN) ./cmd/mlgate` with another output
	i := slices.Index(recipe, "-o")
	j := slices.Index(goBuild, "-o")
	if i < 0 || j < 0 || len(recipe) != len(goBuild) {
		t.Fatalf("build commands differ: make %q, Dockerfile %q", recipe, goBuild)
	}
	want := slices.Clone(recipe)
	want[i+1] = goBuild[j+1]
	if !slices.Equal(want, goBuild) {
		t.Errorf("Dockerfile builds with %q, make build with %q", goBuild, recipe)
	}
	binOut := goBuild[j+1]

	// the runtime stage takes exactly what those two steps wrote
	lib := path.Join(ortCache, "onnxruntime-"+version, "libonnxruntime.so.1")
	dests := map[string]string{}
	for _, c := range commandsOf[*instructions.CopyCommand](runtime) {
		if c.From != "build" {
			continue
		}
		for _, src := range c.SourcePaths {
			dests[src] = c.DestPath
		}
	}
	if dests[lib] == "" {
		t.Errorf("the runtime stage does not copy %s from the build stage", lib)
	}
	if dests[binOut] == "" {
		t.Errorf("the runtime stage does not copy %s from the build stage", binOut)
	}
	env := stageEnv(runtime)
	if env["ONNXRUNTIME_LIB"] != dests[lib] {
		t.Errorf("ONNXRUNTIME_LIB=%q, the library is copied to %q", env["ONNXRUNTIME_LIB"], dests[lib])
	}
	if !strings.Contains(makeVar(t, "ORT_LIB"), "onnxruntime-"+version+"/") {
		t.Errorf("Makefile ORT_LIB does not name ONNX Runtime %s", version)
	}
	if path.Dir(dests[binOut]) != "/usr/local/bin" {
		t.Errorf("mlgate is copied to %s, not onto PATH", dests[binOut])
	}
}

func makeVar(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^` + name + ` :?= (.+)$`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("Makefile: no %s", name)
	}
	return string(m[1])
}

func stageEnv(s instructions.Stage) map[string]string {
	env := map[string]string{}
	for _, e := range commandsOf[*instructions.EnvCommand](s) {
		for _, kv := range e.Env {
			env[kv.Key] = kv.Value
		}
	}
	return env
}

// TestDockerfileRuntime checks the final stage: non-root user, mlgate as
// the entrypoint, the locale, the exposed ports and a CMD that
// `mlgate models serve` accepts.
func TestDockerfileRuntime(t *testing.T) {
	stages := readDockerfile(t)
	rt := stages[len(stages)-1]
	users := commandsOf[*instructions.UserCommand](rt)
	if len(users) == 0 {
		t.Fatal("the runtime stage sets no USER")
	}
	user := users[len(users)-1].User
	uid, _, _ := strings.Cut(user, ":")
	if n, err := strconv.Atoi(uid); err != nil || n == 0 {
		t.Errorf("USER %s: want a numeric non-root uid (Kubernetes' runAsNonRoot checks it)", user)
	}
	eps := commandsOf[*instructions.EntrypointCommand](rt)
	if len(eps) != 1 || eps[0].PrependShell || !slices.Equal(eps[0].CmdLine, []string{"mlgate"}) {
		t.Errorf("want ENTRYPOINT [\"mlgate\"] in exec form")
	}
	env := stageEnv(rt)
	if env["LC_ALL"] != "C.UTF-8" {
		t.Errorf("LC_ALL=%q, want C.UTF-8", env["LC_ALL"])
	}
	var ports []string
	for _, e := range commandsOf[*instructions.ExposeCommand](rt) {
		ports = append(ports, e.Ports...)
	}
	cmds := commandsOf[*instructions.CmdCommand](rt)
	if len(cmds) != 1 || cmds[0].PrependShell {
		t.Fatal("want one CMD in exec form")
	}
	args := cmds[0].CmdLine
	if len(args) < 2 || args[0] != "models" || args[1] != "serve" {
		t.Fatalf("CMD %q: want models serve", args)
	}
	port := argValue(args, "--port")
	if !slices.Contains(ports, port) || !slices.Contains(ports, "5000") {
		t.Errorf("EXPOSE %v: want the CMD's port %s and mlgate server's 5000", ports, port)
	}
	if argValue(args, "-m") != "/opt/ml/model" || argValue(args, "--host") != "0.0.0.0" {
		t.Errorf("CMD %q: want -m /opt/ml/model --host 0.0.0.0", args)
	}
	// The CMD's flags work: serve the example model with them.
	r := startServe(t, args, exampleModel(t))
	r.waitStatus(t, "/v2/health/ready", 200, 60*time.Second)
	r.waitStatus(t, "/v2/health/live", 200, time.Second)
	r.stop(t, 30*time.Second)
}

// argValue returns the value after flag in args ("" when absent).
func argValue(args []string, flag string) string {
	for i, a := range args {
		if a == flag && i+1 < len(args) {
			return args[i+1]
		}
		if v, ok := strings.CutPrefix(a, flag+"="); ok {
			return v
		}
	}
	return ""
}

// TestDockerfileNegative makes sure the checks above can fail: a broken
// instruction is refused by the parser.
func TestDockerfileNegative(t *testing.T) {
	res, err := parser.Parse(strings.NewReader("FROM debian:bookworm-slim\nCOPY\n"))
	if err == nil {
		_, _, err = instructions.Parse(res.AST, linter.New(&linter.Config{}))
	}
	if err == nil {
		t.Fatal("a COPY without arguments parsed")
	}
}
