package serve

import (
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/mlgate/mlgate/payloads"
)

// memLog is a PayloadLog keeping what it is given.
type memLog struct {
	every int // sample one request in every
	max   int
	mu    sync.Mutex
	n     int
	recs  []payloads.Record
}

func (m *memLog) Sample() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.n++
	return m.n%m.every == 0
}

func (m *memLog) MaxBody() int { return m.max }

// Add keeps a copy of the bodies, as PayloadLog asks: serve reuses
// their buffers.
func (m *memLog) Add(r payloads.Record) {
	r.Request, r.Response = slices.Clone(r.Request), slices.Clone(r.Response)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.recs = append(m.recs, r)
}

// Sampled prediction requests reach the payload log once answered, with
// the body sent, the answer received, the version, status and latency;
// errors too; other routes and unsampled requests do not.
func TestPayloadLogGetsSampledExchanges(t *testing.T) {
	ml := &memLog{every: 2, max: 1 << 20}
	_, url, _, _ := canaryServer(t, 0, func(o *Options) { o.Payloads = ml })
	var answers []string
	for i := range 6 {
		body := `{"dataframe_split":{"columns":["x"],"data":[[` + strings.Repeat("1", i+1) + `]]}}`
		if i == 5 {
			body = `{"nope":1}` // refused: 400
		}
		code, ans, _ := post(t, url+"/invocations", "application/json", body)
		if (code == 200) == (i == 5) {
			t.Fatalf("request %d: %d %s", i, code, ans)
		}
		answers = append(answers, ans)
	}
	get(t, url+"/ping")
	get(t, url+"/version")
	ml.mu.Lock()
	defer ml.mu.Unlock()
	if len(ml.recs) != 3 {
		t.Fatalf("%d records, want 3 (every second of 6 predictions)", len(ml.recs))
	}
	for k, r := range ml.recs {
		i := 2*k + 1
		if !strings.Contains(string(r.Request), "[["+strings.Repeat("1", i+1)+"]]") && i != 5 {
			t.Errorf("record %d: request %q", k, r.Request)
		}
		if string(r.Response) != answers[i] {
			t.Errorf("record %d: response %q, the caller got %q", k, r.Response, answers[i])
		}
		want := 200
		if i == 5 {
			want = 400
		}
		if r.Status != want || r.Version != "1" || r.Model != "m" || r.Route != "/invocations" || r.Latency <= 0 || r.Time.IsZero() {
			t.Errorf("record %d: %+v", k, r)
		}
	}
}

// Bodies over the cap are cut and marked.
func TestPayloadCaptureCapsBodies(t *testing.T) {
	ml := &memLog{every: 1, max: 10}
	_, url, _, _ := canaryServer(t, 0, func(o *Options) { o.Payloads = ml })
	code, ans, _ := post(t, url+"/invocations", "application/json", `{"dataframe_split":{"columns":["x"],"data":[[1]]}}`)
	if code != 200 {
		t.Fatalf("%d %s", code, ans)
	}
	ml.mu.Lock()
	defer ml.mu.Unlock()
	r := ml.recs[0]
	if string(r.Request) != `{"datafram` || !r.RequestTruncated || string(r.Response) != ans[:10] || !r.ResponseTruncated {
		t.Errorf("capped record: %q %v %q %v", r.Request, r.RequestTruncated, r.Response, r.ResponseTruncated)
	}
}

// The Open Inference Protocol's infer is logged too.
func TestPayloadLogInfer(t *testing.T) {
	ml := &memLog{every: 1, max: 1 << 20}
	_, url, _, _ := canaryServer(t, 0, func(o *Options) { o.Payloads = ml })
	body := `{"inputs":[{"name":"x","shape":[1],"datatype":"FP64","data":[1]}]}`
	code, ans, _ := post(t, url+"/v2/models/m/infer", "application/json", body)
	ml.mu.Lock()
	defer ml.mu.Unlock()
	if len(ml.recs) != 1 || string(ml.recs[0].Request) != body || string(ml.recs[0].Response) != ans || ml.recs[0].Status != code ||
		ml.recs[0].Route != "/v2/models/:name/infer" {
		t.Fatalf("records %+v for %d %s", ml.recs, code, ans)
	}
}
