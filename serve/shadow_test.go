package serve

import (
	"net"
	"strings"
	"testing"
	"time"
)

// stall opens a request to url whose body never arrives, so that the
// server counts it as a caller in flight until the connection closes.
func stall(t *testing.T, url string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	if _, err := conn.Write([]byte("POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"inputs\": [")); err != nil {
		t.Fatal(err)
	}
	return conn
}

// shadowServer serves echo version 1 mirroring every answer to canary
// version 2, with room for two predictions at once (mirrors run while
// fewer than two callers are in flight).
func shadowServer(t *testing.T, canary *echo) (*Server, string) {
	t.Helper()
	s, ts := newTestServer(t, nil, nil, func(o *Options) { o.MaxConcurrency, o.ShadowQueue = 2, 100 })
	s.Install(&Model{Predictor: &echo{}, Flavor: "fake", Version: "1"})
	if err := s.InstallCanary(&Model{Predictor: canary, Flavor: "fake", Version: "2"}, 0); err != nil {
		t.Fatal(err)
	}
	return s, ts.URL
}

func canaryStats(t *testing.T, s *Server) VersionStats {
	t.Helper()
	st, err := s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	return st.Versions["2"]
}

func predictOK(t *testing.T, url string) {
	t.Helper()
	if status, body, _ := post(t, url+"/invocations", "application/json", `{"inputs": [1]}`); status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
}

// While as many callers are in flight as the server runs predictions at
// once, one mirror waits for a quieter moment (and is dropped when none
// comes in time), the others are dropped at once; all are counted as
// busy; the callers are answered; once the server is quiet again every
// mirror runs.
func TestShadowYieldsToCallers(t *testing.T) {
	s, url := shadowServer(t, &echo{})
	s.shadow.maxWait = 20 * time.Millisecond
	if err := s.SetShadow(100); err != nil {
		t.Fatal(err)
	}
	a, b := stall(t, url), stall(t, url)
	waitFor(t, "two callers in flight", func() bool { return s.shadow.callers.Load() == 2 })
	for range 5 {
		predictOK(t, url)
	}
	waitFor(t, "5 mirrors dropped", func() bool { return canaryStats(t, s).ShadowDropped == 5 })
	if v := canaryStats(t, s); v.ShadowRequests != 0 {
		t.Fatalf("busy server: canary figures %+v, want 5 mirrors dropped, none run", v)
	}
	_ = a.Close()
	_ = b.Close()
	waitFor(t, "no caller in flight", func() bool { return s.shadow.callers.Load() == 0 })
	for range 5 {
		predictOK(t, url)
	}
	waitFor(t, "the mirrors", func() bool { return canaryStats(t, s).ShadowRequests == 5 })
	_, metrics := get(t, url+"/metrics")
	if line := `mlgate_serve_shadow_dropped_total{model="m",reason="busy",version="2"} 5`; !strings.Contains(metrics, line) {
		t.Errorf("no %s in\n%s", line, grepLines(metrics, "shadow"))
	}
	if v := canaryStats(t, s); v.ShadowDropped != 5 {
		t.Errorf("quiet server: canary figures %+v, want no more drops", v)
	}
}

// A queued mirror that finds the server busy waits for a caller to leave
// and then runs; when none leaves within its wait it is dropped as busy.
func TestShadowQueuedMirrorWaitsForSpareCapacity(t *testing.T) {
	canary := &echo{gate: make(chan struct{}), entered: make(chan struct{}, 16)}
	s, url := shadowServer(t, canary)
	s.shadow.maxWait = time.Minute
	if err := s.SetShadow(100); err != nil {
		t.Fatal(err)
	}
	predictOK(t, url)
	<-canary.entered  // the worker holds the first mirror
	predictOK(t, url) // the second waits in the queue
	first := stall(t, url)
	stall(t, url)
	waitFor(t, "two callers in flight", func() bool { return s.shadow.callers.Load() == 2 })
	canary.gate <- struct{}{}
	waitFor(t, "the worker to wait for spare capacity", s.shadow.waiting.Load)
	time.Sleep(50 * time.Millisecond)
	if v := canaryStats(t, s); v.ShadowRequests != 1 || v.ShadowDropped != 0 {
		t.Fatalf("canary figures %+v while the server is busy, want the first mirror only", v)
	}
	_ = first.Close() // one caller leaves: the queued mirror runs
	<-canary.entered
	canary.gate <- struct{}{}
	waitFor(t, "the second mirror", func() bool { return canaryStats(t, s).ShadowRequests == 2 })

	// one caller in flight: the third mirror runs once its caller leaves
	// and is held; the fourth is queued, then a second caller comes and
	// the fourth's wait runs out
	predictOK(t, url)
	<-canary.entered
	predictOK(t, url)
	stall(t, url)
	waitFor(t, "two callers in flight", func() bool { return s.shadow.callers.Load() == 2 })
	s.shadow.maxWait = 20 * time.Millisecond // read by the worker after it takes the gate
	canary.gate <- struct{}{}
	waitFor(t, "the fourth mirror dropped", func() bool { return canaryStats(t, s).ShadowDropped == 1 })
	if v := canaryStats(t, s); v.ShadowRequests != 3 {
		t.Errorf("canary figures %+v, want 3 mirrors run", v)
	}
}

// A saturated server runs mirrors on a budget that the callers'
// predictions earn: once a long mirror has spent it, mirrors are dropped
// as busy even when a caller finds spare capacity, until the callers have
// earned it back.
func TestShadowBudgetAtSaturation(t *testing.T) {
	canary := &echo{gate: make(chan struct{}), entered: make(chan struct{}, 16)}
	s, url := shadowServer(t, canary)
	if err := s.SetShadow(100); err != nil {
		t.Fatal(err)
	}
	// as if most recent callers had found the server full
	s.shadow.adm.busy.Store(busyScale)
	s.shadow.adm.lastAt.Store(time.Now().UnixNano())
	s.shadow.adm.credit.Store(1)
	predictOK(t, url)
	<-canary.entered
	time.Sleep(2 * mirrorCreditCap) // the mirror outspends the budget
	canary.gate <- struct{}{}
	waitFor(t, "the first mirror", func() bool { return canaryStats(t, s).ShadowRequests == 1 })
	for i := range 5 {
		if !s.shadow.adm.saturated() {
			t.Fatalf("not saturated any more after %d callers", i+1)
		}
		predictOK(t, url)
		waitFor(t, "the mirror dropped", func() bool { return canaryStats(t, s).ShadowDropped == uint64(i+1) })
	}
	if v := canaryStats(t, s); v.ShadowRequests != 1 {
		t.Fatalf("canary figures %+v with the budget spent, want 1 mirror run", v)
	}
	s.shadow.adm.earn(time.Duration(float64(2*mirrorCreditCap) / mirrorShare)) // the callers earn it back
	predictOK(t, url)
	<-canary.entered
	canary.gate <- struct{}{}
	waitFor(t, "the second mirror", func() bool { return canaryStats(t, s).ShadowRequests == 2 })
	if v := canaryStats(t, s); v.ShadowDropped != 5 {
		t.Errorf("canary figures %+v, want 5 mirrors dropped", v)
	}
}
