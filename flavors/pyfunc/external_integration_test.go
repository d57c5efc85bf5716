//go:build integration

package pyfunc

import (
	"context"
	"errors"
	"log/slog"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mlgate/mlgate/flavors"
	"github.com/mlgate/mlgate/pkgformat"
)

// nodeFlavor is the js_linear flavor served by the Node.js example worker
// (testdata/jsworker, documented in docs/workers.md).
func nodeFlavor(t *testing.T) *Flavor {
	t.Helper()
	return nodeFlavorWith(t, nil)
}

func nodeFlavorWith(t *testing.T, reg prometheus.Registerer) *Flavor {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is not on PATH: the external-worker tests need Node.js (make deps installs it in CI)")
	}
	script, _ := filepath.Abs("testdata/jsworker/worker.js")
	f, err := NewExternal("js_linear", []string{node, script}, Options{
		Logger:       slog.New(slog.NewTextHandler(testWriter{t}, nil)),
		CacheDir:     t.TempDir(),
		StartTimeout: 20 * time.Second,
		StopTimeout:  time.Second,
		HangTimeout:  5 * time.Second,
		Registerer:   reg,
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func loadExternal(t *testing.T, f *Flavor, dir string, n int) (*predictor, error) {
	t.Helper()
	m, err := pkgformat.ReadModel(dir)
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.Load(context.Background(), dir, m, flavors.LoadOptions{Workers: n})
	if err != nil {
		return nil, err
	}
	pr := p.(*predictor)
	t.Cleanup(func() { closeAndCheck(t, pr) })
	return pr, nil
}

func jsInput(params map[string]any) *flavors.Input {
	return &flavors.Input{Frame: &flavors.Frame{
		Columns: []string{"b", "a"}, Types: []string{"double", "double"},
		Data: [][]any{{2.0, 0.0}, {1.0, 3.0}},
	}, Params: params}
}

func TestExternalWorkerPredicts(t *testing.T) {
	p, err := loadExternal(t, nodeFlavor(t), "testdata/jsworker/model", 2)
	if err != nil {
		t.Fatal(err)
	}
	out, err := p.Predict(context.Background(), jsInput(nil))
	if err != nil {
		t.Fatal(err)
	}
	// y = 2a - b + 0.5 for (a=1, b=2) and (a=3, b=0).
	if got := string(out.JSON); got != "[0.5,6.5]" {
		t.Fatalf("got %s, want [0.5,6.5]", got)
	}
	_, err = p.Predict(context.Background(), &flavors.Input{Frame: &flavors.Frame{Columns: []string{"a"}, Data: [][]any{{1.0}}}})
	var we *WorkerError
	if !errors.As(err, &we) || we.ErrorCode() != "BAD_REQUEST" || !strings.Contains(we.Message, "missing columns: b") {
		t.Fatalf("want the worker's BAD_REQUEST, got %v", err)
	}
}

// counter sums the samples of a counter family in reg with the label
// name=value (any labels when name is "").
func counter(t *testing.T, reg *prometheus.Registry, family, name, value string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != family {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if name == "" || (l.GetName() == name && l.GetValue() == value) {
					sum += m.GetCounter().GetValue()
					break
				}
			}
		}
	}
	return sum
}

func TestKilledWorkerIsRetriedCrashIs503ThenRecovers(t *testing.T) {
	reg := prometheus.NewRegistry()
	t.Cleanup(func() {
		// sigkill, crash (twice: the request is sent again once), hang:
		// four deaths, each followed by a good restart; two retries.
		if d := counter(t, reg, "mlgate_worker_deaths_total", "flavor", "js_linear"); d != 4 {
			t.Errorf("mlgate_worker_deaths_total = %v, want 4", d)
		}
		if r := counter(t, reg, "mlgate_worker_restarts_total", "result", "ok"); r != 4 {
			t.Errorf("mlgate_worker_restarts_total{result=ok} = %v, want 4", r)
		}
		if r := counter(t, reg, "mlgate_worker_retries_total", "flavor", "js_linear"); r != 2 {
			t.Errorf("mlgate_worker_retries_total = %v, want 2", r)
		}
	})
	p, err := loadExternal(t, nodeFlavorWith(t, reg), "testdata/jsworker/model", 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("sigkill_mid_request", func(t *testing.T) {
		// the request the worker held goes to the replacement
		pid := workerPIDs(p)[0]
		type result struct {
			out *flavors.Output
			err error
		}
		done := make(chan result, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			out, err := p.Predict(ctx, jsInput(map[string]any{"sleep_ms": 1000}))
			done <- result{out, err}
		}()
		time.Sleep(300 * time.Millisecond)
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		r := <-done
		if r.err != nil || string(r.out.JSON) != "[0.5,6.5]" {
			t.Fatalf("the request its worker died with: %s %v, want [0.5,6.5] from the replacement", outJSON(r.out), r.err)
		}
		if now := workerPIDs(p); len(now) != 1 || now[0] == pid {
			t.Fatalf("worker not replaced: %v (was %d)", now, pid)
		}
		if m := groupMembers(pid); len(m) > 0 {
			t.Fatalf("dead worker's group still has %v", m)
		}
	})
	t.Run("crash_reason_in_503", func(t *testing.T) {
		_, err := p.Predict(context.Background(), jsInput(map[string]any{"crash": true}))
		if !errors.Is(err, flavors.ErrUnavailable) || !strings.Contains(err.Error(), "crashing on purpose") || !strings.Contains(err.Error(), "exit status 9") {
			t.Fatalf("want a 503 with the worker's last stderr line, got %v", err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if _, err := p.Predict(ctx, jsInput(nil)); err != nil {
			t.Fatalf("after restart: %v", err)
		}
	})
	t.Run("hanging_worker_is_killed_and_replaced", func(t *testing.T) {
		pid := workerPIDs(p)[0]
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := p.Predict(ctx, jsInput(map[string]any{"sleep_ms": 10000}))
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
			t.Fatalf("want DeadlineExceeded at the deadline, got %v after %s", err, time.Since(start))
		}
		var coder interface{ ErrorCode() string }
		if !errors.As(err, &coder) || coder.ErrorCode() != "DEADLINE_EXCEEDED" {
			t.Fatalf("want DEADLINE_EXCEEDED, got %v", err)
		}
		ctx2, cancel2 := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel2()
		if _, err := p.Predict(ctx2, jsInput(nil)); err != nil {
			t.Fatalf("after replacement: %v", err)
		}
		if now := workerPIDs(p); now[0] == pid {
			t.Fatal("the hanging worker was not replaced")
		}
		if m := groupMembers(pid); len(m) > 0 {
			t.Fatalf("hanging worker's group still has %v", m)
		}
	})
	t.Run("abandoned_request_keeps_worker", func(t *testing.T) {
		pid := workerPIDs(p)[0]
		ctx, cancel := context.WithCancel(context.Background())
		go func() { time.Sleep(100 * time.Millisecond); cancel() }()
		if _, err := p.Predict(ctx, jsInput(map[string]any{"sleep_ms": 500})); !errors.Is(err, context.Canceled) {
			t.Fatalf("want Canceled, got %v", err)
		}
		out, err := p.Predict(context.Background(), jsInput(nil))
		if err != nil || string(out.JSON) != "[0.5,6.5]" {
			t.Fatalf("after an abandoned request: %s %v", out.JSON, err)
		}
		if now := workerPIDs(p); now[0] != pid {
			t.Fatal("a cancelled request must not cost the worker")
		}
	})
}

func TestBadWorkersFailLoadClearly(t *testing.T) {
	model := "testdata/jsworker/model"
	cases := []struct {
		name    string
		command []string
		want    []string
	}{
		{"protocol_mismatch", []string{"/bin/sh", "-c", `echo "mlgate-worker 1 {}"; sleep 30`}, []string{"protocol version 1", "this mlgate speaks 2"}},
		{"exits_before_handshake", []string{"/bin/sh", "-c", `echo "cannot import torch" >&2; exit 4`}, []string{"cannot import torch", "exit status 4"}},
		{"reported_load_error", []string{"/bin/sh", "-c", `echo 'mlgate-worker-error 2 {"error_code":"INVALID_STATE","message":"weights missing"}'; exit 3`}, []string{"weights missing"}},
		{"missing_program", []string{"/nonexistent/worker"}, []string{"/nonexistent/worker", "not found"}},
		{"never_ready", []string{"/bin/sh", "-c", `sleep 30`}, []string{"not ready in time"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := NewExternal("js_linear", c.command, Options{StartTimeout: 2 * time.Second, StopTimeout: time.Second, CacheDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			_, err = loadExternal(t, f, model, 2)
			if err == nil {
				t.Fatal("Load succeeded")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("error %q does not mention %q", err, w)
				}
			}
			deadline := time.Now().Add(3 * time.Second)
			for len(childWorkers()) > 0 && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			if kids := childWorkers(); len(kids) > 0 {
				t.Fatalf("processes left after a failed Load: %v", kids)
			}
		})
	}
}
