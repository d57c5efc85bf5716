//go:build integration

package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mlgate/mlgate/pkgformat"
)

// buildModel writes an interop model (interop/models.py) with the real mlflow.
func buildModel(t *testing.T, kind string) (dir string, requests []map[string]any) {
	t.Helper()
	py := os.Getenv("MLGATE_TEST_PYTHON")
	if py == "" {
		t.Fatal("MLGATE_TEST_PYTHON is not set (make test sets it)")
	}
	dir = filepath.Join(t.TempDir(), kind)
	cmd := exec.Command(py, "../../interop/models.py", kind, dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("models.py %s: %v\n%s", kind, err, out)
	}
	raw, err := os.ReadFile(dir + ".requests.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &requests); err != nil {
		t.Fatal(err)
	}
	return dir, requests
}

func ortLib(t *testing.T) string {
	t.Helper()
	lib := os.Getenv("ONNXRUNTIME_LIB")
	if lib == "" {
		t.Fatal("ONNXRUNTIME_LIB is not set (make test sets it)")
	}
	return lib
}

func startScoring(t *testing.T, o ServeOptions) *Scoring {
	t.Helper()
	o.Logger = slog.New(slog.DiscardHandler)
	o.ONNXRuntimeLib = ortLib(t)
	s, err := NewScoring(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := s.Start(ctx); err != nil {
		_ = s.Stop(ctx)
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	return s
}

func invoke(t *testing.T, addr, body string) (int, string) {
	t.Helper()
	status, b, err := tryInvoke(addr, body)
	if err != nil {
		t.Fatal(err)
	}
	return status, b
}

// tryInvoke is invoke for goroutines (no t.Fatal).
func tryInvoke(addr, body string) (int, string, error) {
	resp, err := http.Post("http://"+addr+"/invocations", "application/json", strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), nil
}

const linearSplit = `{"dataframe_split": {"columns": ["x1", "x2", "x3"], "data": [[1.0, 0.5, 3.0], [2.0, -1.0, 0.25]]}}`

func TestServeArchiveAndSwapUnderLoad(t *testing.T) {
	linear, _ := buildModel(t, "linear")
	archive := filepath.Join(t.TempDir(), "linear.tar.gz")
	if err := pkgformat.Pack(context.Background(), linear, archive); err != nil {
		t.Fatal(err)
	}
	s := startScoring(t, ServeOptions{ModelURI: archive, Port: 0, Timeout: 30 * time.Second})
	status, body := invoke(t, s.Addr(), linearSplit)
	if want := `{"predictions": [{"variable": 6.625}, {"variable": 3.5}]}`; status != 200 || body != want {
		t.Fatalf("archive model: %d %s, want %s", status, body, want)
	}
	// swap to the folder form of the same model while requests run
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var failed, ok atomic.Int64
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if st, b, err := tryInvoke(s.Addr(), linearSplit); err != nil || st != 200 {
					failed.Add(1)
					t.Logf("during swap: %d %s %v", st, b, err)
				} else {
					ok.Add(1)
				}
			}
		}()
	}
	time.Sleep(100 * time.Millisecond)
	for i := 0; i < 3; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := s.Server().Swap(ctx, linear)
		cancel()
		if err != nil {
			close(stop)
			wg.Wait()
			t.Fatalf("swap: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// a failed swap keeps the old model serving
	if err := s.Server().Swap(context.Background(), filepath.Join(t.TempDir(), "nope")); err == nil {
		t.Fatal("swap to a missing model succeeded")
	}
	close(stop)
	wg.Wait()
	if failed.Load() > 0 || ok.Load() == 0 {
		t.Fatalf("%d requests failed, %d succeeded during swaps", failed.Load(), ok.Load())
	}
	if status, _ := invoke(t, s.Addr(), linearSplit); status != 200 {
		t.Fatalf("after a failed swap: %d", status)
	}
}

func TestServeEveryElementType(t *testing.T) {
	dir, reqs := buildModel(t, "types")
	s := startScoring(t, ServeOptions{ModelURI: dir, Port: 0, MaxBatchSize: 16, MaxBatchDelay: time.Millisecond})
	body, _ := json.Marshal(reqs[0]["body"])
	status, resp := invoke(t, s.Addr(), string(body))
	if status != 200 {
		t.Fatalf("%d %s", status, resp)
	}
	var got struct {
		Predictions map[string]any `json:"predictions"`
	}
	if err := json.Unmarshal([]byte(resp), &got); err != nil {
		t.Fatal(err)
	}
	in := reqs[0]["body"].(map[string]any)["inputs"].(map[string]any)
	for name, v := range in {
		out, ok := got.Predictions["out_"+name]
		if !ok {
			t.Fatalf("no output out_%s in %s", name, resp)
		}
		rows, orows := v.([]any), out.([]any)
		for r := range rows {
			for c := range rows[r].([]any) {
				x, y := rows[r].([]any)[c], orows[r].([]any)[c]
				var want any
				switch xv := x.(type) {
				case bool:
					want = !xv
				case string:
					want = xv
				case float64:
					want = xv + 1
					if name == "f16" || name == "f32" || name == "f64" {
						want = xv + 1
					}
				}
				if fmt.Sprint(want) != fmt.Sprint(y) {
					t.Errorf("out_%s[%d][%d] = %v, want %v", name, r, c, y, want)
				}
			}
		}
	}
	// a wrong dtype for a typed input is MLflow's 400
	status, resp = invoke(t, s.Addr(), `{"inputs": {"i8": [[1000, 1]]}}`)
	if status != 400 {
		t.Fatalf("out-of-range int8: %d %s", status, resp)
	}
}
