package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mlgate/mlgate/bench"
)

// trackingServer is a tracking server started on a SQLite store.
type trackingServer struct {
	system string
	args   func(cfg *config, dir string, port int) (string, []string)
	// preseed, when set, fills the store before the server starts.
	preseed func(ctx context.Context, cfg *config, dir string, n int) (*seeded, error)
	// reuse, when set, names the system whose store (seeded runs and all)
	// this one opens after it: the two are measured on the same data.
	reuse string
}

// seeded is a store's seeded runs.
type seeded struct {
	exp string
	ids []string
	n   int
	dir string // the store's folder
}

// mlflowSeedScript fills an mlflow SQLite store with n runs through mlflow's
// own SQLAlchemy models in one transaction: the REST API of mlflow server
// creates only a few runs per second on a busy machine, too slow for 10,000.
// Rows are what runs/create writes (the run, its group tag and the
// mlflow.runName tag). It prints the experiment id, then up to 1000 run ids.
const mlflowSeedScript = `import sys, time, uuid
from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore
from mlflow.store.tracking.dbmodels.models import SqlRun, SqlTag
uri, root, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
store = SqlAlchemyStore(uri, root)
exp = store.create_experiment("bench-seed")
now = int(time.time() * 1000)
ids = []
with store.ManagedSessionMaker() as s:
    for i in range(n):
        rid = uuid.uuid4().hex
        s.add(SqlRun(run_uuid=rid, name="seed-%d" % i, experiment_id=int(exp), user_id="bench", status="RUNNING",
                     start_time=now + i, lifecycle_stage="active", artifact_uri="%s/%s/%s/artifacts" % (root, exp, rid),
                     source_type="LOCAL", source_name="", entry_point_name="", source_version=""))
        s.add(SqlTag(key="group", value=str(i % 10), run_uuid=rid))
        s.add(SqlTag(key="mlflow.runName", value="seed-%d" % i, run_uuid=rid))
        if len(ids) < 1000:
            ids.append(rid)
print(exp)
print("\n".join(ids))
`

func mlflowPreseed(ctx context.Context, cfg *config, dir string, n int) (*seeded, error) {
	cctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(cctx, cfg.python, "-c", mlflowSeedScript, "sqlite:///"+filepath.Join(dir, "mlflow.db"),
		filepath.Join(dir, "artifacts"), fmt.Sprint(n))
	cmd.Env = append(os.Environ(), pythonEnv(cfg.python)...)
	var stderr limitedBuffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("seeding the mlflow store: %w: %s", err, oneLineTail(stderr.b, 800))
	}
	lines := strings.Fields(string(out))
	if len(lines) < 2 {
		return nil, fmt.Errorf("seeding the mlflow store printed %q", out)
	}
	return &seeded{exp: lines[0], ids: lines[1:], n: n}, nil
}

func trackingServers() []trackingServer {
	return []trackingServer{
		{system: "mlflow server", args: func(cfg *config, dir string, port int) (string, []string) {
			a := []string{"server", "--backend-store-uri",
				"sqlite:///" + filepath.Join(dir, "mlflow.db"), "--default-artifact-root", filepath.Join(dir, "artifacts"),
				"--host", "127.0.0.1", "--port", fmt.Sprint(port)}
			if cfg.quick {
				// The smoke run only checks that it answers: one worker
				// starts faster than the default four.
				a = append(a, "--workers", "1")
			}
			return filepath.Join(filepath.Dir(cfg.python), "mlflow"), a
		}, preseed: mlflowPreseed},
		{system: systemMlgateServer, args: mlgateServerArgs()},
		// the same server without its security middleware, on the same
		// store, measured in turns with a twin that has it: the cost of the
		// middleware (issue 20) on a machine whose load drifts
		{system: systemMlgateServerOpen, args: mlgateServerArgs("--disable-security-middleware"), reuse: systemMlgateServer},
	}
}

// The mlgate tracking servers measured.
const (
	systemMlgateServer     = "mlgate server"
	systemMlgateServerOpen = "mlgate server --disable-security-middleware"
	systemMlgateServerTwin = "mlgate server (in turns with --disable-security-middleware)"
)

func mlgateServerArgs(extra ...string) func(cfg *config, dir string, port int) (string, []string) {
	return func(cfg *config, dir string, port int) (string, []string) {
		return cfg.mlgate, append([]string{"server", "--backend-store-uri", "sqlite:///" + filepath.Join(dir, "mlgate.db"),
			"--default-artifact-root", filepath.Join(dir, "artifacts"), "--host", "127.0.0.1", "--port", fmt.Sprint(port)}, extra...)
	}
}

// Tracking ops, in run order.
const (
	opSearch   = "runs/search"
	opGet      = "runs/get"
	opLogBatch = "runs/log-batch (100 metrics)"
	opCreate   = "runs/create"
)

// trackingOps lists the measured calls, in order.
var trackingOps = []string{opSearch, opGet, opLogBatch, opCreate}

func runTracking(ctx context.Context, log *slog.Logger, cfg *config, rep *bench.Report, fail func(string, error)) {
	// mlflow runs first; mlgate is seeded with as many runs as mlflow got
	// within the seeding time budget, so runs/search sees equal tables.
	target := cfg.seedRuns
	stores := map[string]*seeded{}
	for _, ts := range trackingServers() {
		if ctx.Err() != nil {
			return
		}
		if cfg.onlySystems["tracking-mlgate"] && !strings.HasPrefix(ts.system, "mlgate") {
			continue // -only tracking,tracking-mlgate: the mlgate servers alone
		}
		var twin *bench.TrackingRun
		if ts.reuse != "" {
			twin = &bench.TrackingRun{System: systemMlgateServerTwin}
		}
		t := measureTracking(ctx, log, cfg, ts, target, stores, twin)
		if t.Err == "" && t.SeedRuns > 0 {
			target = t.SeedRuns
		}
		if t.Err != "" {
			fail(ts.system, errors.New(t.Err))
		}
		if twin != nil && len(twin.Ops) > 0 {
			rep.Tracking = append(rep.Tracking, *twin)
		}
		rep.Tracking = append(rep.Tracking, t)
	}
}

// api is a small MLflow REST caller for seeding.
type api struct {
	base string
	c    *http.Client
}

func (a *api) post(ctx context.Context, path string, body any, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	var got []byte
	r := &bench.Request{URL: a.base + path, ContentType: "application/json", Body: b, Check: func(resp []byte) error {
		got = resp
		return nil
	}}
	if err := r.Do(ctx, a.c); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if out != nil {
		if err := json.Unmarshal(got, out); err != nil {
			return fmt.Errorf("%s answer: %w", path, err)
		}
	}
	return nil
}

func (a *api) createExperiment(ctx context.Context, name string) (string, error) {
	var out struct {
		ID string `json:"experiment_id"`
	}
	err := a.post(ctx, "/api/2.0/mlflow/experiments/create", map[string]any{"name": name}, &out)
	if err == nil && out.ID == "" {
		err = errors.New("experiments/create: no experiment_id")
	}
	return out.ID, err
}

type runAnswer struct {
	Run struct {
		Info struct {
			RunID string `json:"run_id"`
		} `json:"info"`
	} `json:"run"`
}

func measureTracking(ctx context.Context, log *slog.Logger, cfg *config, ts trackingServer, seedRuns int,
	stores map[string]*seeded, twin *bench.TrackingRun) bench.TrackingRun {
	t := bench.TrackingRun{System: ts.system}
	tag := "tracking-" + strings.NewReplacer(" ", "-", "--", "").Replace(ts.system)
	dir := filepath.Join(cfg.work, tag)
	var pre *seeded
	if ts.reuse != "" {
		if pre = stores[ts.reuse]; pre == nil {
			t.Err = ts.reuse + " left no store to reuse"
			return t
		}
		dir = pre.dir
		t.SeedRuns = pre.n
	}
	if err := os.MkdirAll(filepath.Join(dir, "artifacts"), 0o755); err != nil {
		t.Err = err.Error()
		return t
	}
	port, err := bench.FreePort()
	if err != nil {
		t.Err = err.Error()
		return t
	}
	if ts.preseed != nil && pre == nil {
		t0 := time.Now()
		if pre, err = ts.preseed(ctx, cfg, dir, seedRuns); err != nil {
			t.Err = err.Error()
			return t
		}
		t.SeedTime, t.SeedRuns = time.Since(t0), pre.n
		log.Info("seeded the store directly", "system", ts.system, "runs", pre.n, "took", t.SeedTime.Round(time.Millisecond))
	}
	bin, argv := ts.args(cfg, dir, port)
	t.Command = shellLine(bin, argv)
	log.Info("tracking", "system", ts.system, "cmd", t.Command)
	proc, err := bench.Start(tag, cfg.work, pythonEnv(cfg.python), dir, bin, argv...)
	if err != nil {
		t.Err = err.Error()
		return t
	}
	defer proc.Stop(15 * time.Second)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	a := &api{base: base, c: bench.NewClient(80, 60*time.Second)}
	defer a.c.CloseIdleConnections()
	probe := func(ctx context.Context) error {
		return a.post(ctx, "/api/2.0/mlflow/experiments/search", map[string]any{"max_results": 1}, nil)
	}
	if t.StartToFirst, err = proc.WaitReady(ctx, cfg.startTimeout, probe); err != nil {
		t.Err = err.Error()
		return t
	}
	time.Sleep(300 * time.Millisecond)
	if mem, err := bench.GroupMemory(proc.Cmd.Process.Pid); err == nil {
		t.IdleRSS = mem.RSS
	}
	var ta *api
	if twin != nil {
		var stop func()
		if ta, stop, err = startTwin(ctx, cfg, ts.reuse, dir, twin); err != nil {
			t.Err = err.Error()
			return t
		}
		defer stop()
		twin.SeedRuns = t.SeedRuns
	}
	sampler := bench.SampleMemory(proc.Cmd.Process.Pid, 50*time.Millisecond)
	stores[ts.system], err = trackingLoad(ctx, log, cfg, a, &t, seedRuns, pre, ta, twin)
	if stores[ts.system] != nil {
		stores[ts.system].dir = dir
	}
	t.PeakRSS = sampler.Stop()
	if err != nil {
		t.Err = err.Error() + "\n" + proc.LogTail(1500)
	}
	return t
}

// trackingLoad seeds the runs (unless pre holds them) and measures every
// op; it returns the seeded runs.
func trackingLoad(ctx context.Context, log *slog.Logger, cfg *config, a *api, t *bench.TrackingRun, seedRuns int, pre *seeded,
	ta *api, twin *bench.TrackingRun) (*seeded, error) {
	var seedExp string
	var err error
	if pre != nil {
		seedExp = pre.exp
	} else if seedExp, err = a.createExperiment(ctx, "bench-seed"); err != nil {
		return nil, err
	}
	// a reused store already holds a bench-ops experiment
	opsExp, err := a.createExperiment(ctx, fmt.Sprintf("bench-ops-%d", time.Now().UnixNano()))
	if err != nil {
		return nil, err
	}
	var mu sync.Mutex
	var ids []string
	var seq atomic.Int64
	seed := func(ctx context.Context) error {
		i := seq.Add(1)
		var out runAnswer
		err := a.post(ctx, "/api/2.0/mlflow/runs/create", map[string]any{
			"experiment_id": seedExp, "start_time": time.Now().UnixMilli(), "run_name": fmt.Sprintf("seed-%d", i),
			"tags": []map[string]string{{"key": "group", "value": fmt.Sprint(i % 10)}},
		}, &out)
		if err == nil && out.Run.Info.RunID == "" {
			err = errors.New("runs/create: no run_id")
		}
		if err == nil {
			mu.Lock()
			if len(ids) < 1000 {
				ids = append(ids, out.Run.Info.RunID)
			}
			mu.Unlock()
		}
		return err
	}
	if pre != nil {
		ids = pre.ids
	} else {
		t0 := time.Now()
		res := bench.Closed(ctx, seed, 8, bench.Bounds{Duration: cfg.seedBudget, MaxRequests: uint64(seedRuns)})
		t.SeedTime = time.Since(t0)
		t.SeedRuns = int(res.Hist().Count())
		log.Info("seeded", "runs", t.SeedRuns, "errors", res.Errors, "took", t.SeedTime.Round(time.Millisecond))
		if len(ids) == 0 {
			return nil, fmt.Errorf("seeding created no run (%d errors: %s)", res.Errors, res.FirstError)
		}
	}
	var step atomic.Int64
	ops := trackingOpFuncs(a, seedExp, opsExp, ids, &step)
	var twinOps map[string]bench.Op
	if ta != nil {
		twinExp, err := ta.createExperiment(ctx, fmt.Sprintf("bench-ops-%d", time.Now().UnixNano()))
		if err != nil {
			return nil, err
		}
		twinOps = trackingOpFuncs(ta, seedExp, twinExp, ids, &step)
	}
	for _, name := range trackingOps {
		o, to := bench.TrackingOp{Op: name}, bench.TrackingOp{Op: name}
		for _, c := range cfg.trackConcs {
			if twinOps != nil {
				// three turns each, the twin first: drift in the machine's
				// load falls on both
				var mine, theirs []bench.Result
				b := bench.Bounds{Duration: cfg.point / 3, MaxRequests: cfg.maxReqPerPoint / 3}
				for range 3 {
					theirs = append(theirs, bench.Closed(ctx, twinOps[name], c, b))
					mine = append(mine, bench.Closed(ctx, ops[name], c, b))
				}
				to.Results = append(to.Results, bench.Merge(theirs))
				o.Results = append(o.Results, bench.Merge(mine))
			} else {
				o.Results = append(o.Results, bench.Closed(ctx, ops[name], c, bench.Bounds{Duration: cfg.point, MaxRequests: cfg.maxReqPerPoint}))
			}
			if r := o.Results[len(o.Results)-1]; r.Hist().Count() == 0 {
				t.Ops = append(t.Ops, o)
				return nil, fmt.Errorf("%s at concurrency %d: no successful answer (%d errors: %s)", name, c, r.Errors, r.FirstError)
			}
		}
		t.Ops = append(t.Ops, o)
		if twin != nil {
			twin.Ops = append(twin.Ops, to)
		}
	}
	return &seeded{exp: seedExp, ids: ids, n: t.SeedRuns}, nil
}

// trackingOpFuncs are the measured calls against a: searches of the seeded
// experiment, reads and log-batches of seeded runs, creates in opsExp.
func trackingOpFuncs(a *api, seedExp, opsExp string, ids []string, step *atomic.Int64) map[string]bench.Op {
	return map[string]bench.Op{
		opSearch: func(ctx context.Context) error {
			var out struct {
				Runs []json.RawMessage `json:"runs"`
			}
			err := a.post(ctx, "/api/2.0/mlflow/runs/search", map[string]any{
				"experiment_ids": []string{seedExp}, "filter": "tags.group = '3'", "max_results": 100,
				"order_by": []string{"attributes.start_time DESC"},
			}, &out)
			if err == nil && len(out.Runs) == 0 {
				err = errors.New("runs/search found no run")
			}
			return err
		},
		opGet: func(ctx context.Context) error {
			id := ids[int(step.Add(1))%len(ids)]
			r := &bench.Request{Method: http.MethodGet, URL: a.base + "/api/2.0/mlflow/runs/get?run_id=" + url.QueryEscape(id),
				Check: hasKey("run")}
			return r.Do(ctx, a.c)
		},
		opLogBatch: func(ctx context.Context) error {
			s := step.Add(1)
			id := ids[int(s)%len(ids)]
			ms := make([]map[string]any, 100)
			now := time.Now().UnixMilli()
			for i := range ms {
				ms[i] = map[string]any{"key": fmt.Sprintf("m%d", i), "value": float64(i) * 0.5, "timestamp": now, "step": s}
			}
			return a.post(ctx, "/api/2.0/mlflow/runs/log-batch", map[string]any{"run_id": id, "metrics": ms}, nil)
		},
		opCreate: func(ctx context.Context) error {
			var out runAnswer
			err := a.post(ctx, "/api/2.0/mlflow/runs/create", map[string]any{
				"experiment_id": opsExp, "start_time": time.Now().UnixMilli()}, &out)
			if err == nil && out.Run.Info.RunID == "" {
				err = errors.New("runs/create: no run_id")
			}
			return err
		},
	}
}

// startTwin starts a twin of the system named reuse on the store in dir
// and returns its caller and its stop.
func startTwin(ctx context.Context, cfg *config, reuse, dir string, twin *bench.TrackingRun) (*api, func(), error) {
	var ts *trackingServer
	for _, s := range trackingServers() {
		if s.system == reuse {
			ts = &s
		}
	}
	if ts == nil {
		return nil, nil, fmt.Errorf("no tracking server %q", reuse)
	}
	port, err := bench.FreePort()
	if err != nil {
		return nil, nil, err
	}
	bin, argv := ts.args(cfg, dir, port)
	twin.Command = shellLine(bin, argv)
	proc, err := bench.Start("tracking-twin", cfg.work, pythonEnv(cfg.python), dir, bin, argv...)
	if err != nil {
		return nil, nil, err
	}
	a := &api{base: fmt.Sprintf("http://127.0.0.1:%d", port), c: bench.NewClient(80, 60*time.Second)}
	probe := func(ctx context.Context) error {
		return a.post(ctx, "/api/2.0/mlflow/experiments/search", map[string]any{"max_results": 1}, nil)
	}
	stop := func() {
		a.c.CloseIdleConnections()
		proc.Stop(15 * time.Second)
	}
	if twin.StartToFirst, err = proc.WaitReady(ctx, cfg.startTimeout, probe); err != nil {
		stop()
		return nil, nil, err
	}
	return a, stop, nil
}
