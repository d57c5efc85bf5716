package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mlgate/mlgate/bench"
)

// server is one external scoring server configuration.
type server struct {
	key, system, variant string
	baseline             string
	protocol             string
	models               []string
	// args returns the command line for model m on port; dir is a scratch
	// folder for the server's own files.
	args func(cfg *config, m *model, port int, dir string) (bin string, argv []string, err error)
	// request returns what to send.
	request func(m *model, port int) *bench.Request
}

// Keys of the serving systems.
const (
	keyMlgate      = "mlgate onnx"
	keyMlgateBatch = "mlgate onnx batching"
	keyPyfunc1     = "mlgate pyfunc workers=1"
	keyPyfunc2     = "mlgate pyfunc workers=2"
	keyPyfunc2B    = "mlgate pyfunc workers=2 batching"
	keyMlflow      = "mlflow serve"
	keyMlflow2     = "mlflow serve workers=2"
	keyMLServer    = "mlserver"
	keyMLServerB   = "mlserver batching"
	keyFloorGin    = "floor gin (constant)"
	keyFloorHTTP   = "floor net/http (constant)"
	keyFloorORT    = "floor ORT in-process"
)

func invocations(m *model, port int) *bench.Request {
	return &bench.Request{URL: fmt.Sprintf("http://127.0.0.1:%d/invocations", port), ContentType: "application/json",
		Body: m.Body, Check: hasKey("predictions")}
}

func v2infer(m *model, port int) *bench.Request {
	return &bench.Request{URL: fmt.Sprintf("http://127.0.0.1:%d/v2/models/m/infer", port), ContentType: "application/json",
		Body: m.V2, Check: hasKey("outputs")}
}

// hasKey checks that a JSON object answer holds key.
func hasKey(key string) func([]byte) error {
	return func(b []byte) error {
		var v map[string]json.RawMessage
		if err := json.Unmarshal(b, &v); err != nil {
			return fmt.Errorf("answer is not a JSON object: %.100s", b)
		}
		if _, ok := v[key]; !ok {
			return fmt.Errorf("answer has no %q: %.100s", key, b)
		}
		return nil
	}
}

func mlgateServe(extra ...string) func(*config, *model, int, string) (string, []string, error) {
	return func(cfg *config, m *model, port int, _ string) (string, []string, error) {
		a := []string{"models", "serve", "-m", m.Dir, "-h", "127.0.0.1", "-p", fmt.Sprint(port)}
		return cfg.mlgate, append(a, extra...), nil
	}
}

func mlflowServe(workers int) func(*config, *model, int, string) (string, []string, error) {
	return func(cfg *config, m *model, port int, _ string) (string, []string, error) {
		return filepath.Join(filepath.Dir(cfg.python), "mlflow"), []string{"models", "serve", "-m", m.Dir,
			"--env-manager", "local", "-h", "127.0.0.1", "-p", fmt.Sprint(port), "--workers", fmt.Sprint(workers)}, nil
	}
}

// mlserverStart writes MLServer's settings.json and model-settings.json in
// dir (adaptive batching when maxBatch > 0) and starts it there.
func mlserverStart(maxBatch int) func(*config, *model, int, string) (string, []string, error) {
	return func(cfg *config, m *model, port int, dir string) (string, []string, error) {
		if cfg.mlserver == "" {
			return "", nil, errors.New("MLServer is not installed (see the notes)")
		}
		grpc, err := bench.FreePort()
		if err != nil {
			return "", nil, err
		}
		metrics, err := bench.FreePort()
		if err != nil {
			return "", nil, err
		}
		settings := map[string]any{"host": "127.0.0.1", "http_port": port, "grpc_port": grpc, "metrics_port": metrics,
			"parallel_workers": 0, "debug": false}
		ms := map[string]any{"name": "m", "implementation": "mlserver_mlflow.MLflowRuntime",
			"parameters": map[string]any{"uri": m.Dir}}
		if maxBatch > 0 {
			ms["max_batch_size"] = maxBatch
			ms["max_batch_time"] = 0.002
		}
		for name, v := range map[string]any{"settings.json": settings, "model-settings.json": ms} {
			b, _ := json.Marshal(v)
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
				return "", nil, err
			}
		}
		return cfg.mlserver, []string{"start", dir}, nil
	}
}

// servers lists the external scoring servers, in run order.
func servers(cfg *config) []server {
	all := []server{
		{key: keyFloorHTTP, system: "floor", variant: "net/http ServeMux handler writing a constant, in a process of its own",
			protocol: "MLflow /invocations", models: []string{"linear"}, args: floorServe("nethttp"), request: invocations},
		{key: keyFloorGin, system: "floor", variant: "gin (release mode, no middleware) handler writing a constant, in a process of its own",
			protocol: "MLflow /invocations", models: []string{"linear"}, args: floorServe("gin"), request: invocations},
		{key: keyMlgate, system: "mlgate", variant: "onnx flavor, batching off", baseline: keyMlflow,
			protocol: "MLflow /invocations", models: []string{"linear", "iris_rf", "mlp"},
			args: mlgateServe(), request: invocations},
		{key: keyMlgateBatch, system: "mlgate", variant: "onnx flavor, --max-batch-size 32 --max-batch-delay 2ms", baseline: keyMlgate,
			protocol: "MLflow /invocations", models: []string{"linear", "mlp"},
			args: mlgateServe("--max-batch-size", "32", "--max-batch-delay", "2ms"), request: invocations},
		{key: keyPyfunc1, system: "mlgate", variant: "python_function, --workers 1", baseline: keyMlflow,
			protocol: "MLflow /invocations", models: []string{"sklearn_pipeline"},
			args: mlgateServe("--workers", "1", "--env-manager", "local"), request: invocations},
		{key: keyPyfunc2, system: "mlgate", variant: "python_function, --workers 2", baseline: keyMlflow2,
			protocol: "MLflow /invocations", models: []string{"sklearn_pipeline"},
			args: mlgateServe("--workers", "2", "--env-manager", "local"), request: invocations},
		{key: keyPyfunc2B, system: "mlgate", variant: "python_function, --workers 2 --max-batch-size 64 --max-batch-delay 2ms", baseline: keyMlflow2,
			protocol: "MLflow /invocations", models: []string{"sklearn_pipeline"},
			args: mlgateServe("--workers", "2", "--env-manager", "local", "--max-batch-size", "64", "--max-batch-delay", "2ms"), request: invocations},
		{key: keyMlflow, system: "mlflow", variant: "mlflow 3.17.2 models serve --env-manager local --workers 1",
			protocol: "MLflow /invocations", models: []string{"linear", "iris_rf", "mlp", "sklearn_pipeline"},
			args: mlflowServe(1), request: invocations},
		{key: keyMlflow2, system: "mlflow", variant: "mlflow 3.17.2 models serve --env-manager local --workers 2",
			protocol: "MLflow /invocations", models: []string{"sklearn_pipeline"},
			args: mlflowServe(2), request: invocations},
		{key: keyMLServer, system: "mlserver", variant: "MLServer 1.7.1 + mlserver-mlflow, adaptive batching off", baseline: keyMlflow,
			protocol: "Open Inference Protocol /v2/models/m/infer", models: []string{"linear", "iris_rf", "mlp", "sklearn_pipeline"},
			args: mlserverStart(0), request: v2infer},
		{key: keyMLServerB, system: "mlserver", variant: "MLServer 1.7.1 + mlserver-mlflow, max_batch_size 32, max_batch_time 2ms", baseline: keyMLServer,
			protocol: "Open Inference Protocol /v2/models/m/infer", models: []string{"linear", "mlp"},
			args: mlserverStart(32), request: v2infer},
	}
	if !cfg.quick {
		return all
	}
	// Smoke run: every system once on the small models.
	quick := map[string][]string{
		keyFloorHTTP: {"linear"}, keyFloorGin: {"linear"}, keyMlgate: {"linear"}, keyMlgateBatch: {"linear"}, keyPyfunc1: {"sklearn_pipeline"},
		keyMlflow: {"linear"}, keyMLServer: {"linear"},
	}
	var out []server
	for _, s := range all {
		if ms, ok := quick[s.key]; ok {
			s.models = ms
			out = append(out, s)
		}
	}
	return out
}

// runServing runs the floors and every server on every model it serves.
func runServing(ctx context.Context, log *slog.Logger, cfg *config, models map[string]*model, rep *bench.Report, fail func(string, error)) {
	ensureMLServer(ctx, log, cfg, rep)
	runFloors(ctx, log, cfg, models, rep, fail)
	for _, s := range servers(cfg) {
		for _, kind := range s.models {
			m, ok := models[kind]
			if !ok || (!cfg.want(s.key) && !cfg.want(kind)) || ctx.Err() != nil {
				continue
			}
			if s.system == "mlserver" && cfg.mlserver == "" {
				rep.Serving = append(rep.Serving, bench.ServingRun{Key: s.key, System: s.system, Model: kind,
					Variant: s.variant, Err: "MLServer could not be installed; see the notes"})
				continue
			}
			run := runServer(ctx, log, cfg, s, m)
			if run.Err != "" {
				fail(s.key+" on "+kind, errors.New(run.Err))
			}
			rep.Serving = append(rep.Serving, run)
		}
	}
}

// runServer starts one server on one model and measures it.
func runServer(ctx context.Context, log *slog.Logger, cfg *config, s server, m *model) bench.ServingRun {
	run := bench.ServingRun{Key: s.key, System: s.system, Model: m.Kind, Variant: s.variant, Baseline: s.baseline, Protocol: s.protocol}
	name := strings.NewReplacer(" ", "_", "=", "", "/", "_").Replace(s.key) + "-" + m.Kind
	dir := filepath.Join(cfg.work, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		run.Err = err.Error()
		return run
	}
	port, err := bench.FreePort()
	if err != nil {
		run.Err = err.Error()
		return run
	}
	bin, argv, err := s.args(cfg, m, port, dir)
	if err != nil {
		run.Err = err.Error()
		return run
	}
	run.Command = shellLine(bin, argv)
	req := s.request(m, port)
	log.Info("serving", "system", s.key, "model", m.Kind, "cmd", run.Command)
	envBin := bin
	if s.system == "mlgate" {
		envBin = cfg.python
	}
	proc, err := bench.Start(name, cfg.work, pythonEnv(envBin), dir, bin, argv...)
	if err != nil {
		run.Err = err.Error()
		return run
	}
	defer proc.Stop(15 * time.Second)
	probeClient := bench.NewClient(1, 5*time.Second)
	ttf, err := proc.WaitReady(ctx, cfg.startTimeout, func(ctx context.Context) error { return req.Do(ctx, probeClient) })
	if err != nil {
		run.Err = err.Error()
		return run
	}
	run.StartToFirst = ttf
	measureHTTP(ctx, cfg, &run, req, proc.Cmd.Process.Pid)
	if run.Err == "" {
		run.Err = noSuccess(&run)
	}
	if run.Err != "" {
		run.Err += "\n" + proc.LogTail(1500)
	}
	return run
}

// measureHTTP records idle memory, warms up, runs the closed-loop points and
// the open loop, and records peak memory (pgid 0: an in-process server).
func measureHTTP(ctx context.Context, cfg *config, run *bench.ServingRun, req *bench.Request, pgid int) {
	var sampler *bench.MemSampler
	if pgid > 0 {
		idleWait := time.Second
		if cfg.quick {
			idleWait = 200 * time.Millisecond
		}
		time.Sleep(idleWait)
		if mem, err := bench.GroupMemory(pgid); err == nil {
			run.IdleRSS = mem.RSS
		}
		sampler = bench.SampleMemory(pgid, 50*time.Millisecond)
	}
	maxC := cfg.concs[len(cfg.concs)-1]
	client := bench.NewClient(maxC+64, 60*time.Second)
	defer client.CloseIdleConnections()
	op := bench.HTTPOp(client, req)
	bench.Closed(ctx, op, 16, bench.Bounds{Duration: cfg.warm})
	for _, c := range cfg.concs {
		cpu := startCPU(pgid)
		res := bench.Closed(ctx, op, c, bench.Bounds{Duration: cfg.point, MaxRequests: cfg.maxReqPerPoint})
		res.ServerCPU, res.ClientCPU = cpu.stop()
		run.Closed = append(run.Closed, res)
	}
	open := bench.Open(ctx, op, cfg.rate, 64, bench.Bounds{Duration: cfg.point})
	run.Open = &open
	if sampler != nil {
		run.PeakRSS = sampler.Stop()
		if mem, err := bench.GroupMemory(pgid); err == nil {
			run.PeakHWM = mem.HWM
		}
	}
}

// noSuccess reports a run that yielded no successful answer at some point.
func noSuccess(run *bench.ServingRun) string {
	for _, r := range run.Closed {
		if r.Hist().Count() == 0 {
			return fmt.Sprintf("no successful answer at concurrency %d (%d errors: %s)", r.Concurrency, r.Errors, r.FirstError)
		}
	}
	return ""
}

// pythonEnv quiets the Python servers' telemetry and puts the venv that
// holds bin first on PATH, as an activated venv does (mlflow runs uvicorn
// from PATH; mlgate's pyfunc workers find python there).
func pythonEnv(bin string) []string {
	path := filepath.Dir(bin) + string(os.PathListSeparator) + os.Getenv("PATH")
	return []string{"MLFLOW_DISABLE_TELEMETRY=true", "DO_NOT_TRACK=true", "PYTHONUNBUFFERED=1", "PATH=" + path}
}

func shellLine(bin string, argv []string) string {
	parts := []string{filepath.Base(bin)}
	for _, a := range argv {
		if strings.ContainsAny(a, " '\"") {
			a = "'" + a + "'"
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}

// cpuMark is the CPU time of a server's process group and of this process
// (the load generator) when a run starts.
type cpuMark struct {
	pgid           int
	server, client time.Duration
	ok             bool
}

func startCPU(pgid int) cpuMark {
	m := cpuMark{pgid: pgid}
	if pgid <= 0 {
		return m
	}
	var err1, err2 error
	m.server, err1 = bench.GroupCPU(pgid)
	m.client, err2 = bench.ProcessCPU(os.Getpid())
	m.ok = err1 == nil && err2 == nil
	return m
}

// stop returns the CPU time each side used since start (0, 0 when unknown).
func (m cpuMark) stop() (server, client time.Duration) {
	if !m.ok {
		return 0, 0
	}
	s, err1 := bench.GroupCPU(m.pgid)
	c, err2 := bench.ProcessCPU(os.Getpid())
	if err1 != nil || err2 != nil || s < m.server || c < m.client {
		return 0, 0
	}
	return s - m.server, c - m.client
}
