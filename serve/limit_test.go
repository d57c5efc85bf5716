package serve

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mlgate/mlgate/flavors"
)

func TestLimiterTarget(t *testing.T) {
	l := newLimiter(make(chan struct{}, 4))
	for _, c := range []struct {
		running float64
		want    int
	}{{0, 1}, {0.5, 1}, {0.8, 1}, {0.81, 2}, {1.6, 2}, {1.61, 3}, {3.3, 4}, {40, 4}} {
		if got := l.target(c.running); got != c.want {
			t.Errorf("target(%v) = %d, want %d", c.running, got, c.want)
		}
	}
}

// adjust lowers the limit by holding free slots, never waiting for a busy
// one, and raises it by handing them back; acquiring a slot is then
// limited accordingly.
func TestLimiterAdjust(t *testing.T) {
	slots := make(chan struct{}, 4)
	l := newLimiter(slots)
	period := 100 * time.Millisecond

	l.adjust(period) // idle: down to one
	if got := l.limit.Load(); got != 1 || len(slots) != 3 {
		t.Fatalf("idle limit %d with %d slots held, want 1 and 3", got, len(slots))
	}
	slots <- struct{}{} // a prediction takes the one slot
	select {
	case slots <- struct{}{}:
		t.Fatal("a second prediction got a slot at limit 1")
	default:
	}

	l.busy.Add(int64(period)) // one prediction busy all period: 100% used
	l.adjust(period)
	if got := l.limit.Load(); got != 2 {
		t.Fatalf("limit %d after a saturated period, want 2", got)
	}
	slots <- struct{}{} // the second prediction now runs
	l.busy.Add(int64(3 * period))
	l.adjust(period) // three running on average: up to the cap
	if got := l.limit.Load(); got != 4 || l.reserved != 0 {
		t.Fatalf("limit %d (reserved %d), want 4 (0)", got, l.reserved)
	}

	slots <- struct{}{}
	slots <- struct{}{} // four predictions run: nothing free to hold
	done := make(chan struct{})
	go func() { l.adjust(period); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("adjust waited for a busy slot")
	}
	if got := l.limit.Load(); got != 4 {
		t.Fatalf("limit %d with every slot busy, want 4 until they free", got)
	}
	<-slots
	<-slots
	<-slots // three end
	l.adjust(period)
	if got := l.limit.Load(); got != 1 || len(slots) != 4 {
		t.Fatalf("limit %d with %d tokens, want 1 and 4 (one running, three held)", got, len(slots))
	}
}

// With the default MaxConcurrency the server adapts its limit: trivially
// fast predictions at low load need one slot; predictions that are busy
// all the time get every core. /metrics shows the limit.
func TestAdaptiveConcurrencyFollowsLoad(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	p := &echo{}
	s, ts := newTestServer(t, p, nil, nil)
	if s.limit == nil || cap(s.slots) != 4 {
		t.Fatalf("default MaxConcurrency: limiter %v, %d slots; want adaptive over 4", s.limit, cap(s.slots))
	}
	for range 20 {
		if status, _, _ := post(t, ts.URL+"/invocations", "application/json", `{"inputs": [1]}`); status != 200 {
			t.Fatalf("status %d", status)
		}
	}
	waitLimit(t, s, 1)
	if _, body := get(t, ts.URL+"/metrics"); !strings.Contains(body, "mlgate_serve_concurrency_limit 1\n") {
		t.Errorf("/metrics lacks the limit of 1:\n%s", grepLines(body, "concurrency"))
	}

	// four senders of 20 ms predictions keep four slots busy: the limit
	// grows to the cap
	s.Install(&Model{Predictor: &sleeper{d: 20 * time.Millisecond}, Flavor: "fake"})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				post(t, ts.URL+"/invocations", "application/json", `{"inputs": [1]}`)
			}
		})
	}
	waitLimit(t, s, 4)
	close(stop)
	wg.Wait()
}

// A fixed MaxConcurrency is not adapted.
func TestFixedConcurrency(t *testing.T) {
	s, ts := newTestServer(t, &echo{}, nil, func(o *Options) { o.MaxConcurrency = 3 })
	if s.limit != nil {
		t.Fatal("a fixed MaxConcurrency got a limiter")
	}
	if _, body := get(t, ts.URL+"/metrics"); !strings.Contains(body, "mlgate_serve_concurrency_limit 3\n") {
		t.Errorf("/metrics lacks the fixed limit 3:\n%s", grepLines(body, "concurrency"))
	}
}

// sleeper answers as echo does after d.
type sleeper struct {
	echo
	d time.Duration
}

func (p *sleeper) Predict(ctx context.Context, in *flavors.Input) (*flavors.Output, error) {
	time.Sleep(p.d)
	return p.echo.Predict(ctx, in)
}

func waitLimit(t *testing.T, s *Server, want int64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for s.limit.limit.Load() != want {
		if time.Now().After(deadline) {
			t.Fatalf("limit %d, want %d", s.limit.limit.Load(), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// Worker processes beyond the cores raise the adaptive cap: MLflow's
// --workers N serves N requests at once.
func TestAdaptiveCapCoversWorkers(t *testing.T) {
	s, _ := newTestServer(t, &echo{}, nil, func(o *Options) { o.Load.Workers = runtime.GOMAXPROCS(0) + 3 })
	if cap(s.slots) != runtime.GOMAXPROCS(0)+3 || s.limit == nil {
		t.Fatalf("%d slots (limiter %v), want %d adaptive", cap(s.slots), s.limit, runtime.GOMAXPROCS(0)+3)
	}
}

// A prediction still running at a tick counts as busy for the whole
// period: one long prediction raises the limit while it runs instead of
// holding the only slot until it ends. When it ends, only its time since
// the last tick is added.
func TestLimiterCountsRunningPredictions(t *testing.T) {
	slots := make(chan struct{}, 4)
	l := newLimiter(slots)
	period := 100 * time.Millisecond
	l.adjust(period) // idle: down to one
	if got := l.limit.Load(); got != 1 {
		t.Fatalf("idle limit %d, want 1", got)
	}
	slots <- struct{}{} // a long prediction takes the one slot
	start := time.Now()
	l.begin()
	l.adjust(period)
	if got := l.limit.Load(); got != 2 {
		t.Fatalf("limit %d with a prediction running all period, want 2", got)
	}
	time.Sleep(10 * time.Millisecond)
	l.end(start, time.Now())
	<-slots
	if b := time.Duration(l.busy.Load()); b <= 0 || b > time.Since(start) {
		t.Fatalf("busy %s after the tick, want the part after it only (≤ %s)", b, time.Since(start))
	}
	l.adjust(period)
	l.adjust(period)
	if got := l.limit.Load(); got != 1 {
		t.Fatalf("limit %d after it ended, want back to 1", got)
	}
}

// A prediction that outlives the request's deadline is stopped there (the
// predictor sees the deadline) and frees its slot; requests that come
// meanwhile are answered, not queued behind it until they time out.
func TestSlowPredictionDoesNotStarveOthers(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	p := &stuck{}
	s, ts := newTestServer(t, p, nil, func(o *Options) { o.Timeout = time.Second })
	if s.limit == nil {
		t.Fatal("no adaptive limiter")
	}
	waitLimit(t, s, 1)
	slow := make(chan int, 1)
	began := time.Now()
	go func() {
		status, _, _ := post(t, ts.URL+"/invocations", "application/json", `{"inputs": [1]}`)
		slow <- status
	}()
	waitFor(t, "the slow prediction to start", func() bool { return p.running.Load() == 1 })
	status, _, _ := post(t, ts.URL+"/invocations", "application/json", `{"inputs": [2]}`)
	if took := time.Since(began); status != http.StatusOK || took > 900*time.Millisecond {
		t.Fatalf("a fast request while the slow one ran: status %d after %s, want 200 before the slow one's deadline", status, took)
	}
	select {
	case st := <-slow:
		if st != http.StatusGatewayTimeout {
			t.Fatalf("the slow request: status %d, want 504", st)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the slow request was not answered")
	}
	waitFor(t, "the slow prediction to stop at its deadline", func() bool { return p.running.Load() == 0 })
}

// stuck answers as echo does, except that a request whose first value is
// 1 runs until its context ends.
type stuck struct{ echo }

func (p *stuck) Predict(ctx context.Context, in *flavors.Input) (*flavors.Output, error) {
	if in.Tensor != nil && reflect.ValueOf(in.Tensor.Data).Len() > 0 && fmt.Sprint(reflect.ValueOf(in.Tensor.Data).Index(0)) == "1" {
		p.running.Add(1)
		defer p.running.Add(-1)
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return p.echo.Predict(ctx, in)
}
