package serve

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mlgate/mlgate/pkgformat"
)

// listen serves s on a real loopback listener and returns the base URL
// and the http.Server (stopped at cleanup).
func listen(t *testing.T, s *Server) (string, *http.Server) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: s.Handler(), ConnState: s.ConnState, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() {
		_ = hs.Close()
		_ = s.Close()
	})
	return "http://" + ln.Addr().String(), hs
}

func newDrainServer(t *testing.T, p *echo, delay time.Duration) (*Server, string, *http.Server) {
	t.Helper()
	reg := prometheus.NewRegistry()
	s, err := New(Options{Name: "m", Version: "1", Registerer: reg, Gatherer: reg, Timeout: 10 * time.Second,
		MaxConcurrency: 4, DrainDelay: delay})
	if err != nil {
		t.Fatal(err)
	}
	s.Install(&Model{Meta: &pkgformat.Model{}, Predictor: p, Flavor: "fake"})
	url, hs := listen(t, s)
	return s, url, hs
}

type answer struct {
	status int
	body   string
	close  bool // the server asked to close the connection
	err    error
}

func do(c *http.Client, method, url, body string) answer {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return answer{err: err}
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		return answer{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, body: string(b), close: resp.Close, err: err}
}

func TestDrainFailsReadinessWhileServingInFlightAndNewRequests(t *testing.T) {
	p := &echo{gate: make(chan struct{}), entered: make(chan struct{}, 4)}
	s, url, hs := newDrainServer(t, p, 400*time.Millisecond)
	c := &http.Client{Timeout: 10 * time.Second}
	if a := do(c, "GET", url+"/ping", ""); a.status != 200 {
		t.Fatalf("ping before drain: %+v", a)
	}

	inflight := make(chan answer, 2)
	go func() { inflight <- do(c, "POST", url+"/invocations", `{"inputs": [1]}`) }()
	<-p.entered

	shutdownStart := time.Now()
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		done <- s.Shutdown(ctx, hs)
	}()
	for !s.Draining() {
		time.Sleep(time.Millisecond)
	}

	// readiness fails at once, in MLflow's error format; liveness does not
	for _, path := range []string{"/ping", "/health", "/v2/health/ready", "/v2/models/m/ready", "/v2/models/m/versions/1/ready"} {
		a := do(c, "GET", url+path, "")
		if a.err != nil || a.status != http.StatusServiceUnavailable {
			t.Fatalf("%s while draining: %+v, want 503", path, a)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(a.body), &m); err != nil || m["error_code"] != "TEMPORARILY_UNAVAILABLE" || m["message"] == "" {
			t.Fatalf("%s while draining: body %s", path, a.body)
		}
		if !a.close {
			t.Errorf("%s while draining: no Connection: close", path)
		}
	}
	if a := do(c, "GET", url+"/v2/health/live", ""); a.status != 200 {
		t.Fatalf("live while draining: %+v", a)
	}

	// a new request during the drain window is accepted and served
	go func() { inflight <- do(c, "POST", url+"/invocations", `{"inputs": [2]}`) }()
	<-p.entered
	// past the drain delay the listener closes while both still run
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		a := do(&http.Client{Timeout: time.Second}, "GET", url+"/v2/health/live", "")
		if listenerGone(a.err) {
			break
		}
		if a.err != nil || a.status != 200 || time.Now().After(deadline) {
			t.Fatalf("before the listener closed: %+v", a)
		}
	}
	if took := time.Since(shutdownStart); took < 400*time.Millisecond {
		t.Fatalf("the listener closed after %v, before the drain delay", took)
	}
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned (%v) with two requests in flight", err)
	default:
	}
	p.gate <- struct{}{}
	p.gate <- struct{}{}
	for range 2 {
		if a := <-inflight; a.err != nil || a.status != 200 {
			t.Fatalf("in-flight request: %+v", a)
		}
	}
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if took := time.Since(shutdownStart); took < 400*time.Millisecond {
		t.Fatalf("Shutdown took %v, less than the drain delay", took)
	}
}

func refused(err error) bool {
	return err != nil && errors.Is(err, syscall.ECONNREFUSED)
}

// listenerGone reports a fresh connection that met a closed listener: refused,
// or reset (or cut) when the kernel had queued it just before the close.
func listenerGone(err error) bool {
	return refused(err) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

func TestShutdownIsBoundedByItsContext(t *testing.T) {
	p := &echo{gate: make(chan struct{}), entered: make(chan struct{}, 1)}
	defer close(p.gate)
	s, url, hs := newDrainServer(t, p, time.Hour)
	go func() { _ = do(&http.Client{}, "POST", url+"/invocations", `{"inputs": [1]}`) }()
	<-p.entered
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := s.Shutdown(ctx, hs)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown with a stuck request and an hour's delay: %v, want the deadline", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("Shutdown took %v past its 300ms bound", took)
	}
}

// Under steady load from keep-alive clients that stop sending once a
// readiness probe fails (as a load balancer does), a drain loses nothing:
// every request sent gets 200, none is refused or cut.
func TestDrainUnderLoadBehindABalancerLosesNothing(t *testing.T) {
	p := &echo{}
	s, url, hs := newDrainServer(t, p, time.Second)
	var routing sync.WaitGroup
	stop := make(chan struct{})
	routing.Add(1)
	go func() { // the balancer's probe
		defer routing.Done()
		c := &http.Client{Timeout: time.Second}
		for {
			if a := do(c, "GET", url+"/ping", ""); a.status == http.StatusServiceUnavailable {
				close(stop)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	res := load(url, 8, stop)
	time.Sleep(150 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	t0 := time.Now()
	if err := s.Shutdown(ctx, hs); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	t.Logf("shutdown took %v", time.Since(t0))
	routing.Wait()
	r := res()
	if r.ok == 0 || len(r.failed) > 0 || r.refused > 0 {
		t.Fatalf("ok %d, refused %d, failed %q", r.ok, r.refused, r.failed[:min(len(r.failed), 3)])
	}
	if n := p.calls.Load(); n != int64(r.ok) {
		t.Fatalf("the model ran %d predictions but clients got %d answers", n, r.ok)
	}
}

// Clients that ignore readiness and keep dialling until refused: every
// request the server accepted (its handler ran) still gets its 200.
// Connections still in the kernel's accept queue when the listener closes
// are reset without being accepted; they are not counted as lost.
func TestDrainUnderLoadAnswersEveryAcceptedRequest(t *testing.T) {
	p := &echo{}
	s, url, hs := newDrainServer(t, p, 200*time.Millisecond)
	stop := make(chan struct{})
	res := load(url, 8, stop)
	time.Sleep(150 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx, hs); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	close(stop)
	r := res()
	if n := p.calls.Load(); r.ok == 0 || n != int64(r.ok) {
		t.Fatalf("the model ran %d predictions but clients got %d answers (refused %d, failed %q)",
			n, r.ok, r.refused, r.failed[:min(len(r.failed), 3)])
	}
	for _, f := range r.failed {
		if strings.HasPrefix(f, "status") {
			t.Fatalf("a request got an error answer during the drain: %s", f)
		}
	}
}

type loadResult struct {
	ok, refused int
	failed      []string
}

// load runs n keep-alive clients posting to /invocations until stop is
// closed or their connection is refused; the returned function waits for
// them and tallies the answers.
func load(url string, n int, stop chan struct{}) func() loadResult {
	var (
		mu sync.Mutex
		r  loadResult
		wg sync.WaitGroup
	)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &http.Client{Timeout: 5 * time.Second}
			for {
				select {
				case <-stop:
					return
				default:
				}
				a := do(c, "POST", url+"/invocations", `{"inputs": [[1.0, 2.0]]}`)
				mu.Lock()
				switch {
				case a.err == nil && a.status == 200:
					r.ok++
				case refused(a.err):
					r.refused++
				case a.err == nil:
					r.failed = append(r.failed, "status "+a.body)
				default:
					r.failed = append(r.failed, a.err.Error())
				}
				mu.Unlock()
				if a.err != nil {
					return
				}
			}
		}()
	}
	return func() loadResult {
		wg.Wait()
		return r
	}
}

// TestDrainClosesConnectionsWithoutRequest: a connection opened ahead of
// need (as load balancers do) does not hold the drain for the 5 s
// http.Server gives such connections; a request in flight still finishes.
func TestDrainClosesConnectionsWithoutRequest(t *testing.T) {
	p := &echo{gate: make(chan struct{}), entered: make(chan struct{}, 1)}
	s, url, hs := newDrainServer(t, p, 0)
	idle, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	inflight := make(chan answer, 1)
	go func() {
		inflight <- do(&http.Client{Timeout: 10 * time.Second}, "POST", url+"/invocations", `{"inputs": [1]}`)
	}()
	<-p.entered
	time.AfterFunc(200*time.Millisecond, func() { close(p.gate) })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	if err := s.Shutdown(ctx, hs); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("drain took %v with a connection that sent nothing", took)
	}
	if a := <-inflight; a.err != nil || a.status != 200 {
		t.Fatalf("request in flight during the drain: %+v", a)
	}
	_ = idle.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := idle.Read(make([]byte, 1)); !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("the connection without a request: read %v, want it closed", err)
	}
}
