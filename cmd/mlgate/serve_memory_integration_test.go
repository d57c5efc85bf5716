//go:build integration

package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mlgate/mlgate/rest/resttest"
)

// One outsized request must not leave `mlgate models serve` larger while it
// idles: a 50 MB body that is not JSON, then a 50 MB JSON body whose column
// name is the whole body (answered as today: the ONNX model ignores names,
// 200; python_function refuses the missing column quoting the name, 400).
// After each, the resident set returns within 20% of the idle figure in a
// few seconds. Before the releaser and bounded buffers the figures were
// 43 -> 202 MiB (ONNX, junk) and 32 -> 478 MiB (python_function, name),
// staying there.
func TestServeMemoryReturnsAfterOutsizedRequests(t *testing.T) {
	py := os.Getenv("MLGATE_TEST_PYTHON")
	if py == "" || os.Getenv("ONNXRUNTIME_LIB") == "" {
		t.Fatal("MLGATE_TEST_PYTHON and ONNXRUNTIME_LIB must be set (make test sets them)")
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "mlgate")
	// a plain build (the race detector's own memory would hide the figures)
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	const n = 50_000_000
	junk := bytes.Repeat([]byte("x"), n)
	hugeName := []byte(`{"dataframe_split": {"columns": ["` + strings.Repeat("a", n) + `", "x2", "x3"], "data": [[1.5, 2.5, 3.5]]}}`)
	for _, c := range []struct {
		kind     string
		nameWant int
	}{{"linear", http.StatusOK}, {"custom_pyfunc", http.StatusBadRequest}} {
		t.Run(c.kind, func(t *testing.T) {
			dir := filepath.Join(tmp, c.kind)
			if out, err := exec.Command(py, "../../interop/models.py", c.kind, dir).CombinedOutput(); err != nil {
				t.Fatalf("models.py: %v\n%s", err, out)
			}
			addr, pid := startServe(t, bin, dir, py)
			post := func(name string, body []byte, want int) {
				t.Helper()
				resp, err := http.Post("http://"+addr+"/invocations", "application/json", bytes.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != want {
					t.Fatalf("%s: status %d, want %d", name, resp.StatusCode, want)
				}
			}
			// idle is a server that has answered ordinary requests: the
			// code of those paths is resident again after the post-load
			// trim (memtrim.Trim), which the large requests must not be
			// blamed for
			time.Sleep(2 * time.Second)
			post("small", []byte(`{"dataframe_split": {"columns": ["x1", "x2", "x3"], "data": [[1.5, 2.5, 3.5]]}}`), c.nameWant)
			post("small junk", []byte("xxxx"), http.StatusBadRequest)
			time.Sleep(time.Second)
			idle := rssMiB(t, pid)
			for _, r := range []struct {
				name string
				body []byte
				want int
			}{{"junk", junk, http.StatusBadRequest}, {"huge_column_name", hugeName, c.nameWant}} {
				post(r.name, r.body, r.want)
				peak, now := procStatusMiB(t, pid, "VmHWM"), rssMiB(t, pid)
				after := now
				deadline := time.Now().Add(5 * time.Second)
				for now > idle*1.2 && time.Now().Before(deadline) {
					time.Sleep(100 * time.Millisecond)
					now = rssMiB(t, pid)
				}
				t.Logf("%s %s: idle %.1f MiB, right after %.1f MiB (peak so far %.1f), settled %.1f MiB", c.kind, r.name, idle, after, peak, now)
				if now > idle*1.2 {
					t.Fatalf("%s: RSS %.1f MiB 5 s after the request, idle was %.1f MiB (more than 20%% above)", r.name, now, idle)
				}
			}
		})
	}
}

// startServe starts `mlgate models serve` on model dir, waits until it is
// ready and stops it (checking that its process group is gone) at the end
// of t. python's folder goes first on PATH (python_function workers).
func startServe(t *testing.T, bin, dir, python string) (addr string, pid int) {
	t.Helper()
	port := resttest.FreePort(t)
	addr = "127.0.0.1:" + strconv.Itoa(port)
	cmd := exec.Command(bin, "models", "serve", "-m", dir, "-p", strconv.Itoa(port), "--log-level", "warn")
	cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(python)+":"+os.Getenv("PATH"))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid = cmd.Process.Pid
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			<-done
			t.Errorf("mlgate did not stop on SIGTERM")
		}
		if err := syscall.Kill(-pid, 0); err == nil {
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			t.Errorf("processes of mlgate's group %d outlived it", pid)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for ctx.Err() == nil {
		if resp, err := http.Get("http://" + addr + "/ping"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return addr, pid
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("mlgate models serve not ready in 2 minutes:\n%s", logs.String())
	return "", 0
}

func rssMiB(t *testing.T, pid int) float64 { return procStatusMiB(t, pid, "VmRSS") }

// procStatusMiB reads a kB field of /proc/PID/status in MiB.
func procStatusMiB(t *testing.T, pid int, field string) float64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb / 1024
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}
