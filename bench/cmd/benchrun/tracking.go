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
	// dir names its folder (default: the system's first word); auth, when
	// set, signs its requests in (the basic-auth run).
	dir  string
	auth *benchAuth
	// skipQuick leaves it out of the smoke run.
	skipQuick bool
}

// seeded is a store filled before its server started.
type seeded struct {
	exp string
	ids []string
	n   int
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
		{system: "mlgate server", args: func(cfg *config, dir string, port int) (string, []string) {
			return cfg.mlgate, []string{"server", "--backend-store-uri", "sqlite:///" + filepath.Join(dir, "mlgate.db"),
				"--default-artifact-root", filepath.Join(dir, "artifacts"), "--host", "127.0.0.1", "--port", fmt.Sprint(port)}
		}},
		// the same server without its security middleware (issue 20's
		// cost of the middleware), measured in turns with the others
		{system: systemMlgateServerOpen, dir: "mlgate-open", args: openServerArgs},
		mlgateAuthServer(),
		// a second server exactly like the open one: the A/A control that
		// shows how far two identical servers' rounds differ in the same run
		{system: systemMlgateServerControl, dir: "mlgate-control", args: openServerArgs, skipQuick: true},
	}
}

// openServerArgs starts mlgate server without its security middleware.
func openServerArgs(cfg *config, dir string, port int) (string, []string) {
	return cfg.mlgate, []string{"server", "--disable-security-middleware", "--backend-store-uri", "sqlite:///" + filepath.Join(dir, "mlgate.db"),
		"--default-artifact-root", filepath.Join(dir, "artifacts"), "--host", "127.0.0.1", "--port", fmt.Sprint(port)}
}

// systemMlgateServerOpen is mlgate server without its security middleware.
const systemMlgateServerOpen = "mlgate server --disable-security-middleware"

// systemMlgateServerControl is a second, identical server without the
// middleware (the A/A control of issue 20's comparisons).
const systemMlgateServerControl = "mlgate server --disable-security-middleware (A/A control)"

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
	// within the seeding time budget, so runs/search sees equal tables. The
	// mlgate servers (without and with basic-auth) run side by side and are
	// measured in turn at each point, so machine drift hits both alike.
	target := cfg.seedRuns
	var pair []*trackingSession
	done := func(ss ...*trackingSession) {
		for _, s := range ss {
			s.close()
			if s.t.Err != "" {
				fail(s.t.System, errors.New(s.t.Err))
			}
			rep.Tracking = append(rep.Tracking, s.t)
		}
	}
	for _, ts := range trackingServers() {
		if ctx.Err() != nil {
			break
		}
		if cfg.onlySystems != nil && cfg.onlySystems["mlgate-tracking"] && !strings.HasPrefix(ts.system, "mlgate") {
			continue // -only tracking,mlgate-tracking: the mlgate servers alone
		}
		if ts.skipQuick && cfg.quick {
			continue
		}
		s := openTracking(ctx, log, cfg, ts, target)
		if s.t.Err == "" && s.t.SeedRuns > 0 {
			target = s.t.SeedRuns
		}
		if !strings.HasPrefix(ts.system, "mlgate") {
			measureTracking(ctx, cfg, s)
			done(s)
			continue
		}
		pair = append(pair, s)
	}
	measureTracking(ctx, cfg, pair...)
	if len(pair) > 1 {
		rep.Notes = append(rep.Notes, trackingTurnsNote(cfg))
	}
	done(pair...)
}

// api is a small MLflow REST caller for seeding.
type api struct {
	base string
	c    *http.Client
	auth *benchAuth // nil: no Authorization header
}

func (a *api) post(ctx context.Context, path string, body any, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	var got []byte
	r := &bench.Request{URL: a.base + path, ContentType: "application/json", Body: b, Header: a.auth.header(), Check: func(resp []byte) error {
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

// trackingSession is a started, seeded tracking server ready to measure.
type trackingSession struct {
	t    bench.TrackingRun
	ops  map[string]bench.Op
	proc *bench.Proc
	mem  *bench.MemSampler
	a    *api
}

// close stops the sampler and the server.
func (s *trackingSession) close() {
	if s.mem != nil {
		s.t.PeakRSS = s.mem.Stop()
	}
	if s.a != nil {
		s.a.c.CloseIdleConnections()
	}
	if s.proc != nil {
		if s.t.Err != "" {
			s.t.Err += "\n" + s.proc.LogTail(1500)
		}
		s.proc.Stop(15 * time.Second)
	}
}

// openTracking starts and seeds a tracking server; errors are in t.Err.
func openTracking(ctx context.Context, log *slog.Logger, cfg *config, ts trackingServer, seedRuns int) *trackingSession {
	s := &trackingSession{t: bench.TrackingRun{System: ts.system}}
	t := &s.t
	name := ts.dir
	if name == "" {
		name = ts.system[:6]
	}
	dir := filepath.Join(cfg.work, "tracking-"+name)
	if err := os.MkdirAll(filepath.Join(dir, "artifacts"), 0o755); err != nil {
		t.Err = err.Error()
		return s
	}
	port, err := bench.FreePort()
	if err != nil {
		t.Err = err.Error()
		return s
	}
	var pre *seeded
	if ts.preseed != nil {
		t0 := time.Now()
		if pre, err = ts.preseed(ctx, cfg, dir, seedRuns); err != nil {
			t.Err = err.Error()
			return s
		}
		t.SeedTime, t.SeedRuns = time.Since(t0), pre.n
		log.Info("seeded the store directly", "system", ts.system, "runs", pre.n, "took", t.SeedTime.Round(time.Millisecond))
	}
	bin, argv := ts.args(cfg, dir, port)
	t.Command = shellLine(bin, argv)
	log.Info("tracking", "system", ts.system, "cmd", t.Command)
	env := pythonEnv(cfg.python)
	if ts.auth != nil {
		more, err := ts.auth.env(dir)
		if err != nil {
			t.Err = err.Error()
			return s
		}
		env = append(env, more...)
	}
	proc, err := bench.Start("tracking-"+name, cfg.work, env, dir, bin, argv...)
	if err != nil {
		t.Err = err.Error()
		return s
	}
	s.proc = proc
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	a := &api{base: base, c: bench.NewClient(80, 60*time.Second)}
	s.a = a
	a.auth = ts.auth
	probe := func(ctx context.Context) error {
		return a.post(ctx, "/api/2.0/mlflow/experiments/search", map[string]any{"max_results": 1}, nil)
	}
	if t.StartToFirst, err = proc.WaitReady(ctx, cfg.startTimeout, probe); err != nil {
		t.Err = err.Error()
		return s
	}
	if ts.auth != nil {
		if err := ts.auth.login(ctx, a); err != nil {
			t.Err = err.Error()
			return s
		}
	}
	time.Sleep(300 * time.Millisecond)
	if mem, err := bench.GroupMemory(proc.Cmd.Process.Pid); err == nil {
		t.IdleRSS = mem.RSS
	}
	s.mem = bench.SampleMemory(proc.Cmd.Process.Pid, 50*time.Millisecond)
	if s.ops, err = trackingLoad(ctx, log, cfg, a, t, seedRuns, pre); err != nil {
		t.Err = err.Error()
	}
	return s
}

// trackingLoad seeds the runs and returns the measured ops.
func trackingLoad(ctx context.Context, log *slog.Logger, cfg *config, a *api, t *bench.TrackingRun, seedRuns int, pre *seeded) (map[string]bench.Op, error) {
	var seedExp string
	var err error
	if pre != nil {
		seedExp = pre.exp
	} else if seedExp, err = a.createExperiment(ctx, "bench-seed"); err != nil {
		return nil, err
	}
	opsExp, err := a.createExperiment(ctx, "bench-ops")
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
	ops := map[string]bench.Op{
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
			r := &bench.Request{Method: http.MethodGet, URL: a.base + "/api/2.0/mlflow/runs/get?run_id=" + url.QueryEscape(id), Header: a.auth.header(),
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
	return ops, nil
}
