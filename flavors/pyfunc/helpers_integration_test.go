//go:build integration

package pyfunc

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mlgate/mlgate/flavors"
	"github.com/mlgate/mlgate/pkgformat"
)

// testPython is the venv interpreter with mlflow (MLGATE_TEST_PYTHON).
func testPython(t testing.TB) string {
	t.Helper()
	py := os.Getenv("MLGATE_TEST_PYTHON")
	if py == "" {
		t.Fatal("MLGATE_TEST_PYTHON is not set: run the tests with `make gotest`, which provisions the venv")
	}
	return py
}

// The oracle is one Python process per test binary: it builds the test
// models with the real mlflow (sklearn_pipeline, custom_pyfunc, tensor_sig
// from interop/models.py; sleepy, fail_load, missing_dep, hinted from
// testdata/fault_models.py), then answers mlflow.pyfunc predictions, so
// that mlflow is imported once.
var (
	oracleOnce sync.Once
	oracleErr  error
	oracle     struct {
		mu   sync.Mutex
		cmd  *exec.Cmd
		in   io.WriteCloser
		out  *bufio.Reader
		dir  string
		logs bytes.Buffer
		lmu  sync.Mutex // guards logs
	}
)

const oracleScript = `import json, os, sys, warnings
warnings.filterwarnings("ignore")
sys.path.insert(0, sys.argv[1])
sys.path.insert(0, sys.argv[3])
import models, fault_models
for k in ("sklearn_pipeline", "custom_pyfunc", "tensor_sig"):
    models.build(k, os.path.join(sys.argv[2], k))
fault_models.main(sys.argv[2])
import numpy as np, pandas as pd, mlflow.pyfunc
from mlflow.utils.proto_json_utils import _get_jsonable_obj, NumpyEncoder
kinds = {"double": "float64", "float": "float32", "long": "int64", "integer": "int32", "string": "object", "boolean": "bool"}
out = sys.stdout
sys.stdout = sys.stderr
out.write("ready\n"); out.flush()
loaded = {}
for line in sys.stdin:
    req = json.loads(line)
    model = loaded.get(req["model"]) or loaded.setdefault(req["model"], mlflow.pyfunc.load_model(req["model"]))
    res = []
    for c in req["cases"]:
        if "frame" in c:
            data = pd.DataFrame(c["frame"]["data"], columns=c["frame"]["columns"])
            data = data.astype({col: kinds[t] for col, t in zip(c["frame"]["columns"], c["frame"].get("types") or [])})
        elif "raw" in c:
            data = c["raw"]
        elif "tensors" in c:
            data = {k: np.array(v["data"], dtype=v["dtype"]) for k, v in c["tensors"].items()}
        else:
            data = np.array(c["tensor"]["data"], dtype=c["tensor"]["dtype"])
        pred = model.predict(data, params=c.get("params"))
        res.append(json.loads(json.dumps(_get_jsonable_obj(pred, pandas_orient="records"), cls=NumpyEncoder)))
    out.write(json.dumps(res) + "\n"); out.flush()
`

func startOracle(t testing.TB) {
	t.Helper()
	py := testPython(t)
	oracleOnce.Do(func() {
		dir, err := os.MkdirTemp("", "mlgate-pyfunc-models-")
		if err != nil {
			oracleErr = err
			return
		}
		oracle.dir = dir
		interop, _ := filepath.Abs("../../interop")
		td, _ := filepath.Abs("testdata")
		cmd := exec.Command(py, "-c", oracleScript, interop, dir, td)
		cmd.Env = append(os.Environ(), "MLFLOW_DISABLE_TELEMETRY=true")
		cmd.Stderr = &syncBuffer{b: &oracle.logs, mu: &oracle.lmu}
		in, _ := cmd.StdinPipe()
		outp, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			oracleErr = err
			return
		}
		oracle.cmd, oracle.in, oracle.out = cmd, in, bufio.NewReader(outp)
		line, err := oracle.out.ReadString('\n')
		switch {
		case err != nil:
			oracleErr = fmt.Errorf("building test models failed: %w", err)
		case line != "ready\n":
			oracleErr = fmt.Errorf("building test models: unexpected line %q", line)
		}
	})
	if oracleErr != nil {
		t.Fatalf("test model oracle: %v\n%s", oracleErr, oracleLogs())
	}
}

func oracleLogs() string {
	oracle.lmu.Lock()
	defer oracle.lmu.Unlock()
	return oracle.logs.String()
}

type syncBuffer struct {
	b  *bytes.Buffer
	mu *sync.Mutex
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.b.Len() > 1<<20 {
		s.b.Reset()
	}
	return s.b.Write(p)
}

// testModels returns the folder holding the test models.
func testModels(t testing.TB) string {
	t.Helper()
	startOracle(t)
	return oracle.dir
}

// oraclePID is the oracle's process id (0 when not started), which is not
// a worker.
func oraclePID() int {
	if oracle.cmd == nil || oracle.cmd.Process == nil {
		return 0
	}
	return oracle.cmd.Process.Pid
}

func TestMain(m *testing.M) {
	code := m.Run()
	if oracle.cmd != nil {
		_ = oracle.in.Close()
		done := make(chan struct{})
		go func() { _ = oracle.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = oracle.cmd.Process.Kill()
		}
	}
	if oracle.dir != "" {
		_ = os.RemoveAll(oracle.dir)
	}
	os.Exit(code)
}

// testFlavor returns the python_function flavor with the test interpreter
// and a cache in t's temp folder.
func testFlavor(t testing.TB) *Flavor {
	return testFlavorWith(t, nil)
}

// testFlavorWith is testFlavor with its metrics in reg.
func testFlavorWith(t testing.TB, reg prometheus.Registerer) *Flavor {
	return New(Options{
		Registerer:   reg,
		Logger:       slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo})),
		CacheDir:     t.TempDir(),
		Python:       testPython(t),
		StartTimeout: 2 * time.Minute,
		StopTimeout:  2 * time.Second,
		HangTimeout:  10 * time.Second,
	})
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// load loads the named test model with n workers and closes it (and checks
// that no worker process is left) at the end of t.
func load(t *testing.T, f *Flavor, model string, n int, extra map[string]string) *predictor {
	t.Helper()
	dir := filepath.Join(testModels(t), model)
	m, err := pkgformat.ReadModel(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	p, err := f.Load(ctx, dir, m, flavors.LoadOptions{Workers: n, EnvManager: EnvLocal, Extra: extra})
	if err != nil {
		t.Fatalf("Load(%s): %v", model, err)
	}
	pr := p.(*predictor)
	t.Cleanup(func() { closeAndCheck(t, pr) })
	return pr
}

// workerPIDs lists the process ids (= process groups) of the live workers.
func workerPIDs(p *predictor) []int {
	p.pool.mu.Lock()
	defer p.pool.mu.Unlock()
	var pids []int
	for _, w := range p.pool.current {
		if w != nil {
			pids = append(pids, w.proc.Pid())
		}
	}
	return pids
}

// closeAndCheck closes p and fails t if any process of a worker's group
// (or any child of this test process running a worker) is left.
func closeAndCheck(t *testing.T, p *predictor) {
	t.Helper()
	pids := workerPIDs(p)
	if err := p.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	for _, pid := range pids {
		if m := groupMembers(pid); len(m) > 0 {
			t.Errorf("process group %d still has members %v after Close", pid, m)
		}
	}
	if kids := childWorkers(); len(kids) > 0 {
		t.Errorf("worker processes left after Close: %v", kids)
	}
}

// groupMembers lists live (non-zombie) processes of process group pgid.
func groupMembers(pgid int) []int {
	var out []int
	for _, st := range procStats() {
		if st.pgid == pgid {
			out = append(out, st.pid)
		}
	}
	return out
}

// childWorkers lists live processes whose parent is this test process.
func childWorkers() []int {
	var out []int
	me, skip := os.Getpid(), oraclePID()
	for _, st := range procStats() {
		if st.ppid == me && st.pid != skip {
			out = append(out, st.pid)
		}
	}
	return out
}

type procStat struct{ pid, ppid, pgid int }

func procStats() []procStat {
	ents, _ := os.ReadDir("/proc")
	var out []procStat
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 3 || f[0] == "Z" || f[0] == "X" {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		pgid, _ := strconv.Atoi(f[2])
		out = append(out, procStat{pid, ppid, pgid})
	}
	return out
}

// mlflowPredict runs mlflow.pyfunc.load_model(dir).predict on each case in
// the oracle and renders each result as MLflow's scoring server does
// (_get_jsonable_obj + NumpyEncoder). A case is {"frame": {"columns",
// "types", "data" (rows)}}, {"raw": value}, {"tensors": {name: {"dtype",
// "data"}}} or {"tensor": {...}}, with optional "params".
func mlflowPredict(t *testing.T, dir string, cases []map[string]any) []json.RawMessage {
	t.Helper()
	startOracle(t)
	req, _ := json.Marshal(map[string]any{"model": dir, "cases": cases})
	oracle.mu.Lock()
	defer oracle.mu.Unlock()
	if _, err := oracle.in.Write(append(req, '\n')); err != nil {
		t.Fatalf("oracle: %v\n%s", err, oracleLogs())
	}
	line, err := oracle.out.ReadBytes('\n')
	if err != nil {
		t.Fatalf("oracle: %v\n%s", err, oracleLogs())
	}
	var res []json.RawMessage
	if err := json.Unmarshal(line, &res); err != nil {
		t.Fatalf("oracle output: %v: %s", err, line)
	}
	return res
}

// sameJSON compares two JSON texts as values.
func sameJSON(t *testing.T, got, want []byte) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("got invalid JSON %q: %v", got, err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("want invalid JSON %q: %v", want, err)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if !bytes.Equal(gb, wb) {
		t.Fatalf("predictions differ from mlflow's:\n got  %s\n want %s", gb, wb)
	}
}
