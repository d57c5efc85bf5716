//go:build integration

package pyfunc

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

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

var (
	modelsOnce sync.Once
	modelsDir  string
	modelsErr  error
)

// testModels builds the test models once per test binary and returns the
// folder holding them: sklearn_pipeline, custom_pyfunc, tensor_sig (from
// interop/models.py) and sleepy, fail_load, missing_dep (testdata).
func testModels(t testing.TB) string {
	t.Helper()
	py := testPython(t)
	modelsOnce.Do(func() {
		dir, err := os.MkdirTemp("", "mlgate-pyfunc-models-")
		if err != nil {
			modelsErr = err
			return
		}
		modelsDir = dir
		script := `import sys, os
sys.path.insert(0, sys.argv[1])
import models
for k in ("sklearn_pipeline", "custom_pyfunc", "tensor_sig"):
    models.build(k, os.path.join(sys.argv[2], k))
sys.path.insert(0, sys.argv[3])
import fault_models
fault_models.main(sys.argv[2])
`
		interop, _ := filepath.Abs("../../interop")
		td, _ := filepath.Abs("testdata")
		cmd := exec.Command(py, "-c", script, interop, dir, td)
		cmd.Env = append(os.Environ(), "MLFLOW_DISABLE_TELEMETRY=true")
		out, err := cmd.CombinedOutput()
		if err != nil {
			modelsErr = err
			modelsDir = string(out)
		}
	})
	if modelsErr != nil {
		t.Fatalf("building test models: %v\n%s", modelsErr, modelsDir)
	}
	return modelsDir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if modelsDir != "" && modelsErr == nil {
		_ = os.RemoveAll(modelsDir)
	}
	os.Exit(code)
}

// testFlavor returns the python_function flavor with the test interpreter
// and a cache in t's temp folder.
func testFlavor(t testing.TB) *Flavor {
	return New(Options{
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
	me := os.Getpid()
	for _, st := range procStats() {
		if st.ppid == me {
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
// the venv and renders each result as MLflow's scoring server does
// (_get_jsonable_obj + NumpyEncoder). A case is {"frame": {"columns",
// "data" (rows)}} or {"tensors": {name: {"dtype", "data"}}} or {"tensor":
// {...}}, with optional "params".
func mlflowPredict(t *testing.T, dir string, cases []map[string]any) []json.RawMessage {
	t.Helper()
	script := `import json, sys, warnings
warnings.filterwarnings("ignore")
import numpy as np, pandas as pd, mlflow.pyfunc
from mlflow.utils.proto_json_utils import _get_jsonable_obj, NumpyEncoder
model = mlflow.pyfunc.load_model(sys.argv[1])
out = []
for c in json.load(sys.stdin):
    if "frame" in c:
        data = pd.DataFrame(c["frame"]["data"], columns=c["frame"]["columns"])
        kinds = {"double": "float64", "float": "float32", "long": "int64", "integer": "int32", "string": "object", "boolean": "bool"}
        data = data.astype({col: kinds[t] for col, t in zip(c["frame"]["columns"], c["frame"].get("types") or [])})
    elif "raw" in c:
        data = c["raw"]
    elif "tensors" in c:
        data = {k: np.array(v["data"], dtype=v["dtype"]) for k, v in c["tensors"].items()}
    else:
        data = np.array(c["tensor"]["data"], dtype=c["tensor"]["dtype"])
    pred = model.predict(data, params=c.get("params"))
    out.append(json.loads(json.dumps(_get_jsonable_obj(pred, pandas_orient="records"), cls=NumpyEncoder)))
json.dump(out, sys.stdout)
`
	in, _ := json.Marshal(cases)
	cmd := exec.Command(testPython(t), "-c", script, dir)
	cmd.Stdin = bytes.NewReader(in)
	cmd.Env = append(os.Environ(), "MLFLOW_DISABLE_TELEMETRY=true")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("mlflow predict: %v\n%s", err, stderr.String())
	}
	var res []json.RawMessage
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("mlflow predict output: %v: %s", err, out)
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
