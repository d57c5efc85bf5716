// Command searchcurve measures runs/search latency against the size of the
// experiment (issue 20): for each store (mlgate on SQLite, mlgate on
// PostgreSQL, mlflow server on SQLite) it loads the experiment to 1k, 10k,
// 100k runs of 50 metrics and 5 params, starts the server on the store and
// runs the tracking mix of package bench (six writers creating runs, two
// searchers filtering on a tag and a metric ordered by the metric) for a
// while, recording the searchers' p50/p99, the writers' rate and the
// server's memory. mlflow server is measured until one search takes longer
// than -mlflow-limit; larger sizes are skipped and the table says so. It
// writes a Markdown section (-out). BENCH_QUICK=1 is a smoke run: 200 and
// 1000 runs, short points, SQLite stores only.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mlgate/mlgate/bench"
)

type config struct {
	mlgate, python, pg string
	sizes              []int64
	point, warm, alone time.Duration
	// searchRate, when above 0, sends the searches open loop at this
	// many a second (latency from the intended send time) instead of two
	// closed-loop searchers: latency at a given load, not at saturation.
	searchRate  float64
	mlflowLimit time.Duration
	quick       bool
	nice        int
	only        string
	// mlgateArgs are added to every mlgate server's command line (e.g.
	// --max-write-transactions 2), and shown in the report's commands.
	mlgateArgs []string
	work, out  string
	log        *slog.Logger
}

func main() { os.Exit(run()) }

func run() int {
	var cfg config
	var sizes string
	flag.StringVar(&cfg.mlgate, "mlgate", "bin/mlgate", "mlgate binary")
	flag.StringVar(&cfg.python, "python", "", "python of the interop venv (mlflow); empty: no mlflow server")
	flag.StringVar(&cfg.pg, "postgres", os.Getenv("MLGATE_BENCH_POSTGRES_DSN"), "PostgreSQL DSN (an empty database); empty: SQLite only")
	flag.StringVar(&sizes, "sizes", "1000,10000,100000", "experiment sizes in runs")
	flag.DurationVar(&cfg.point, "point", 30*time.Second, "measured time per size")
	flag.DurationVar(&cfg.warm, "warm", 3*time.Second, "unmeasured load before each point")
	flag.Float64Var(&cfg.searchRate, "search-rate", 0, "searches a second, open loop, beside the closed-loop writers (0: two closed-loop searchers)")
	flag.DurationVar(&cfg.alone, "alone", 5*time.Second, "searches alone after each point (server CPU per search)")
	flag.StringVar(&cfg.only, "only", "", "measure only the stores whose name contains this, in any case (sqlite, postgresql, mlflow)")
	flag.IntVar(&cfg.nice, "nice", 19, "niceness of the loaders (loading is not timed)")
	flag.DurationVar(&cfg.mlflowLimit, "mlflow-limit", 5*time.Second, "stop measuring mlflow server after a size where one search took longer")
	flag.BoolVar(&cfg.quick, "quick", os.Getenv("BENCH_QUICK") == "1", "smoke run (also BENCH_QUICK=1)")
	flag.StringVar(&cfg.out, "out", "docs/benchmarks-raw/search-curve.md", "Markdown file to write")
	mlgateArgs := flag.String("mlgate-args", "", "extra flags for mlgate server, space-separated (e.g. \"--max-write-transactions 2\")")
	loadOnly := flag.String("load-only", "", "load the mlgate store at this URI to the last of -sizes and exit (for EXPLAIN sessions)")
	flag.Parse()
	cfg.mlgateArgs = strings.Fields(*mlgateArgs)
	cfg.log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	for _, s := range strings.Split(sizes, ",") {
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil || n < 1 {
			cfg.log.Error("bad -sizes", "value", s)
			return 2
		}
		cfg.sizes = append(cfg.sizes, n)
	}
	if *loadOnly != "" {
		t0 := time.Now()
		exp, have, err := mlgateLoad(context.Background(), *loadOnly, cfg.sizes[len(cfg.sizes)-1], cfg.nice)
		if err != nil {
			cfg.log.Error("load", "err", err)
			return 1
		}
		cfg.log.Info("loaded", "experiment", exp, "runs", have, "took", time.Since(t0).Round(time.Millisecond))
		fmt.Println(exp, have)
		return 0
	}
	if cfg.quick {
		cfg.sizes, cfg.point, cfg.warm, cfg.alone, cfg.pg = []int64{200, 1000}, 2*time.Second, 500*time.Millisecond, time.Second, ""
	}
	var err error
	for _, p := range []*string{&cfg.mlgate, &cfg.python} {
		if *p != "" {
			if *p, err = filepath.Abs(*p); err != nil {
				cfg.log.Error("abs", "err", err)
				return 2
			}
		}
	}
	if cfg.work, err = os.MkdirTemp("", "mlgate-curve-"); err != nil {
		cfg.log.Error("temp dir", "err", err)
		return 1
	}
	defer func() { _ = os.RemoveAll(cfg.work) }()
	if cfg.quick {
		if cfg.out, err = os.MkdirTemp("", "mlgate-curve-quick-"); err != nil {
			cfg.log.Error("temp dir", "err", err)
			return 1
		}
		cfg.out = filepath.Join(cfg.out, "search-curve.md")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	started := time.Now()
	machine := bench.DescribeMachine()
	var curves []curve
	failed := false
	for _, sys := range systems(&cfg) {
		if !strings.Contains(strings.ToLower(sys.name), strings.ToLower(cfg.only)) {
			continue
		}
		c := measureCurve(ctx, &cfg, sys)
		if c.err != "" {
			failed = true
			cfg.log.Error("system failed", "system", sys.name, "err", c.err)
		}
		curves = append(curves, c)
	}
	md := markdown(&cfg, curves, machine, bench.DescribeMachine(), time.Since(started))
	if err := os.WriteFile(cfg.out, []byte(md), 0o644); err != nil {
		cfg.log.Error("write", "err", err)
		return 1
	}
	cfg.log.Info("written", "path", cfg.out)
	fmt.Print(md)
	if failed {
		return 1
	}
	return 0
}

// system is a store and the server that serves it.
type system struct {
	name string
	// load fills the store to n runs and returns the experiment id and the
	// runs it holds.
	load func(ctx context.Context, n int64) (string, int64, error)
	// server returns the command serving the store on port.
	server func(port int) (string, []string)
	env    []string
	// limit: sizes after one where a search took longer are skipped (0: none).
	limit time.Duration
}

func systems(cfg *config) []system {
	var out []system
	mlgateSys := func(name, uri string) system {
		return system{name: name,
			load: func(ctx context.Context, n int64) (string, int64, error) { return niceLoad(ctx, cfg, uri, n) },
			server: func(port int) (string, []string) {
				return cfg.mlgate, append([]string{"server", "--backend-store-uri", uri, "--default-artifact-root",
					filepath.Join(cfg.work, "artifacts"), "--host", "127.0.0.1", "--port", fmt.Sprint(port)}, cfg.mlgateArgs...)
			}}
	}
	out = append(out, mlgateSys("mlgate server, SQLite", "sqlite:///"+filepath.Join(cfg.work, "mlgate.db")))
	if cfg.pg != "" {
		out = append(out, mlgateSys("mlgate server, PostgreSQL", cfg.pg))
	}
	if cfg.python != "" {
		path := filepath.Join(cfg.work, "mlflow.db")
		out = append(out, system{name: "mlflow server, SQLite",
			load: func(ctx context.Context, n int64) (string, int64, error) { return mlflowLoad(ctx, cfg, path, n) },
			server: func(port int) (string, []string) {
				return filepath.Join(filepath.Dir(cfg.python), "mlflow"), []string{"server", "--backend-store-uri", "sqlite:///" + path,
					"--default-artifact-root", filepath.Join(cfg.work, "artifacts"), "--host", "127.0.0.1", "--port", fmt.Sprint(port),
					"--workers", "2"} // one per CPU: four start slowly on two
			}, env: pythonEnv(cfg.python), limit: cfg.mlflowLimit})
	}
	return out
}

// point is one size of one system.
type point struct {
	size     int64 // runs in the experiment when the point started
	after    int64 // and when it ended (writers add runs)
	loadTime time.Duration
	search   bench.Result
	write    bench.Result // one op = create, log-batch, update
	rss      uint64
	skipped  string
	// searchCPU is the server's CPU time per search with one searcher
	// alone (no writers); alone is that run.
	searchCPU time.Duration
	alone     bench.Result
}

type curve struct {
	name   string
	cmd    string
	points []point
	err    string
}

func measureCurve(ctx context.Context, cfg *config, sys system) curve {
	c := curve{name: sys.name}
	var stopReason string
	for _, n := range cfg.sizes {
		if ctx.Err() != nil {
			c.err = ctx.Err().Error()
			return c
		}
		if stopReason != "" {
			c.points = append(c.points, point{size: n, skipped: stopReason})
			continue
		}
		t0 := time.Now()
		exp, have, err := sys.load(ctx, n)
		if err != nil {
			c.err = err.Error()
			return c
		}
		p := point{size: have, loadTime: time.Since(t0)}
		cfg.log.Info("loaded", "system", sys.name, "runs", have, "took", p.loadTime.Round(time.Second))
		if err := measurePoint(ctx, cfg, sys, exp, &p, &c); err != nil {
			c.err = err.Error()
			return c
		}
		c.points = append(c.points, p)
		cfg.log.Info("point", "system", sys.name, "runs", p.size, "search_p50", bench.Ms(p.search.Latency.P50),
			"search_p99", bench.Ms(p.search.Latency.P99), "searches", p.search.Requests, "errors", p.search.Errors, "writes_per_s", fmt.Sprintf("%.1f", p.write.Throughput), "cpu_per_search_ms", bench.Ms(p.searchCPU))
		if sys.limit > 0 && p.search.Latency.Max > sys.limit {
			stopReason = fmt.Sprintf("not measured: at %d runs one search took %s ms (> %s)", p.size, bench.Ms(p.search.Latency.Max), sys.limit)
		}
	}
	return c
}

func measurePoint(ctx context.Context, cfg *config, sys system, exp string, p *point, c *curve) error {
	port, err := bench.FreePort()
	if err != nil {
		return err
	}
	bin, argv := sys.server(port)
	c.cmd = bin + " " + strings.Join(argv, " ")
	proc, err := bench.Start("server", cfg.work, sys.env, cfg.work, bin, argv...)
	if err != nil {
		return err
	}
	defer proc.Stop(15 * time.Second)
	mix := &bench.TrackingMix{Base: fmt.Sprintf("http://127.0.0.1:%d", port), Exp: exp, Client: bench.NewClient(16, 120*time.Second)}
	defer mix.Client.CloseIdleConnections()
	mix.Next.Store(p.size + 1_000_000_000) // writers' runs never repeat loaded ones
	if _, err := proc.WaitReady(ctx, 300*time.Second, mix.Search); err != nil {
		return fmt.Errorf("%w: %s", err, proc.LogTail(800))
	}
	_ = bench.Closed(ctx, mix.Search, 1, bench.Bounds{Duration: cfg.warm})
	writes := make(chan bench.Result, 1)
	go func() { writes <- bench.Closed(ctx, mix.Write, bench.MixWriters, bench.Bounds{Duration: cfg.point}) }()
	sampler := bench.SampleMemory(proc.Cmd.Process.Pid, 200*time.Millisecond)
	if cfg.searchRate > 0 {
		p.search = bench.Open(ctx, mix.Search, cfg.searchRate, 16, bench.Bounds{Duration: cfg.point})
	} else {
		p.search = bench.Closed(ctx, mix.Search, 2, bench.Bounds{Duration: cfg.point})
	}
	p.write = <-writes
	p.rss = sampler.Stop()
	p.after = p.size + int64(p.write.Hist().Count())
	if p.search.Hist().Count() == 0 {
		return errors.New("no successful search: " + p.search.FirstError + " " + proc.LogTail(800))
	}
	// The server's CPU time per search, one searcher alone: what a search
	// costs, whatever else shares the machine.
	pid := proc.Cmd.Process.Pid
	cpu0, err0 := bench.GroupCPU(pid)
	alone := bench.Closed(ctx, mix.Search, 1, bench.Bounds{Duration: cfg.alone, MaxRequests: 200})
	cpu1, err1 := bench.GroupCPU(pid)
	if err0 == nil && err1 == nil && alone.Requests > 0 {
		p.searchCPU = (cpu1 - cpu0) / time.Duration(alone.Requests)
		p.alone = alone
	}
	return nil
}
