package serve

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mlgate/mlgate/pkgformat"
)

func TestBodyLimit(t *testing.T) {
	_, ts := newTestServer(t, &echo{}, nil, func(o *Options) { o.MaxBodyBytes = 64 })
	status, body, _ := post(t, ts.URL+"/invocations", "application/json", `{"inputs": [`+strings.Repeat("1,", 100)+`1]}`)
	if status != 413 || !strings.Contains(body, `"error_code"`) {
		t.Fatalf("got %d %s, want 413 in MLflow error format", status, body)
	}
	if status, _, _ := post(t, ts.URL+"/invocations", "application/json", `{"inputs": [1]}`); status != 200 {
		t.Fatalf("small body after a large one: %d", status)
	}
}

func TestQueueFullAnswers503AtOnceAndRecovers(t *testing.T) {
	p := &echo{gate: make(chan struct{}), entered: make(chan struct{}, 16)}
	s, ts := newTestServer(t, p, nil, func(o *Options) { o.MaxConcurrency = 1; o.MaxQueue = 1 })
	var wg sync.WaitGroup
	statuses := make(chan int, 2)
	for i := 0; i < 2; i++ { // one runs, one waits in the queue
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, _, _ := post(t, ts.URL+"/invocations", "application/json", `{"inputs": [1]}`)
			statuses <- s
		}()
	}
	<-p.entered
	for deadline := time.Now().Add(5 * time.Second); s.admitted.Load() < 2; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the second request never queued")
		}
	}
	start := time.Now()
	status, body, hdr := post(t, ts.URL+"/invocations", "application/json", `{"inputs": [1]}`)
	if took := time.Since(start); took > 500*time.Millisecond {
		t.Fatalf("503 took %v, want at once", took)
	}
	if !strings.Contains(body, "TEMPORARILY_UNAVAILABLE") {
		t.Fatalf("503 body %s", body)
	}
	if status != 503 || hdr["Retry-After"] == nil {
		t.Fatalf("full queue answered %d (headers %v), want 503 with Retry-After", status, hdr)
	}
	close(p.gate)
	wg.Wait()
	close(statuses)
	for s := range statuses {
		if s != 200 {
			t.Fatalf("accepted request answered %d", s)
		}
	}
	if s, _, _ := post(t, ts.URL+"/invocations", "application/json", `{"inputs": [1]}`); s != 200 {
		t.Fatalf("after the load dropped: %d", s)
	}
}

func TestTimeoutAnswers504(t *testing.T) {
	p := &echo{gate: make(chan struct{})}
	defer close(p.gate)
	_, ts := newTestServer(t, p, nil, func(o *Options) { o.Timeout = 100 * time.Millisecond })
	start := time.Now()
	status, body, _ := post(t, ts.URL+"/invocations", "application/json", `{"inputs": [1]}`)
	if status != 504 || body != timeoutMessage {
		t.Fatalf("got %d %s", status, body)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("timeout took %v", took)
	}
}

func TestBatchingMergesAndIsolatesBadRequests(t *testing.T) {
	p := &echo{batch: true}
	_, ts := newTestServer(t, p, tensorSig, func(o *Options) {
		o.MaxBatchSize = 64
		o.MaxBatchDelay = 50 * time.Millisecond
		o.MaxConcurrency = 1
	})
	const n = 12
	var wg sync.WaitGroup
	var bad atomic.Int64
	errs := make(chan string, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			v := i
			if i == 5 {
				v = 666 // this one fails in the predictor
			}
			body := fmt.Sprintf(`{"inputs": [[%d, %d]]}`, v, i)
			status, resp, _ := post(t, ts.URL+"/invocations", "application/json", body)
			if i == 5 {
				if status != 400 {
					errs <- fmt.Sprintf("bad request got %d %s", status, resp)
				}
				bad.Add(1)
				return
			}
			want := fmt.Sprintf(`{"predictions": [[%d.0, %d.0]]}`, i, i)
			if status != 200 || resp != want {
				errs <- fmt.Sprintf("request %d got %d %s, want %s", i, status, resp, want)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	maxSize := 0
	for _, s := range p.sizes {
		maxSize = max(maxSize, s)
	}
	if maxSize < 2 {
		t.Fatalf("no batch merged more than one request: sizes %v", p.sizes)
	}
}

func TestSplitOutputFlattened(t *testing.T) {
	// a frame input whose output is flattened: 2 values per row
	out, err := splitOutput(outputOf([]float32{1, 2, 3, 4, 5, 6}, 6), []int{1, 2})
	if err != nil {
		t.Fatal(err)
	}
	if got := out[1].Tensor.Data.([]float32); len(got) != 4 || got[0] != 3 {
		t.Fatalf("split got %v", got)
	}
	if _, err := splitOutput(outputOf([]float32{1, 2, 3, 4, 5}, 5), []int{1, 2}); err == nil {
		t.Fatal("an output of 5 rows for 3 input rows must not split")
	}
}

func TestSwapUnderLoad(t *testing.T) {
	old := &echo{}
	s, ts := newTestServer(t, old, nil, nil)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var failures, done atomic.Int64
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
				status, body, _ := post(t, ts.URL+"/invocations", "application/json", `{"inputs": [1]}`)
				if status != 200 {
					failures.Add(1)
					t.Logf("during swap: %d %s", status, body)
				}
				done.Add(1)
			}
		}()
	}
	time.Sleep(50 * time.Millisecond)
	var versions []*echo
	for i := 0; i < 5; i++ {
		p := &echo{}
		versions = append(versions, p)
		s.Install(&Model{Version: fmt.Sprint(i + 2), Meta: &pkgformat.Model{}, Predictor: p})
		time.Sleep(30 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if failures.Load() > 0 {
		t.Fatalf("%d of %d requests failed during swaps", failures.Load(), done.Load())
	}
	if old.closed.Load() != 1 {
		t.Fatalf("old model closed %d times, want 1", old.closed.Load())
	}
	for _, p := range versions[:len(versions)-1] {
		if p.closed.Load() != 1 {
			t.Fatalf("replaced model closed %d times", p.closed.Load())
		}
	}
	last := versions[len(versions)-1]
	if last.closed.Load() != 0 || last.calls.Load() == 0 {
		t.Fatalf("current model closed=%d calls=%d", last.closed.Load(), last.calls.Load())
	}
}

func TestOpenInferenceProtocol(t *testing.T) {
	_, ts := newTestServer(t, &echo{}, namedTensorSig, nil)
	for _, p := range []string{"/v2", "/v2/health/live", "/v2/health/ready", "/v2/models/m/ready", "/v2/models/m/versions/1/ready"} {
		if status, body := get(t, ts.URL+p); status != 200 {
			t.Fatalf("%s: %d %s", p, status, body)
		}
	}
	status, body := get(t, ts.URL+"/v2/models/m")
	if status != 200 || !strings.Contains(body, `"name":"p","datatype":"FP64","shape":[-1,2]`) {
		t.Fatalf("metadata: %d %s", status, body)
	}
	if status, _ := get(t, ts.URL+"/v2/models/other"); status != 404 {
		t.Fatalf("unknown model: %d", status)
	}
	if status, _ := get(t, ts.URL+"/v2/models/m/versions/9"); status != 404 {
		t.Fatalf("unknown version: %d", status)
	}
	req := `{"id": "r1", "inputs": [
		{"name": "p", "shape": [2, 2], "datatype": "FP64", "data": [1, 2, 3, 4]},
		{"name": "q", "shape": [2], "datatype": "INT64", "data": [[5], [6]]}]}`
	status, body, _ = post(t, ts.URL+"/v2/models/m/infer", "application/json", req)
	if status != 200 {
		t.Fatalf("infer: %d %s", status, body)
	}
	var resp struct {
		ModelName string `json:"model_name"`
		ID        string `json:"id"`
		Outputs   []struct {
			Name     string    `json:"name"`
			DataType string    `json:"datatype"`
			Shape    []int64   `json:"shape"`
			Data     []float64 `json:"data"`
		} `json:"outputs"`
	}
	if err := json.Unmarshal([]byte(body), &resp); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	if resp.ModelName != "m" || resp.ID != "r1" || len(resp.Outputs) != 2 || resp.Outputs[0].Name != "p" ||
		resp.Outputs[0].DataType != "FP64" || fmt.Sprint(resp.Outputs[0].Shape) != "[2 2]" || fmt.Sprint(resp.Outputs[0].Data) != "[1 2 3 4]" {
		t.Fatalf("infer response %s", body)
	}
	bad := []string{
		`{"inputs": [{"name": "p", "shape": [2, 2], "datatype": "FP64", "data": [1, 2, 3]}]}`,
		`{"inputs": [{"name": "p", "shape": [2], "datatype": "NOPE", "data": [1, 2]}]}`,
		`{"inputs": []}`,
		`not json`,
	}
	for _, b := range bad {
		status, body, _ := post(t, ts.URL+"/v2/models/m/infer", "application/json", b)
		if status != 400 || !strings.Contains(body, `"error"`) {
			t.Fatalf("%s: %d %s", b, status, body)
		}
	}
	status, body, _ = post(t, ts.URL+"/v2/models/m/infer", "application/json",
		`{"inputs": [{"name": "p", "shape": [1, 3], "datatype": "FP64", "data": [1, 2, 3]}, {"name": "q", "shape": [1], "datatype": "INT64", "data": [1]}]}`)
	if status != 400 || !strings.Contains(body, "does not match expected shape") {
		t.Fatalf("schema violation over v2: %d %s", status, body)
	}
}

func TestMetrics(t *testing.T) {
	_, ts := newTestServer(t, &echo{}, nil, nil)
	post(t, ts.URL+"/invocations", "application/json", `{"inputs": [1]}`)
	post(t, ts.URL+"/invocations", "application/json", `[`)
	status, body := get(t, ts.URL+"/metrics")
	if status != 200 {
		t.Fatalf("metrics: %d", status)
	}
	for _, want := range []string{
		`mlgate_serve_requests_total{model="m",route="/invocations",status="200",version="1"} 1`,
		`mlgate_serve_requests_total{model="m",route="/invocations",status="400",version="1"} 1`,
		`mlgate_serve_request_duration_seconds_bucket`, `mlgate_serve_inference_duration_seconds_count{model="m"} 1`,
		`mlgate_serve_queue_duration_seconds_count{model="m"} 1`, `mlgate_serve_in_flight_requests`,
		`mlgate_serve_batch_size_count{model="m"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestDefaultRegistryHasRuntimeMetrics(t *testing.T) {
	s, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mfs, err := s.opts.Gatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, mf := range mfs {
		if mf.GetName() == "go_goroutines" {
			found = true
		}
	}
	if !found {
		t.Fatal("no go runtime metrics")
	}
}
