//go:build integration

package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/mlgate/mlgate/internal/db/dbtest"
	"github.com/mlgate/mlgate/internal/wire/wiretest"
	"github.com/mlgate/mlgate/tracking/server"
	"github.com/mlgate/mlgate/tracking/store"
)

type client struct {
	t *testing.T
	h http.Handler
}

func (c *client) do(method, path, body string, hdr ...string) (int, map[string]any) {
	c.t.Helper()
	var rd *bytes.Reader
	if body != "" {
		rd = bytes.NewReader([]byte(body))
	} else {
		rd = bytes.NewReader(nil)
	}
	req := httptest.NewRequest(method, path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	c.h.ServeHTTP(w, req)
	var m map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
		c.t.Fatalf("%s %s: body %q is not a JSON object: %v", method, path, w.Body.String(), err)
	}
	return w.Code, m
}

func (c *client) ok(method, path, body string) map[string]any {
	c.t.Helper()
	code, m := c.do(method, path, body)
	if code != http.StatusOK {
		c.t.Fatalf("%s %s %s: status %d %v", method, path, body, code, m)
	}
	return m
}

func (c *client) fail(method, path, body string, status int, errCode string) {
	c.t.Helper()
	code, m := c.do(method, path, body)
	if code != status || m["error_code"] != errCode {
		c.t.Fatalf("%s %s %s: got %d %v, want %d %s", method, path, body, code, m, status, errCode)
	}
}

func newClient(t *testing.T, b dbtest.Backend) *client {
	d := dbtest.Open(t, b)
	st, err := store.Open(context.Background(), d, store.Options{DefaultArtifactRoot: "mlflow-artifacts:/"})
	if err != nil {
		t.Fatal(err)
	}
	gin.SetMode(gin.TestMode)
	e := gin.New()
	server.New(server.Options{Store: st}).Mount(e)
	return &client{t: t, h: e}
}

func TestEndpoints(t *testing.T) {
	for _, b := range dbtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			c := newClient(t, b)
			const A = "/api/2.0/mlflow"
			// experiments
			exp := c.ok("POST", A+"/experiments/create", `{"name":"e","tags":[{"key":"k","value":"v"}],"unknown_field":1}`)["experiment_id"].(string)
			c.fail("POST", A+"/experiments/create", `{"name":"e"}`, 400, "RESOURCE_ALREADY_EXISTS")
			c.fail("POST", A+"/experiments/create", `{}`, 400, "INVALID_PARAMETER_VALUE")
			c.fail("POST", A+"/experiments/create", `{"name":"x","artifact_location":"runs:/abc"}`, 400, "INVALID_PARAMETER_VALUE")
			if got := wiretest.Dig(c.ok("GET", A+"/experiments/get?experiment_id="+exp, ""), "experiment", "name"); got != "e" {
				t.Fatalf("get experiment name %v", got)
			}
			c.ok("GET", "/ajax-api/2.0/mlflow/experiments/get-by-name?experiment_name=e", "")
			c.fail("GET", A+"/experiments/get-by-name?experiment_name=nope", "", 404, "RESOURCE_DOES_NOT_EXIST")
			c.fail("GET", A+"/experiments/get?experiment_id=12345", "", 404, "RESOURCE_DOES_NOT_EXIST")
			c.ok("POST", A+"/experiments/update", `{"experiment_id":"`+exp+`","new_name":"e2"}`)
			c.ok("POST", A+"/experiments/set-experiment-tag", `{"experiment_id":"`+exp+`","key":"a","value":"b"}`)
			c.ok("POST", A+"/experiments/delete-experiment-tag", `{"experiment_id":"`+exp+`","key":"a"}`)
			c.fail("POST", A+"/experiments/delete-experiment-tag", `{"experiment_id":"`+exp+`","key":"a"}`, 404, "RESOURCE_DOES_NOT_EXIST")
			s := c.ok("GET", A+"/experiments/search?max_results=1&order_by=name+ASC&order_by=experiment_id", "")
			if n := len(s["experiments"].([]any)); n != 1 || s["next_page_token"] == nil {
				t.Fatalf("experiments search page %v", s)
			}
			s = c.ok("POST", A+"/experiments/search", `{"filter":"name = 'e2'","view_type":"ALL","max_results":10}`)
			c.fail("POST", A+"/experiments/search", `{"filter":"name = 'e2'"}`, 400, "INVALID_PARAMETER_VALUE") // no max_results, as MLflow
			if n := len(s["experiments"].([]any)); n != 1 {
				t.Fatalf("experiments search %v", s)
			}
			c.fail("POST", A+"/experiments/search", `{"filter":"name = ","max_results":10}`, 400, "INVALID_PARAMETER_VALUE")
			// runs
			run := c.ok("POST", A+"/runs/create", `{"experiment_id":"`+exp+`","start_time":"1000","run_name":"r","tags":[{"key":"t","value":"1"}]}`)
			id := wiretest.Dig(run, "run", "info", "run_id").(string)
			if wiretest.Dig(run, "run", "info", "run_uuid") != id || wiretest.Dig(run, "run", "info", "start_time") != float64(1000) || wiretest.Dig(run, "run", "info", "end_time") != nil {
				t.Fatalf("run info %v", run)
			}
			c.fail("POST", A+"/runs/create", `{"experiment_id":"`+exp+`","run_name":"a","tags":[{"key":"mlflow.runName","value":"b"}]}`, 400, "INVALID_PARAMETER_VALUE")
			c.ok("POST", A+"/runs/log-metric", `{"run_id":"`+id+`","key":"m","value":"NaN","timestamp":1,"step":"3","model_id":"ignored-ok"}`)
			c.ok("POST", A+"/runs/log-metric", `{"run_uuid":"`+id+`","key":"inf","value":"Infinity","timestamp":"2"}`)
			c.fail("POST", A+"/runs/log-metric", `{"run_id":"`+id+`","key":"m","value":true,"timestamp":1}`, 400, "INVALID_PARAMETER_VALUE")
			c.fail("POST", A+"/runs/log-metric", `{"run_id":"`+id+`","key":"m","timestamp":1}`, 400, "INVALID_PARAMETER_VALUE")
			c.ok("POST", A+"/runs/log-parameter", `{"run_id":"`+id+`","key":"p","value":"1"}`)
			c.fail("POST", A+"/runs/log-parameter", `{"run_id":"`+id+`","key":"p","value":"2"}`, 400, "INVALID_PARAMETER_VALUE")
			c.fail("POST", A+"/runs/log-parameter", `{"run_id":"`+id+`","key":"../p","value":"2"}`, 400, "INVALID_PARAMETER_VALUE")
			c.ok("POST", A+"/runs/set-tag", `{"run_id":"`+id+`","key":"mlflow.runName","value":"renamed"}`)
			c.ok("POST", A+"/runs/delete-tag", `{"run_id":"`+id+`","key":"t"}`)
			c.fail("POST", A+"/runs/delete-tag", `{"run_id":"`+id+`","key":"t"}`, 404, "RESOURCE_DOES_NOT_EXIST")
			// a double-encoded body
			enc, _ := json.Marshal(`{"run_id":"` + id + `","metrics":[{"key":"b","value":1.5,"timestamp":5,"step":1}],"params":[{"key":"q","value":"x"}],"tags":[{"key":"u","value":"w"}]}`)
			c.ok("POST", A+"/runs/log-batch", string(enc))
			c.fail("POST", A+"/runs/log-batch", `{"run_id":"`+id+`","params":[{"key":"d","value":"1"},{"key":"d","value":"2"}]}`, 400, "INVALID_PARAMETER_VALUE")
			var many []string
			for i := 0; i < 1001; i++ {
				many = append(many, fmt.Sprintf(`{"key":"k","value":%d,"timestamp":1}`, i))
			}
			c.fail("POST", A+"/runs/log-batch", `{"run_id":"`+id+`","metrics":[`+strings.Join(many, ",")+`]}`, 400, "INVALID_PARAMETER_VALUE")
			c.ok("POST", A+"/runs/log-model", `{"run_id":"`+id+`","model_json":"{\"artifact_path\":\"m\",\"flavors\":{},\"utc_time_created\":\"x\",\"run_id\":\"`+id+`\"}"}`)
			c.fail("POST", A+"/runs/log-model", `{"run_id":"`+id+`","model_json":"{}"}`, 400, "INVALID_PARAMETER_VALUE")
			c.ok("POST", A+"/runs/log-inputs", `{"run_id":"`+id+`","datasets":[{"tags":[{"key":"mlflow.data.context","value":"train"}],"dataset":{"name":"d","digest":"abc","source_type":"local","source":"{}"}}]}`)
			got := c.ok("GET", A+"/runs/get?run_id="+id, "")
			if wiretest.Dig(got, "run", "info", "run_name") != "renamed" {
				t.Fatalf("run name %v", got)
			}
			ms := wiretest.Dig(got, "run", "data", "metrics").([]any)
			vals := map[string]any{}
			for _, m := range ms {
				vals[m.(map[string]any)["key"].(string)] = m.(map[string]any)["value"]
			}
			if vals["m"] != "NaN" || vals["b"] != 1.5 || vals["inf"] != 1.7976931348623157e308 {
				t.Fatalf("metrics %v", ms)
			}
			if ds := wiretest.Dig(got, "run", "inputs", "dataset_inputs").([]any); len(ds) != 1 {
				t.Fatalf("inputs %v", got)
			}
			c.fail("GET", A+"/runs/get?run_id=0123456789abcdef0123456789abcdef", "", 404, "RESOURCE_DOES_NOT_EXIST")
			c.fail("GET", A+"/runs/get", "", 400, "INVALID_PARAMETER_VALUE")
			h := c.ok("GET", A+"/metrics/get-history?run_id="+id+"&metric_key=b", "")
			if len(h["metrics"].([]any)) != 1 {
				t.Fatalf("history %v", h)
			}
			// MLflow answers the history of an unknown (or malformed) run id with {}.
			for _, unknown := range []string{"0123456789abcdef0123456789abcdef", "nope"} {
				if h := c.ok("GET", A+"/metrics/get-history?run_id="+unknown+"&metric_key=b", ""); len(h) != 0 {
					t.Fatalf("history of unknown run %s: %v", unknown, h)
				}
			}
			c.ok("GET", "/ajax-api/2.0/mlflow/metrics/get-history-bulk?run_id="+id+"&run_id="+id+"&metric_key=b", "")
			bi := c.ok("GET", A+"/metrics/get-history-bulk-interval?run_ids="+id+"&metric_key=b&start_step=0&end_step=5&max_results=10", "")
			if len(bi["metrics"].([]any)) != 1 || wiretest.Dig(bi["metrics"].([]any)[0].(map[string]any), "run_id") != id {
				t.Fatalf("bulk interval %v", bi)
			}
			c.fail("GET", A+"/metrics/get-history-bulk-interval?run_ids="+id+"&metric_key=b&start_step=0", "", 400, "INVALID_PARAMETER_VALUE")
			sr := c.ok("POST", A+"/runs/search", `{"experiment_ids":["`+exp+`"],"filter":"metrics.b > 1 and params.q = 'x'","order_by":["metrics.b DESC"],"max_results":"10"}`)
			if len(sr["runs"].([]any)) != 1 {
				t.Fatalf("search %v", sr)
			}
			c.fail("POST", A+"/runs/search", `{"experiment_ids":["`+exp+`"],"filter":"metrics.b > 'x'"}`, 400, "INVALID_PARAMETER_VALUE")
			c.fail("POST", A+"/runs/search", `{"experiment_ids":["`+exp+`"],"max_results":50001}`, 400, "INVALID_PARAMETER_VALUE")
			ui := c.ok("POST", A+"/runs/update", `{"run_id":"`+id+`","status":"FINISHED","end_time":2000}`)
			if wiretest.Dig(ui, "run_info", "status") != "FINISHED" || wiretest.Dig(ui, "run_info", "end_time") != float64(2000) {
				t.Fatalf("update %v", ui)
			}
			// MLflow leaves a status naming no RunStatus unset: the run keeps its own.
			if st := wiretest.Dig(c.ok("POST", A+"/runs/update", `{"run_id":"`+id+`","status":"DONE"}`), "run_info", "status"); st != "FINISHED" {
				t.Fatalf("status after an unknown one: %v", st)
			}
			// logged models
			lm := c.ok("POST", A+"/logged-models", `{"experiment_id":"`+exp+`","name":"model","source_run_id":"`+id+`","params":[{"key":"a","value":"1"}]}`)
			mid := wiretest.Dig(lm, "model", "info", "model_id").(string)
			if !strings.HasPrefix(mid, "m-") || wiretest.Dig(lm, "model", "info", "status") != "LOGGED_MODEL_PENDING" {
				t.Fatalf("logged model %v", lm)
			}
			c.ok("POST", A+"/runs/outputs", `{"run_id":"`+id+`","models":[{"model_id":"`+mid+`","step":0}]}`)
			c.ok("GET", A+"/logged-models/"+mid, "")
			if st := wiretest.Dig(c.ok("PATCH", A+"/logged-models/"+mid, `{"model_id":"`+mid+`","status":"LOGGED_MODEL_READY"}`), "model", "info", "status"); st != "LOGGED_MODEL_READY" {
				t.Fatalf("finalize %v", st)
			}
			c.ok("PATCH", A+"/logged-models/"+mid+"/tags", `{"tags":[{"key":"x","value":"y"}]}`)
			c.ok("DELETE", A+"/logged-models/"+mid+"/tags/x", "")
			c.ok("POST", A+"/logged-models/"+mid+"/params", `{"params":[{"key":"b","value":"2"}]}`)
			found := c.ok("POST", A+"/logged-models/search", `{"experiment_ids":["`+exp+`"],"filter":"name = 'model'","order_by":[{"field_name":"creation_timestamp","ascending":false}]}`)
			if len(found["models"].([]any)) != 1 {
				t.Fatalf("logged model search %v", found)
			}
			c.ok("DELETE", A+"/logged-models/"+mid, "")
			c.fail("GET", A+"/logged-models/"+mid, "", 404, "RESOURCE_DOES_NOT_EXIST")
			// delete/restore
			c.ok("POST", A+"/runs/delete", `{"run_id":"`+id+`"}`)
			c.fail("POST", A+"/runs/set-tag", `{"run_id":"`+id+`","key":"a","value":"b"}`, 400, "INVALID_PARAMETER_VALUE")
			c.ok("POST", A+"/runs/restore", `{"run_id":"`+id+`"}`)
			c.ok("POST", A+"/experiments/delete", `{"experiment_id":"`+exp+`"}`)
			c.fail("POST", A+"/runs/create", `{"experiment_id":"`+exp+`"}`, 400, "INVALID_PARAMETER_VALUE")
			c.ok("POST", A+"/experiments/restore", `{"experiment_id":"`+exp+`"}`)
			// request format rules
			code, m := c.do("POST", A+"/runs/set-tag", `{"run_id":"`+id+`","key":"a","value":"b"}`, "Content-Type", "text/plain")
			if code != 400 || m["error_code"] != "INVALID_PARAMETER_VALUE" {
				t.Fatalf("non-JSON content type: %d %v", code, m)
			}
			code, m = c.do("POST", A+"/runs/set-tag", `{"run_id":`)
			if code != 400 || m["error_code"] != "INVALID_PARAMETER_VALUE" {
				t.Fatalf("malformed JSON: %d %v", code, m)
			}
			// Type errors name the parameter as sent, in MLflow's words, never a
			// Go type or field (issue 21: 'runIDReq.run_id', '[]server.wMetricIn').
			const hint = " See the API docs for more information about request parameters."
			for _, tc := range []struct{ path, body, msg string }{
				{"/runs/set-tag", `{"run_id":123,"key":"a","value":"b"}`, "Invalid value 123 for parameter 'run_id' supplied:  Hint: Value was of type 'int'." + hint},
				{"/runs/log-batch", `{"run_id":"` + id + `","metrics":5}`, "Invalid value 5 for parameter 'metrics' supplied:  Hint: Value was of type 'int'." + hint},
				{"/experiments/create", `{"name":123}`, "Invalid value 123 for parameter 'name' supplied:  Hint: Value was of type 'int'." + hint},
			} {
				code, m = c.do("POST", A+tc.path, tc.body)
				if code != 400 || m["error_code"] != "INVALID_PARAMETER_VALUE" || m["message"] != tc.msg {
					t.Fatalf("%s %s: %d %v, want %q", tc.path, tc.body, code, m, tc.msg)
				}
			}
		})
	}
}

// TestRunCreatedHook: the hook hears of each run created, with the ids the
// answer carries, and of no failed create.
func TestRunCreatedHook(t *testing.T) {
	st, err := store.Open(context.Background(), dbtest.Open(t, dbtest.Backend{Name: "sqlite", URI: dbtest.SQLiteURI}), store.Options{DefaultArtifactRoot: "mlflow-artifacts:/"})
	if err != nil {
		t.Fatal(err)
	}
	var heard [][2]string
	gin.SetMode(gin.TestMode)
	e := gin.New()
	server.New(server.Options{Store: st, RunCreated: func(run, exp string) { heard = append(heard, [2]string{run, exp}) }}).Mount(e)
	c := &client{t: t, h: e}
	exp := c.ok("POST", "/api/2.0/mlflow/experiments/create", `{"name":"hook"}`)["experiment_id"].(string)
	info := c.ok("POST", "/api/2.0/mlflow/runs/create", `{"experiment_id":"`+exp+`"}`)["run"].(map[string]any)["info"].(map[string]any)
	c.fail("POST", "/api/2.0/mlflow/runs/create", `{"experiment_id":"424242"}`, http.StatusNotFound, "RESOURCE_DOES_NOT_EXIST")
	if want := [][2]string{{info["run_id"].(string), exp}}; fmt.Sprint(heard) != fmt.Sprint(want) {
		t.Fatalf("heard %v, want %v", heard, want)
	}
}
