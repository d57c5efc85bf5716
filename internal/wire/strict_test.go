package wire

import (
	"net/http"
	"testing"
)

type batchIn struct {
	RunID   string     `json:"run_id"`
	Metrics []metricIn `json:"metrics"`
	Step    Int64      `json:"step"`
}

// TestStrictDecoding checks the rules MLflow's request parsing applies
// (answers of mlflow server 3.17.2): exact names, one spelling per field,
// a body that is not UTF-8 read as no body.
func TestStrictDecoding(t *testing.T) {
	read := func(rd *Reader, body string) (*Request, error) {
		c, _ := ctx(http.MethodPost, "/x", body, "application/json")
		return rd.Read(c)
	}
	big := *strict
	big.MaxBody = 1 << 10
	for _, rd := range []*Reader{&big, {MaxBody: 1 << 10, JSONMethods: []string{http.MethodPost}, Lenient: true}} {
		// Names match exactly, at every depth.
		r, err := read(rd, `{"RUN_ID": "r", "Metrics": [{"key": "a"}], "metrics": [{"KEY": "b", "value": 1}]}`)
		if err != nil {
			t.Fatal(err)
		}
		var b batchIn
		if err := r.Bind(&b); err != nil || b.RunID != "" || len(b.Metrics) != 1 || b.Metrics[0].Key != "" || b.Metrics[0].Value.V != 1 {
			t.Fatalf("bind %+v %v", b, err)
		}
		if s, ok := r.Str("run_id"); ok || s != "" {
			t.Fatalf("Str(run_id) = %q", s)
		}
		// encoding/json would also match a Kelvin sign for k, raw or escaped,
		// and an escaped upper-case letter
		for _, body := range []string{"{\"metrics\": [{\"\u212aey\": \"b\", \"value\": 2}]}",
			`{"metrics": [{"\u212aey": "b", "value": 2}]}`, `{"metrics": [{"\u004bey": "b", "value": 2}]}`} {
			r, err = read(rd, body)
			if err != nil {
				t.Fatal(err)
			}
			b = batchIn{}
			if err := r.Bind(&b); err != nil || len(b.Metrics) != 1 || b.Metrics[0].Key != "" {
				t.Fatalf("%s: bind %+v %v", body, b, err)
			}
		}
		// Both spellings of a field: refused, whether they agree or not,
		// nested too.
		for body, msg := range map[string]string{
			`{"run_id": "a", "runId": "a"}`:                         "Request specifies both 'run_id' and 'runId'; provide only one of them.",
			`{"run_id": "a", "runId": "b", "key": "k"}`:             "Request specifies both 'run_id' and 'runId'; provide only one of them.",
			`{"max_results": 1, "maxResults": 2}`:                   "Request specifies both 'max_results' and 'maxResults'; provide only one of them.",
			`{"datasets": [{"source_type": "a", "sourceType": 1}]}`: "Request specifies both 'source_type' and 'sourceType'; provide only one of them.",
			`"{\"experiment_id\": \"1\", \"experimentId\": \"1\"}"`: "Request specifies both 'experiment_id' and 'experimentId'; provide only one of them.",
		} {
			_, err := read(rd, body)
			failsWith(t, err, http.StatusBadRequest, msg)
		}
		if _, err := read(rd, `{"runId": "a", "run_name": "x", "experimentId": "1"}`); err != nil {
			t.Fatalf("one spelling each: %v", err)
		}
		// Not UTF-8: no body (the handler then finds its parameters missing).
		r, err = read(rd, "{\"run_id\": \"r\", \"key\": \"t\xff\"}")
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := r.Str("run_id"); ok {
			t.Fatal("a body that is not UTF-8 was read")
		}
		// Unpaired surrogate escapes: refused; a pair is fine.
		for body, bad := range map[string]bool{
			`{"key": "v\ud800"}`: true, `{"key": "\udc00x"}`: true, `{"key": "\ud800\u0041"}`: true,
			`{"key": "\ud83d\ude00"}`: false, `{"key": "\\ud800"}`: false, `{"key": "\u00e9"}`: false,
		} {
			_, err := read(rd, body)
			if bad {
				failsWith(t, err, http.StatusBadRequest, "Malformed request: a string holds an unpaired UTF-16 surrogate escape")
			} else if err != nil {
				t.Fatalf("%s: %v", body, err)
			}
		}
	}
	// Numbers out of range are refused (MLflow stores 0 or fails with 500).
	for _, body := range []string{`{"step": 9223372036854775808}`, `{"step": 1e400}`, `{"metrics": [{"key": "a", "value": 1e400}]}`} {
		r, err := read(&big, body)
		if err != nil {
			t.Fatal(err)
		}
		var b batchIn
		if err := r.Bind(&b); err == nil {
			t.Fatalf("%s: bound %+v", body, b)
		}
	}
}

func TestExactQuery(t *testing.T) {
	c, _ := ctx(http.MethodGet, "/x?RUN_ID=a&run_id=b", "", "")
	var v idReq
	if err := strict.Bind(c, &v); err != nil || v.RunID != "b" {
		t.Fatalf("%+v %v", v, err)
	}
	c, _ = ctx(http.MethodGet, "/x?RUN_ID=a", "", "")
	v = idReq{}
	if err := strict.Bind(c, &v); err != nil || v.RunID != "" {
		t.Fatalf("%+v %v", v, err)
	}
}
