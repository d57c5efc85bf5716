package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Request is one HTTP request the load generator repeats.
type Request struct {
	Method      string
	URL         string
	ContentType string
	Body        []byte
	// Header is added to every request as it is (shared, so never
	// changed after use).
	Header http.Header
	// Check, when set, inspects a 2xx answer's body; an error counts as a
	// failed request.
	Check func(body []byte) error
}

// Do sends r once with c and returns an error for a transport failure, a
// non-2xx status or a failed Check.
func (r *Request) Do(ctx context.Context, c *http.Client) error {
	method := r.Method
	if method == "" {
		method = http.MethodPost
	}
	var body io.Reader
	if r.Body != nil {
		body = bytes.NewReader(r.Body)
	}
	req, err := http.NewRequestWithContext(ctx, method, r.URL, body)
	if err != nil {
		return err
	}
	if r.ContentType != "" {
		req.Header.Set("Content-Type", r.ContentType)
	}
	for k, v := range r.Header {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		if len(b) > 200 {
			b = b[:200]
		}
		return fmt.Errorf("status %d: %s", resp.StatusCode, bytes.TrimSpace(b))
	}
	if r.Check != nil {
		return r.Check(b)
	}
	return nil
}

// Op is one unit of work the load loops time: an HTTP request, or an
// in-process call (the compute floor).
type Op func(ctx context.Context) error

// HTTPOp returns an Op that sends r with c.
func HTTPOp(c *http.Client, r *Request) Op {
	return func(ctx context.Context) error { return r.Do(ctx, c) }
}

// NewClient returns an HTTP client for loopback load at the given
// concurrency: one kept-alive connection per concurrent sender, no proxy, and
// a per-request timeout.
func NewClient(concurrency int, timeout time.Duration) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         d.DialContext,
		MaxIdleConns:        concurrency + 8,
		MaxIdleConnsPerHost: concurrency + 8,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &http.Client{Transport: tr, Timeout: timeout}
}

// Result summarises one load run.
type Result struct {
	Mode        string        `json:"mode"` // "closed", "open" or "lockstep"
	Concurrency int           `json:"concurrency"`
	Rate        float64       `json:"rate,omitempty"` // open loop: intended requests per second
	Duration    time.Duration `json:"duration_ns"`
	Requests    uint64        `json:"requests"`
	Errors      uint64        `json:"errors"`
	FirstError  string        `json:"first_error,omitempty"`
	// Missed counts open-loop sends that were never made because the run's
	// time or count bound ended first (the server fell behind).
	Missed     uint64  `json:"missed,omitempty"`
	Throughput float64 `json:"throughput_rps"` // successful requests per second
	Latency    Summary `json:"latency"`
	// ServerCPU and ClientCPU are the CPU time the server's processes and
	// the load generator's process used during the run (0: not measured).
	ServerCPU time.Duration `json:"server_cpu_ns,omitempty"`
	ClientCPU time.Duration `json:"client_cpu_ns,omitempty"`
	// Curve is the latency at CurveQuantiles, for distribution charts.
	Curve []time.Duration `json:"curve_ns,omitempty"`
	hist  *Histogram
}

// PerRequest divides a CPU time of the run by the requests it made
// (errors included: they cost CPU too); 0 when either is unknown.
func (r *Result) PerRequest(cpu time.Duration) time.Duration {
	if r == nil || r.Requests == 0 {
		return 0
	}
	return cpu / time.Duration(r.Requests)
}

// CurveQuantiles are the quantiles Result.Curve holds.
var CurveQuantiles = []float64{0.5, 0.75, 0.9, 0.95, 0.99, 0.995, 0.999, 0.9999}

// Hist returns the latency histogram of successful requests.
func (r *Result) Hist() *Histogram { return r.hist }

// Summary is a latency distribution's key figures.
type Summary struct {
	P50  time.Duration `json:"p50_ns"`
	P90  time.Duration `json:"p90_ns"`
	P99  time.Duration `json:"p99_ns"`
	P999 time.Duration `json:"p999_ns"`
	Mean time.Duration `json:"mean_ns"`
	Max  time.Duration `json:"max_ns"`
}

// Summarize returns h's key figures.
func Summarize(h *Histogram) Summary {
	return Summary{
		P50: h.Quantile(0.50), P90: h.Quantile(0.90), P99: h.Quantile(0.99), P999: h.Quantile(0.999),
		Mean: h.Mean(), Max: h.Max(),
	}
}

// Bounds limits a load run: it stops at Duration or after MaxRequests
// requests, whichever comes first (MaxRequests 0: no count bound).
type Bounds struct {
	Duration    time.Duration
	MaxRequests uint64
}

// worker state shared by both loops.
type tally struct {
	mu       sync.Mutex
	hist     Histogram
	errs     uint64
	firstErr string
}

func (t *tally) add(h *Histogram, errs uint64, first string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.hist.Merge(h)
	t.errs += errs
	if t.firstErr == "" {
		t.firstErr = first
	}
}

func (t *tally) result(mode string, conc int, elapsed time.Duration) Result {
	r := Result{
		Mode: mode, Concurrency: conc, Duration: elapsed,
		Requests: t.hist.Count() + t.errs, Errors: t.errs, FirstError: t.firstErr,
		Latency: Summarize(&t.hist), hist: &t.hist,
	}
	if t.hist.Count() > 0 {
		for _, q := range CurveQuantiles {
			r.Curve = append(r.Curve, t.hist.Quantile(q))
		}
	}
	if elapsed > 0 {
		r.Throughput = float64(t.hist.Count()) / elapsed.Seconds()
	}
	return r
}

// Closed runs op from concurrency senders, each sending its next request as
// soon as the previous one answers, until b is reached or ctx ends. The
// bound stops new sends; requests in flight finish (each is bounded by its
// client's timeout), so a server slower than the bound still yields one
// answer per sender.
func Closed(ctx context.Context, op Op, concurrency int, b Bounds) Result {
	concurrency = max(concurrency, 1)
	deadline := time.Now().Add(b.Duration)
	var t tally
	var issued atomic.Uint64
	var wg sync.WaitGroup
	start := time.Now()
	for range concurrency {
		wg.Go(func() {
			var h Histogram
			var errs uint64
			var first string
			for ctx.Err() == nil && time.Now().Before(deadline) {
				if b.MaxRequests > 0 && issued.Add(1) > b.MaxRequests {
					break
				}
				t0 := time.Now()
				err := op(ctx)
				if err != nil {
					if ctx.Err() != nil {
						break // the run was cancelled mid-request
					}
					errs++
					if first == "" {
						first = err.Error()
					}
					continue
				}
				h.Record(time.Since(t0))
			}
			t.add(&h, errs, first)
		})
	}
	wg.Wait()
	return t.result("closed", concurrency, time.Since(start))
}

// Lockstep compares ops measured at the same moments: one sender sends a
// request to each op in turn, in a new random order every cycle, until b
// ends (b.MaxRequests bounds each op). A small shared machine's speed
// drifts by a fifth within 100 ms, which slices taken one after the other
// cannot cancel; requests a few hundred microseconds apart see the same
// speed. Each op's result is a closed loop at concurrency 1 on it alone:
// its Duration is the time its own requests took, and its throughput its
// answers over that time.
func Lockstep(ctx context.Context, ops []Op, b Bounds) []Result {
	deadline := time.Now().Add(b.Duration)
	hs := make([]Histogram, len(ops))
	busy := make([]time.Duration, len(ops))
	errs := make([]uint64, len(ops))
	first := make([]string, len(ops))
	order := make([]int, len(ops))
	for i := range order {
		order[i] = i
	}
	for n := uint64(0); ctx.Err() == nil && time.Now().Before(deadline); n++ {
		if b.MaxRequests > 0 && n >= b.MaxRequests {
			break
		}
		rand.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, i := range order {
			t0 := time.Now()
			err := ops[i](ctx)
			d := time.Since(t0)
			busy[i] += d
			switch {
			case err == nil:
				hs[i].Record(d)
			case ctx.Err() != nil:
			default:
				errs[i]++
				if first[i] == "" {
					first[i] = err.Error()
				}
			}
		}
	}
	out := make([]Result, len(ops))
	for i := range ops {
		var t tally
		t.add(&hs[i], errs[i], first[i])
		out[i] = t.result("lockstep", 1, busy[i])
	}
	return out
}

// Open sends requests at a fixed arrival rate (requests per second) from at
// most maxInFlight senders. Request i is due at start + i/rate and its
// latency is measured from that intended time, so a server that stalls is
// charged for the queueing it causes (no coordinated omission). Sends still
// due when b ends are counted as Missed.
func Open(ctx context.Context, op Op, rate float64, maxInFlight int, b Bounds) Result {
	maxInFlight = max(maxInFlight, 1)
	if rate <= 0 {
		rate = 1
	}
	total := uint64(rate * b.Duration.Seconds())
	if b.MaxRequests > 0 && total > b.MaxRequests {
		total = b.MaxRequests
	}
	interval := time.Duration(float64(time.Second) / rate)
	// Sends still due a grace period after the last due time are missed.
	deadline := time.Now().Add(b.Duration + min(2*time.Second, b.Duration/2))
	var t tally
	var next atomic.Uint64
	var missed atomic.Uint64
	var wg sync.WaitGroup
	start := time.Now()
	for range maxInFlight {
		wg.Go(func() {
			var h Histogram
			var errs uint64
			var first string
			for {
				i := next.Add(1) - 1
				if i >= total {
					break
				}
				due := start.Add(time.Duration(i) * interval)
				if d := time.Until(due); d > 0 {
					select {
					case <-time.After(d):
					case <-ctx.Done():
					}
				}
				if ctx.Err() != nil || time.Now().After(deadline) {
					missed.Add(1)
					continue
				}
				err := op(ctx)
				if err != nil {
					if ctx.Err() != nil {
						missed.Add(1)
						continue
					}
					errs++
					if first == "" {
						first = err.Error()
					}
					continue
				}
				h.Record(time.Since(due))
			}
			t.add(&h, errs, first)
		})
	}
	wg.Wait()
	r := t.result("open", maxInFlight, time.Since(start))
	r.Rate = rate
	r.Missed = missed.Load()
	return r
}

// Merge combines results of one mode and concurrency measured in slices
// (e.g. interleaved with another system's, so that both see the same
// machine) into one: requests, errors and durations add up, latencies
// merge, throughput is over the summed duration, CPU times add up.
func Merge(rs []Result) Result {
	if len(rs) == 0 {
		return Result{}
	}
	var t tally
	var d, server, client time.Duration
	var missed uint64
	for i := range rs {
		server += rs[i].ServerCPU
		client += rs[i].ClientCPU
		if h := rs[i].hist; h != nil {
			t.add(h, rs[i].Errors, rs[i].FirstError)
		} else {
			t.add(&Histogram{}, rs[i].Errors, rs[i].FirstError)
		}
		d += rs[i].Duration
		missed += rs[i].Missed
	}
	r := t.result(rs[0].Mode, rs[0].Concurrency, d)
	r.Rate, r.Missed = rs[0].Rate, missed
	r.ServerCPU, r.ClientCPU = server, client
	return r
}
