// Command benchrun is what `make bench` runs: it builds the benchmark models
// with interop/models.py, starts every system on loopback (mlgate's scoring
// and tracking servers, the real mlflow ones, Seldon MLServer, the HTTP and
// compute floors), drives load at them with package bench and writes
// docs/benchmarks.md with charts and raw JSON. With BENCH_QUICK=1 (or
// -quick) it is a smoke run: fewer systems and shorter runs, results in a
// temporary folder. It exits 1 when a system fails to start or answer.
// With -soak (`make soak`) it runs the soak of soak.go instead.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/mlgate/mlgate/bench"
)

// config is one run's settings.
type config struct {
	quick          bool
	mlgate         string // mlgate binary
	python         string // pinned venv python (mlflow 3.17.2)
	mlserver       string // mlserver executable ("" → create its venv)
	repo           string // repository root (interop/models.py, scripts/)
	work           string // scratch folder (models, logs, databases)
	out            string // where benchmarks.md goes
	point          time.Duration
	warm           time.Duration
	concs          []int
	rate           float64
	trackConcs     []int
	seedRuns       int
	seedBudget     time.Duration // longest seeding of the tracking store
	startTimeout   time.Duration
	onlySystems    map[string]bool // -only: keys to run (debugging)
	skipTracking   bool
	skipServing    bool
	skipImages     bool
	skipUI         bool
	baseImage      string // runtime base image layout (make image)
	maxReqPerPoint uint64
	shadowMirrors  []pointCounts // the shadow-on replica's mirrors at each point (shadow.go)
}

func main() {
	os.Exit(run())
}

func run() int {
	var cfg config
	var only string
	flag.StringVar(&cfg.mlgate, "mlgate", "bin/mlgate", "mlgate binary")
	flag.StringVar(&cfg.python, "python", "", "python of the pinned venv with mlflow 3.17.2 (required)")
	flag.StringVar(&cfg.mlserver, "mlserver", "", "mlserver executable (default: create the venv of bench/requirements-mlserver.txt)")
	flag.StringVar(&cfg.out, "out", "docs", "folder for benchmarks.md (quick runs write to a temporary folder instead)")
	flag.BoolVar(&cfg.quick, "quick", os.Getenv("BENCH_QUICK") == "1", "smoke run (also BENCH_QUICK=1)")
	flag.StringVar(&only, "only", "", "comma-separated system keys or model kinds to run (debugging)")
	flag.BoolVar(&cfg.skipTracking, "no-tracking", false, "skip the tracking server benchmarks")
	flag.BoolVar(&cfg.skipServing, "no-serving", false, "skip the serving benchmarks")
	flag.BoolVar(&cfg.skipImages, "no-images", false, "skip the image benchmarks")
	soak := flag.Bool("soak", false, "run the soak instead (make soak; SOAK_DURATION, default 30m) and write benchmarks-raw/soak.md under -out")
	flag.BoolVar(&cfg.skipUI, "no-ui", false, "skip the web UI benchmarks (headless chromium)")
	flag.StringVar(&cfg.baseImage, "base-image", "", "runtime base image layout for the image benchmarks (make image writes it)")
	var floorKind, floorAddr string
	flag.StringVar(&floorKind, "floor-serve", "", "internal: serve an HTTP floor (gin or nethttp) on -floor-addr until killed")
	flag.StringVar(&floorAddr, "floor-addr", "127.0.0.1:8199", "internal: address of -floor-serve")
	flag.Parse()
	if floorKind != "" {
		return serveFloor(floorKind, floorAddr)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if cfg.python == "" {
		log.Error("-python is required")
		return 2
	}
	var err error
	if cfg.repo, err = os.Getwd(); err != nil {
		log.Error("getwd", "err", err)
		return 1
	}
	for _, p := range []*string{&cfg.mlgate, &cfg.python} {
		if *p, err = filepath.Abs(*p); err != nil {
			log.Error("abs", "err", err)
			return 2
		}
	}
	if only != "" {
		cfg.onlySystems = map[string]bool{}
		for _, k := range strings.Split(only, ",") {
			cfg.onlySystems[strings.TrimSpace(k)] = true
		}
	}
	cfg.concs, cfg.trackConcs = []int{1, 16, 64}, []int{1, 16}
	cfg.point, cfg.warm, cfg.rate, cfg.seedRuns = 3*time.Second, time.Second, 200, 10000
	cfg.startTimeout, cfg.maxReqPerPoint, cfg.seedBudget = 300*time.Second, 2_000_000, 3*time.Minute
	if cfg.quick {
		cfg.concs, cfg.trackConcs = []int{1, 16}, []int{1}
		cfg.point, cfg.warm, cfg.rate, cfg.seedRuns, cfg.seedBudget = 600*time.Millisecond, 200*time.Millisecond, 50, 50, 30*time.Second
	}
	cfg.work, err = os.MkdirTemp("", "mlgate-bench-")
	if err != nil {
		log.Error("temp dir", "err", err)
		return 1
	}
	defer func() { _ = os.RemoveAll(cfg.work) }()
	if cfg.quick {
		// Smoke results never overwrite docs/: they go to a temporary
		// folder that is kept for inspection.
		if cfg.out, err = os.MkdirTemp("", "mlgate-bench-quick-"); err != nil {
			log.Error("temp dir", "err", err)
			return 1
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// Hard bound on the whole run, with slack for a loaded machine (the
	// aims are 3 minutes quick and 20 full).
	limit := 45 * time.Minute
	if cfg.quick {
		limit = 10 * time.Minute
	}
	if d, err := soakDuration(cfg.quick); *soak && err == nil {
		limit = d + 15*time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()

	if *soak {
		return runSoak(ctx, log, &cfg)
	}
	rep, failures := runAll(ctx, log, &cfg)
	if err := bench.Write(cfg.out, rep); err != nil {
		log.Error("write report", "err", err)
		return 1
	}
	log.Info("report written", "path", filepath.Join(cfg.out, "benchmarks.md"), "elapsed", rep.Elapsed.Round(time.Second))
	if cfg.quick {
		summary(os.Stdout, rep)
	}
	if len(failures) > 0 {
		for _, f := range failures {
			log.Error("system failed", "what", f)
		}
		return 1
	}
	return 0
}

// runAll runs every scenario and returns the report and the list of
// systems that failed to start or answer.
func runAll(ctx context.Context, log *slog.Logger, cfg *config) (*bench.Report, []string) {
	rep := &bench.Report{Started: time.Now(), Quick: cfg.quick, Machine: bench.DescribeMachine()}
	rep.Settings = settings(cfg)
	var failures []string
	fail := func(what string, err error) {
		log.Error("failed", "what", what, "err", err)
		failures = append(failures, fmt.Sprintf("%s: %s", what, firstLine(err.Error())))
	}
	models, err := buildModels(ctx, log, cfg, modelKinds(cfg))
	if err != nil {
		fail("models", err)
		rep.Elapsed = time.Since(rep.Started)
		return rep, failures
	}
	if !cfg.skipServing {
		runServing(ctx, log, cfg, models, rep, fail)
		runShadow(ctx, log, cfg, models, rep, fail)
		runPayloads(ctx, log, cfg, models, rep, fail)
	}
	if !cfg.skipTracking && cfg.want("tracking") {
		runTracking(ctx, log, cfg, rep, fail)
	}
	if !cfg.skipImages && cfg.want("images") {
		runImages(ctx, log, cfg, rep, fail)
	}
	var uiTargets []bench.Target
	if !cfg.skipUI && cfg.want("ui") {
		uiTargets = runUI(ctx, log, cfg, fail)
	}
	rep.Targets = append(targets(cfg, rep), uiTargets...)
	rep.Elapsed = time.Since(rep.Started)
	end := bench.DescribeMachine()
	rep.Notes = append(rep.Notes, fmt.Sprintf("Load average (1, 5, 15 min) at start %s, at the end %s, on %d CPUs. "+
		"A load above the CPU count means other work shared the machine during the run: absolute numbers are then "+
		"lower and noisier than on an idle machine, and the Python servers (many processes) suffer more than "+
		"single-process ones; ratios between systems measured minutes apart carry that noise too.",
		rep.Machine.LoadAvg, end.LoadAvg, rep.Machine.CPUs))
	return rep, failures
}

func (c *config) want(key string) bool {
	return c.onlySystems == nil || c.onlySystems[key]
}

func settings(cfg *config) []string {
	return []string{
		fmt.Sprintf("closed loop at concurrency %v for %s per point after a %s warm-up at concurrency 16 (not recorded); "+
			"open loop at %.0f requests/s for %s with up to 64 requests in flight", cfg.concs, cfg.point, cfg.warm, cfg.rate, cfg.point),
		"latency percentiles from a log-linear histogram (relative error < 0.8%); errors (transport, non-2xx, wrong body) counted and shown, never timed",
		"one kept-alive HTTP/1.1 connection per sender, 127.0.0.1 only; the request body is the first valid example request that interop/models.py writes for the model (for mlp one row of 512 floats: online inference, the case dynamic batching is for)",
		"the HTTP floors (a trivial gin or net/http handler answering a constant) run as processes of their own, as every server under test does; the compute floor calls the onnx flavor's predictor in the harness's process",
		"CPU per request (closed loop): the CPU time the server's process group, or the harness's own process (the load generator), used during the point, divided by the requests sent",
		"every server is started by the harness from the same model folders (built by interop/models.py with the pinned mlflow 3.17.2); mlflow and MLServer speak their own protocols (MLflow /invocations; MLServer's Open Inference Protocol /v2/models/m/infer, the path its adaptive batching applies to)",
		fmt.Sprintf("tracking: %d runs in the store before runs/search: mlflow's SQLite store is filled before its server starts by a script using mlflow's own SQLAlchemy models "+
			"(its REST API creates only a few runs per second on a busy machine), mlgate's through its REST API at concurrency 8 (at most %s); "+
			"runs/search filters on a tag matching 1 run in 10 and returns 100 ordered by start time; runs/get and log-batch (100 metrics) go to seeded runs; concurrency %v", cfg.seedRuns, cfg.seedBudget, cfg.trackConcs),
	}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// summary prints the quick run's headline numbers.
func summary(w io.Writer, rep *bench.Report) {
	for _, s := range rep.Serving {
		if s.Err != "" {
			fmt.Fprintf(w, "%-32s %-18s FAILED %s\n", s.Key, s.Model, firstLine(s.Err))
			continue
		}
		for _, r := range s.Closed {
			fmt.Fprintf(w, "%-32s %-18s c=%-3d %8.0f req/s p50 %6s ms p99 %6s ms errors %d\n", s.Key, s.Model, r.Concurrency,
				r.Throughput, bench.Ms(r.Latency.P50), bench.Ms(r.Latency.P99), r.Errors)
		}
	}
	for _, t := range rep.Tracking {
		if t.Err != "" {
			fmt.Fprintf(w, "%-32s FAILED %s\n", t.System, firstLine(t.Err))
			continue
		}
		for _, o := range t.Ops {
			for _, r := range o.Results {
				fmt.Fprintf(w, "%-32s %-18s c=%-3d %8.0f req/s p50 %6s ms p99 %6s ms errors %d\n", t.System, o.Op, r.Concurrency,
					r.Throughput, bench.Ms(r.Latency.P50), bench.Ms(r.Latency.P99), r.Errors)
			}
		}
	}
	for _, t := range rep.Targets {
		fmt.Fprintf(w, "%s %s — %s\n", t.Status, t.Name, t.Detail)
	}
}
