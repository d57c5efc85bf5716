package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mlgate/mlgate/bench"
)

// The soak (`make soak`, benchrun -soak): mlgate models serve with an ONNX
// model and a python_function model, and mlgate server with the tracking
// mix of issue 20, all at once at soakLoad of the capacity measured first
// (all loads together, closed loop), open loop for SOAK_DURATION, with the
// latency and errors of every minute and the servers' memory, open files
// and goroutines sampled over time.
const (
	soakLoad      = 0.7
	soakEvery     = 10 * time.Second
	soakInFlight  = 64
	soakCapacity  = 20 * time.Second
	soakQuickTime = 40 * time.Second
	// soakPrefill runs are written before capacity is measured.
	soakPrefill = 8 * bench.MixPage
)

// soakServer is one server under soak.
type soakServer struct {
	name    string
	proc    *bench.Proc
	port    int
	samples []soakSample
}

// soakSample is one reading of a server's resources.
type soakSample struct {
	at         time.Duration // since the soak started
	rss        uint64        // summed VmRSS of its processes
	fds        int           // open files of its processes
	goroutines int           // go_goroutines of its /metrics (-1: unknown)
}

// soakOp is one load the soak sends.
type soakOp struct {
	name     string
	server   *soakServer
	op       bench.Op
	conc     int            // closed-loop senders when measuring capacity
	capacity float64        // req/s measured
	minutes  []bench.Result // one per minute
}

type soakReport struct {
	started  time.Time
	duration time.Duration
	servers  []*soakServer
	ops      []*soakOp
	machine  [2]bench.Machine
	elapsed  time.Duration
}

func soakDuration(quick bool) (time.Duration, error) {
	if v := os.Getenv("SOAK_DURATION"); v != "" {
		return time.ParseDuration(v)
	}
	if quick {
		return soakQuickTime, nil
	}
	return 30 * time.Minute, nil
}

// runSoak runs the soak and writes its report; it returns the exit code.
func runSoak(ctx context.Context, log *slog.Logger, cfg *config) int {
	dur, err := soakDuration(cfg.quick)
	if err != nil {
		log.Error("SOAK_DURATION", "err", err)
		return 2
	}
	rep := &soakReport{started: time.Now(), duration: dur}
	rep.machine[0] = bench.DescribeMachine()
	ms, err := buildModels(ctx, log, cfg, []string{"linear", "sklearn_pipeline"})
	if err != nil {
		log.Error("models", "err", err)
		return 1
	}
	defer func() {
		for _, s := range rep.servers {
			s.proc.Stop(15 * time.Second)
		}
	}()
	start := func(name string, args []string, probe func(base string) bench.Op) (*soakServer, error) {
		port, err := bench.FreePort()
		if err != nil {
			return nil, err
		}
		args = append(args, "--host", "127.0.0.1", "--port", strconv.Itoa(port))
		p, err := bench.Start("soak-"+strings.ReplaceAll(name, " ", "-"), cfg.work, pythonEnv(cfg.python), cfg.work, cfg.mlgate, args...)
		if err != nil {
			return nil, err
		}
		s := &soakServer{name: name, proc: p, port: port}
		rep.servers = append(rep.servers, s)
		if _, err := p.WaitReady(ctx, cfg.startTimeout, probe(fmt.Sprintf("http://127.0.0.1:%d", port))); err != nil {
			return nil, fmt.Errorf("%s: %w: %s", name, err, p.LogTail(800))
		}
		return s, nil
	}
	client := bench.NewClient(4*soakInFlight, 60*time.Second)
	defer client.CloseIdleConnections()
	predict := func(m *model) func(string) bench.Op {
		return func(base string) bench.Op {
			return bench.HTTPOp(client, &bench.Request{URL: base + "/invocations", ContentType: "application/json", Body: m.Body, Check: hasKey("predictions")})
		}
	}
	onnx, err := start("models serve (onnx linear)", []string{"models", "serve", "-m", ms["linear"].Dir}, predict(ms["linear"]))
	if err != nil {
		log.Error("start", "err", err)
		return 1
	}
	pyf, err := start("models serve (python_function sklearn_pipeline, 2 workers)", []string{"models", "serve", "-m", ms["sklearn_pipeline"].Dir,
		"--workers", "2", "--env-manager", "local"}, predict(ms["sklearn_pipeline"]))
	if err != nil {
		log.Error("start", "err", err)
		return 1
	}
	mix := &bench.TrackingMix{Client: client}
	trk, err := start("server (SQLite)", []string{"server", "--backend-store-uri", "sqlite:///" + filepath.Join(cfg.work, "soak.db"),
		"--default-artifact-root", filepath.Join(cfg.work, "soak-artifacts")}, func(base string) bench.Op {
		return func(ctx context.Context) error {
			a := &api{base: base, c: client}
			id, err := a.createExperiment(ctx, "soak")
			if err == nil {
				mix.Base, mix.Exp = base, id
			}
			return err
		}
	})
	if err != nil {
		log.Error("start", "err", err)
		return 1
	}
	rep.ops = []*soakOp{
		{name: "onnx /invocations", server: onnx, op: predict(ms["linear"])(fmt.Sprintf("http://127.0.0.1:%d", onnx.port)), conc: 8},
		{name: "python_function /invocations", server: pyf, op: predict(ms["sklearn_pipeline"])(fmt.Sprintf("http://127.0.0.1:%d", pyf.port)), conc: 4},
		{name: "tracking write (create, log-batch 50 metrics + 5 params, finish)", server: trk, op: mix.Write, conc: bench.MixWriters},
		{name: "tracking runs/search", server: trk, op: mix.Search, conc: 2},
	}
	// Runs for the searchers to find: enough that a search fills its page
	// (1 run in MixWriters matches the tag), so the capacity measured
	// below is that of full pages.
	pre := bench.Closed(ctx, mix.Write, bench.MixWriters, bench.Bounds{Duration: 5 * time.Minute, MaxRequests: soakPrefill})
	if pre.Errors > 0 || pre.Hist().Count() == 0 {
		log.Error("prefill", "errors", pre.Errors, "first", pre.FirstError)
		return 1
	}
	log.Info("prefilled the tracking store", "runs", pre.Hist().Count(), "took", pre.Duration.Round(time.Millisecond))
	capTime := soakCapacity
	if cfg.quick {
		capTime = 3 * time.Second
	}
	all(rep.ops, func(o *soakOp) {
		r := bench.Closed(ctx, o.op, o.conc, bench.Bounds{Duration: capTime})
		o.capacity = r.Throughput
	})
	for _, o := range rep.ops {
		log.Info("capacity (all loads at once)", "op", o.name, "req_per_s", fmt.Sprintf("%.1f", o.capacity), "soak_rate", fmt.Sprintf("%.1f", soakLoad*o.capacity))
		if o.capacity <= 0 {
			log.Error("no capacity measured", "op", o.name)
			return 1
		}
	}
	rep.soak(ctx, log)
	rep.machine[1] = bench.DescribeMachine()
	rep.elapsed = time.Since(rep.started)
	out := filepath.Join(cfg.out, "benchmarks-raw", "soak.md")
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		log.Error("report", "err", err)
		return 1
	}
	md := rep.markdown(cfg)
	if err := os.WriteFile(out, []byte(md), 0o644); err != nil {
		log.Error("report", "err", err)
		return 1
	}
	fmt.Print(md)
	log.Info("soak report written", "path", out)
	if rep.errors() > 0 {
		return 1
	}
	return 0
}

// all runs fn for every op at once and waits.
func all(ops []*soakOp, fn func(o *soakOp)) {
	var wg sync.WaitGroup
	for _, o := range ops {
		wg.Go(func() { fn(o) })
	}
	wg.Wait()
}

// soak sends every load open loop, minute by minute, while sampling the
// servers.
func (rep *soakReport) soak(ctx context.Context, log *slog.Logger) {
	t0 := time.Now()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(soakEvery)
		defer t.Stop()
		for {
			for _, s := range rep.servers {
				s.samples = append(s.samples, sample(s, time.Since(t0)))
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	})
	for left := rep.duration; left > 0 && ctx.Err() == nil; left -= time.Minute {
		slice := min(left, time.Minute)
		all(rep.ops, func(o *soakOp) {
			o.minutes = append(o.minutes, bench.Open(ctx, o.op, soakLoad*o.capacity, soakInFlight, bench.Bounds{Duration: slice}))
		})
		for _, o := range rep.ops {
			r := o.minutes[len(o.minutes)-1]
			log.Info("soak minute", "minute", len(o.minutes), "op", o.name, "ok_per_s", fmt.Sprintf("%.1f", r.Throughput),
				"p99_ms", bench.Ms(r.Latency.P99), "errors", r.Errors, "missed", r.Missed)
		}
	}
	close(stop)
	wg.Wait()
	for _, s := range rep.servers {
		s.samples = append(s.samples, sample(s, time.Since(t0)))
	}
}

// sample reads a server's resident memory, open files and goroutines.
func sample(s *soakServer, at time.Duration) soakSample {
	x := soakSample{at: at, goroutines: -1}
	if m, err := bench.GroupMemory(s.proc.Cmd.Process.Pid); err == nil {
		x.rss = m.RSS
	}
	if fds, err := bench.GroupOpenFiles(s.proc.Cmd.Process.Pid); err == nil {
		x.fds = fds
	}
	c := &http.Client{Timeout: 5 * time.Second}
	if resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", s.port)); err == nil {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
		_ = resp.Body.Close()
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "go_goroutines "); ok {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					x.goroutines = int(f)
				}
			}
		}
	}
	return x
}

func (rep *soakReport) errors() uint64 {
	var n uint64
	for _, o := range rep.ops {
		for _, r := range o.minutes {
			n += r.Errors
		}
	}
	return n
}
