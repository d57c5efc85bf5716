//go:build integration

package pyfunc

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mlgate/mlgate/flavors"
	"github.com/mlgate/mlgate/pkgformat"
)

func TestPythonWorkerKilledOrHanging(t *testing.T) {
	p := load(t, testFlavor(t), "sleepy", 1, nil)
	long := func() context.Context {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		t.Cleanup(cancel)
		return ctx
	}
	t.Run("sigkill_mid_request", func(t *testing.T) {
		// the only worker dies holding the request: it waits for the
		// replacement and gets the model's answer from it
		pid := workerPIDs(p)[0]
		type result struct {
			out *flavors.Output
			err error
		}
		done := make(chan result, 1)
		go func() {
			out, err := p.Predict(long(), sleepy(1))
			done <- result{out, err}
		}()
		time.Sleep(500 * time.Millisecond)
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		r := <-done
		if r.err != nil || string(r.out.JSON) != `[{"y": 2.0}]` {
			t.Fatalf("the request its worker died with: %s %v, want the answer of the replacement", outJSON(r.out), r.err)
		}
		if now := workerPIDs(p); len(now) != 1 || now[0] == pid {
			t.Fatalf("worker not replaced: %v (was %d)", now, pid)
		}
		if m := groupMembers(pid); len(m) > 0 {
			t.Fatalf("killed worker's group still has %v", m)
		}
	})
	t.Run("model_that_kills_its_worker_503", func(t *testing.T) {
		// retried once, then the death is the answer: 503 naming the exit
		crash := frameCase{columns: []string{"x"}, types: []string{"double"}, rows: [][]any{{1.0}}, params: map[string]any{"crash": true}}.input()
		_, err := p.Predict(long(), crash)
		var coder interface{ ErrorCode() string }
		if !errors.Is(err, flavors.ErrUnavailable) || !errors.As(err, &coder) || coder.ErrorCode() != "TEMPORARILY_UNAVAILABLE" || !strings.Contains(err.Error(), "exit status 9") {
			t.Fatalf("want 503 TEMPORARILY_UNAVAILABLE naming the exit, got %v", err)
		}
		out, err := p.Predict(long(), sleepy(0))
		if err != nil || string(out.JSON) != `[{"y": 2.0}]` {
			t.Fatalf("after restart: %s %v", outJSON(out), err)
		}
	})
	t.Run("hang_past_deadline", func(t *testing.T) {
		pid := workerPIDs(p)[0]
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := p.Predict(ctx, sleepy(60))
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("want DeadlineExceeded, got %v", err)
		}
		out, err := p.Predict(long(), sleepy(0))
		if err != nil || string(out.JSON) != `[{"y": 2.0}]` {
			t.Fatalf("after replacement: %s %v", out.JSON, err)
		}
		if now := workerPIDs(p); now[0] == pid {
			t.Fatal("hanging worker not replaced")
		}
		if m := groupMembers(pid); len(m) > 0 {
			t.Fatalf("hanging worker's group still has %v", m)
		}
	})
}

func TestPythonModelLoadFailures(t *testing.T) {
	f := testFlavor(t)
	cases := []struct {
		model string
		extra map[string]string
		want  []string
	}{
		{"fail_load", nil, []string{"failed to load the model", "weights are corrupt"}},
		{"missing_dep", nil, []string{"Python package 'mlgate_absent_dep'", "not installed"}},
		{"sleepy", map[string]string{ExtraPython: "/nonexistent/python3.11"}, []string{`interpreter "/nonexistent/python3.11" not found`}},
	}
	for _, c := range cases {
		t.Run(c.model, func(t *testing.T) {
			dir := filepath.Join(testModels(t), c.model)
			m, err := pkgformat.ReadModel(dir)
			if err != nil {
				t.Fatal(err)
			}
			_, err = f.Load(context.Background(), dir, m, flavors.LoadOptions{Workers: 1, Extra: c.extra})
			if err == nil {
				t.Fatal("Load succeeded")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("error %q does not mention %q", err, w)
				}
			}
			if kids := childWorkers(); len(kids) > 0 {
				t.Fatalf("processes left after a failed Load: %v", kids)
			}
		})
	}
}

// countingWriter counts log lines containing a word.
type countingWriter struct {
	mu    sync.Mutex
	word  string
	count int
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.count += strings.Count(string(p), w.word)
	w.mu.Unlock()
	return len(p), nil
}

func TestVirtualenvIsBuiltOnceAndNamesMissingPackages(t *testing.T) {
	// The base interpreter without mlflow: the venv python of the tests
	// knows its base installation.
	out, err := exec.Command(testPython(t), "-c", "import sys, os; print(os.path.join(sys.base_prefix, 'bin', 'python3'))").Output()
	if err != nil {
		t.Fatal(err)
	}
	base := strings.TrimSpace(string(out))
	// uv comes with the test venv (interop/requirements.txt).
	uvDir := filepath.Dir(testPython(t))
	if _, err := os.Stat(filepath.Join(uvDir, "uv")); err != nil {
		t.Fatalf("uv is not installed next to MLGATE_TEST_PYTHON: %v", err)
	}
	noUV := t.TempDir() // a PATH without uv
	for _, prog := range []string{"sh", "env"} {
		if p, err := exec.LookPath(prog); err == nil {
			_ = os.Symlink(p, filepath.Join(noUV, prog))
		}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	// A model whose environment has one tiny local wheel and not mlflow:
	// building it needs no network, and its worker must fail naming mlflow.
	dir := t.TempDir()
	src := filepath.Join(testModels(t), "sleepy")
	for _, name := range []string{"MLmodel", "python_model.pkl"} {
		b, err := os.ReadFile(filepath.Join(src, name))
		must(err)
		must(os.WriteFile(filepath.Join(dir, name), b, 0o644))
	}
	wheel := writeProbeWheel(t, t.TempDir())
	must(os.WriteFile(filepath.Join(dir, "python_env.yaml"), []byte("python: 3.11\nbuild_dependencies: []\ndependencies:\n- -r requirements.txt\n"), 0o644))
	must(os.WriteFile(filepath.Join(dir, "requirements.txt"), []byte(wheel+"\n"), 0o644))
	m, err := pkgformat.ReadModel(dir)
	must(err)

	var f *Flavor
	caches := map[string]string{"uv": t.TempDir(), "pip": t.TempDir()}
	for _, tool := range []struct{ name, path string }{{"uv", uvDir + string(os.PathListSeparator) + noUV}, {"pip", noUV}} {
		t.Run(tool.name, func(t *testing.T) {
			t.Setenv("PATH", tool.path)
			logs := &countingWriter{word: "building the model's virtualenv"}
			env := append(os.Environ(), "UV_OFFLINE=1", "PIP_NO_INDEX=1")
			f = New(Options{Logger: slog.New(slog.NewTextHandler(logs, nil)), CacheDir: caches[tool.name], Python: base, StartTimeout: time.Minute, Env: env})
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for i := range errs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, errs[i] = f.Load(context.Background(), dir, m, flavors.LoadOptions{Workers: 1, EnvManager: EnvVirtualenv})
				}()
			}
			wg.Wait()
			for _, err := range errs {
				if err == nil || !strings.Contains(err.Error(), "Python package 'mlflow' is not installed in") || !strings.Contains(err.Error(), filepath.Join(f.opts.CacheDir, "envs")) {
					t.Fatalf("want an error naming mlflow and the built env, got %v", err)
				}
			}
			if logs.count != 1 {
				t.Fatalf("the environment was built %d times, want once", logs.count)
			}
			envDir, err := venvDir(f.opts, dir, m, base, false)
			must(err)
			cfg, err := os.ReadFile(filepath.Join(envDir, "pyvenv.cfg"))
			must(err)
			if byUV := strings.Contains(string(cfg), "uv = "); byUV != (tool.name == "uv") {
				t.Fatalf("built by uv: %v, want %v:\n%s", byUV, tool.name == "uv", cfg)
			}
			probe, err := exec.Command(filepath.Join(envDir, "bin", "python"), "-c", "import mlgate_probe; print(mlgate_probe.VALUE)").CombinedOutput()
			if err != nil || strings.TrimSpace(string(probe)) != "42" {
				t.Fatalf("the requirement was not installed in the environment: %v %s", err, probe)
			}
			// A second load finds the environment ready: no new build.
			_, err = f.Load(context.Background(), dir, m, flavors.LoadOptions{Workers: 1, EnvManager: EnvVirtualenv})
			if err == nil || logs.count != 1 {
				t.Fatalf("second load: %v, %d builds", err, logs.count)
			}
			if tool.name == "pip" {
				_, err = f.Load(context.Background(), dir, m, flavors.LoadOptions{EnvManager: EnvUV})
				if !errors.Is(err, ErrEnv) || !strings.Contains(err.Error(), "uv program is not on PATH") {
					t.Fatalf("env manager uv without uv: %v", err)
				}
			}
		})
	}
	// A changed requirements file is another environment (another key).
	k1, err := venvDir(f.opts, dir, m, base, false)
	must(err)
	must(os.WriteFile(filepath.Join(dir, "requirements.txt"), []byte("# still nothing\n"), 0o644))
	k2, err := venvDir(f.opts, dir, m, base, false)
	must(err)
	if k1 == k2 {
		t.Fatal("changed requirements map to the same environment")
	}
	if _, err := os.Stat(filepath.Join(k1, ".mlgate-ready")); err != nil {
		t.Fatalf("the built environment is not marked ready: %v", err)
	}
	// Unknown managers and absent conda are clear errors.
	_, err = f.Load(context.Background(), dir, m, flavors.LoadOptions{EnvManager: "pixi"})
	if !errors.Is(err, ErrEnv) || !strings.Contains(err.Error(), `unknown env manager "pixi"`) {
		t.Fatalf("unknown manager: %v", err)
	}
	if _, lookErr := exec.LookPath("conda"); lookErr != nil {
		_, err = f.Load(context.Background(), dir, m, flavors.LoadOptions{EnvManager: EnvConda})
		if !errors.Is(err, ErrEnv) || !strings.Contains(err.Error(), "conda program is not on PATH") {
			t.Fatalf("conda missing: %v", err)
		}
	}
}

// writeProbeWheel writes a tiny pure-Python wheel (package mlgate_probe,
// VALUE = 42) into dir and returns its path: pip and uv install it offline.
func writeProbeWheel(t *testing.T, dir string) string {
	t.Helper()
	files := []struct{ name, body string }{
		{"mlgate_probe/__init__.py", "VALUE = 42\n"},
		{"mlgate_probe-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: mlgate-probe\nVersion: 1.0\n"},
		{"mlgate_probe-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\nGenerator: mlgate-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"},
	}
	path := filepath.Join(dir, "mlgate_probe-1.0-py3-none-any.whl")
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(out)
	var record strings.Builder
	for _, f := range files {
		w, err := zw.Create(f.name)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.WriteString(w, f.body)
		sum := sha256.Sum256([]byte(f.body))
		fmt.Fprintf(&record, "%s,sha256=%s,%d\n", f.name, base64.RawURLEncoding.EncodeToString(sum[:]), len(f.body))
	}
	record.WriteString("mlgate_probe-1.0.dist-info/RECORD,,\n")
	w, err := zw.Create("mlgate_probe-1.0.dist-info/RECORD")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.WriteString(w, record.String())
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}
