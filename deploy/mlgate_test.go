package deploy

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// repoRoot is the mlgate repository: this module lives in its deploy/ folder.
const repoRoot = ".."

var (
	buildOnce sync.Once
	binPath   string
	errBuild  error
)

// mlgateBin builds ./cmd/mlgate of the main module (with cgo, as `make
// build` does) once per test binary and returns its path.
func mlgateBin(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "mlgate-deploy-test-")
		if err != nil {
			errBuild = err
			return
		}
		binPath = filepath.Join(dir, "mlgate")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/mlgate")
		cmd.Dir = repoRoot
		if out, err := cmd.CombinedOutput(); err != nil {
			errBuild = fmt.Errorf("building mlgate: %w\n%s", err, out)
		}
	})
	if errBuild != nil {
		t.Fatal(errBuild)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		_ = os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

var flagLine = regexp.MustCompile(`^  -([a-z0-9-]+)`)

// flagNames returns the flags that `mlgate <command...> --help` lists.
func flagNames(t *testing.T, command ...string) map[string]bool {
	t.Helper()
	cmd := exec.Command(mlgateBin(t), append(command, "--help")...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("mlgate %s --help: %v\n%s", strings.Join(command, " "), err, out)
	}
	names := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if m := flagLine.FindStringSubmatch(sc.Text()); m != nil {
			names[m[1]] = true
		}
	}
	if len(names) < 5 {
		t.Fatalf("mlgate %s --help lists too few flags:\n%s", strings.Join(command, " "), out)
	}
	return names
}

// checkFlags fails unless every --flag in args is one that
// `mlgate <command...>` accepts.
func checkFlags(t *testing.T, args []string, command ...string) {
	t.Helper()
	known := flagNames(t, command...)
	for _, a := range args {
		if !strings.HasPrefix(a, "-") {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !known[name] {
			t.Errorf("mlgate %s does not accept %q", strings.Join(command, " "), a)
		}
	}
}

// serveRun is a `mlgate models serve` started by startServe.
type serveRun struct {
	cmd    *exec.Cmd
	base   string
	stderr *bytes.Buffer
	done   chan error
}

// startServe runs `mlgate` with args (as a manifest gives them) after
// putting a real model in place of the one the args name, 127.0.0.1 in
// place of the listen host and a free port in place of the listen port.
// The process is stopped when the test ends.
func startServe(t *testing.T, args []string, modelDir string) *serveRun {
	t.Helper()
	return startMlgate(t, args, map[string]string{"-m": modelDir}, nil)
}

// startMlgate runs `mlgate` with args after replacing the values of the
// flags in over (e.g. "--backend-store-uri": a test database), the listen
// host by 127.0.0.1 and the port by a free one; env is added to the
// process's environment.
func startMlgate(t *testing.T, args []string, over map[string]string, env []string) *serveRun {
	t.Helper()
	port := freePort(t)
	args = append([]string(nil), args...)
	for i := 0; i+1 < len(args); i++ {
		switch args[i] {
		case "--host", "-h", "-host":
			args[i+1] = "127.0.0.1"
		case "--port", "-p", "-port":
			args[i+1] = fmt.Sprint(port)
		default:
			if v, ok := over[args[i]]; ok {
				args[i+1] = v
			}
		}
	}
	cmd := exec.Command(mlgateBin(t), args...)
	cmd.Env = append(append(os.Environ(), ortLibEnv(t)), env...)
	r := &serveRun{cmd: cmd, base: fmt.Sprintf("http://127.0.0.1:%d", port), stderr: &bytes.Buffer{}, done: make(chan error, 1)}
	cmd.Stderr = r.stderr
	cmd.Stdout = r.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-r.done
	})
	return r
}

// waitStatus polls GET path until it answers want or timeout passes.
func (r *serveRun) waitStatus(t *testing.T, path string, want int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last := "no answer"
	for time.Now().Before(deadline) {
		select {
		case err := <-r.done:
			r.done <- err
			t.Fatalf("mlgate exited (%v) before %s answered %d:\n%s", err, path, want, r.stderr)
		default:
		}
		res, err := http.Get(r.base + path)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == want {
				return
			}
			last = res.Status
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("GET %s: want %d within %s, last %s\n%s", path, want, timeout, last, r.stderr)
}

// stop sends SIGTERM and waits for a clean exit within timeout.
func (r *serveRun) stop(t *testing.T, timeout time.Duration) {
	t.Helper()
	if err := r.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	r.wait(t, timeout)
}

// wait waits for a clean exit within timeout.
func (r *serveRun) wait(t *testing.T, timeout time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	select {
	case err := <-r.done:
		r.done <- err
		if err != nil {
			t.Fatalf("mlgate exited with %v after SIGTERM:\n%s", err, r.stderr)
		}
	case <-ctx.Done():
		t.Fatalf("mlgate did not exit within %s of SIGTERM:\n%s", timeout, r.stderr)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// exampleModel is the ONNX example model of the repository.
func exampleModel(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join(repoRoot, "examples", "models", "linear"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "MLmodel")); err != nil {
		t.Fatal(err)
	}
	return dir
}

// ortLibEnv names ONNX Runtime for mlgate: $ONNXRUNTIME_LIB (the Makefile
// sets it), else the library that scripts/onnxruntime.sh puts in the cache.
// Tests may move MLGATE_CACHE, so the path is given explicitly.
func ortLibEnv(t *testing.T) string {
	t.Helper()
	lib := os.Getenv("ONNXRUNTIME_LIB")
	if lib == "" {
		version, _ := ortScript(t)
		cache := os.Getenv("MLGATE_CACHE")
		if cache == "" {
			base := os.Getenv("XDG_CACHE_HOME")
			if base == "" {
				home, err := os.UserHomeDir()
				if err != nil {
					t.Fatal(err)
				}
				base = filepath.Join(home, ".cache")
			}
			cache = filepath.Join(base, "mlgate")
		}
		lib = filepath.Join(cache, "onnxruntime-"+version, "libonnxruntime.so.1")
	}
	if _, err := os.Stat(lib); err != nil {
		t.Fatalf("ONNX Runtime: %v (make onnxruntime fetches it)", err)
	}
	return "ONNXRUNTIME_LIB=" + lib
}
