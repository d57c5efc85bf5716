//go:build integration

package pyfunc

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mlgate/mlgate/flavors"
)

// A python_function worker SIGKILLed under load (1,024 requests, 16 at a
// time, two workers) costs no request: the one it held is sent again to
// the other worker or the replacement, and every answer is the model's
// answer for its own input. The retry is counted, the worker replaced, and
// nothing is left behind when the model closes (load's cleanup).
func TestWorkerKilledUnderLoadLosesNoRequest(t *testing.T) {
	reg := prometheus.NewRegistry()
	p := load(t, testFlavorWith(t, reg), "sleepy", 2, nil)
	const total, conc = 1024, 16
	var (
		next, answered atomic.Int64
		mu             sync.Mutex
		failures       []string
		wg             sync.WaitGroup
	)
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= total {
					return
				}
				in := frameCase{columns: []string{"x"}, types: []string{"double"}, rows: [][]any{{float64(i)}},
					params: map[string]any{"sleep": 0.01}}.input()
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				out, err := p.Predict(ctx, in)
				cancel()
				want := fmt.Sprintf(`[{"y": %d.0}]`, i+1)
				if err != nil || string(out.JSON) != want {
					mu.Lock()
					failures = append(failures, fmt.Sprintf("request %d: %v %s, want %s", i, err, outJSON(out), want))
					mu.Unlock()
				}
				answered.Add(1)
			}
		}()
	}
	for answered.Load() < 300 {
		time.Sleep(time.Millisecond)
	}
	before := workerPIDs(p)
	victim := before[0]
	killed := time.Now()
	if err := syscall.Kill(victim, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// the replacement: two live workers again, the victim not among them
	var replaced time.Duration
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if now := workerPIDs(p); len(now) == 2 && !slices.Contains(now, victim) && p.pool.alive() == 2 {
			replaced = time.Since(killed)
			break
		}
	}
	wg.Wait()
	if len(failures) > 0 {
		t.Fatalf("%d of %d requests failed or got another answer, first: %s", len(failures), total, failures[0])
	}
	if replaced == 0 {
		t.Fatal("the killed worker was not replaced within a minute")
	}
	retries := counter(t, reg, "mlgate_worker_retries_total", "", "")
	deaths := counter(t, reg, "mlgate_worker_deaths_total", "", "")
	t.Logf("%d requests, worker pid %d killed after 300: replaced in %s, %v retried", total, victim, replaced.Round(time.Millisecond), retries)
	if deaths != 1 || retries != 1 {
		t.Fatalf("mlgate_worker_deaths_total = %v, mlgate_worker_retries_total = %v, want 1 and 1 (the worker was busy when killed)", deaths, retries)
	}
	if m := groupMembers(victim); len(m) > 0 {
		t.Fatalf("the killed worker's group still has %v", m)
	}
}

func outJSON(o *flavors.Output) string {
	if o == nil {
		return "<nil>"
	}
	return string(o.JSON)
}
