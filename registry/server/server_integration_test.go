//go:build integration

package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mlgate/mlgate/internal/db/dbtest"
	"github.com/mlgate/mlgate/internal/wire/wiretest"
	"github.com/mlgate/mlgate/registry/server"
	"github.com/mlgate/mlgate/registry/store"
)

type client struct {
	t    *testing.T
	base string
}

func (c *client) do(method, path string, body any, query url.Values) (int, map[string]any, http.Header) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	u := c.base + path
	if query != nil {
		u += "?" + query.Encode()
	}
	req, _ := http.NewRequest(method, u, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := map[string]any{}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			c.t.Fatalf("%s %s: non-JSON body %q", method, path, raw)
		}
	}
	return resp.StatusCode, out, resp.Header
}

func (c *client) ok(method, path string, body any, query url.Values) map[string]any {
	c.t.Helper()
	st, out, _ := c.do(method, path, body, query)
	if st != 200 {
		c.t.Fatalf("%s %s: %d %v", method, path, st, out)
	}
	return out
}

func (c *client) fails(method, path string, body any, query url.Values, status int, code string) {
	c.t.Helper()
	st, out, _ := c.do(method, path, body, query)
	if st != status || out["error_code"] != code {
		c.t.Fatalf("%s %s %v %v: got %d %v, want %d %s", method, path, body, query, st, out, status, code)
	}
	if msg, _ := out["message"].(string); msg == "" {
		c.t.Fatalf("%s %s: error without message", method, path)
	}
}

func setup(t *testing.T, b dbtest.Backend) (*client, *prometheus.Registry) {
	d := dbtest.Open(t, b)
	st, err := store.New(context.Background(), d, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	gin.SetMode(gin.TestMode)
	e := gin.New()
	reg := prometheus.NewRegistry()
	if err := server.Mount(e, server.Options{Store: st, Registerer: reg}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return &client{t: t, base: srv.URL}, reg
}

const api = "/api/2.0/mlflow"

func TestEndpoints(t *testing.T) {
	for _, b := range dbtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			c, reg := setup(t, b)
			q := func(kv ...string) url.Values {
				v := url.Values{}
				for i := 0; i < len(kv); i += 2 {
					v.Add(kv[i], kv[i+1])
				}
				return v
			}
			out := c.ok("POST", api+"/registered-models/create", map[string]any{"name": "m", "tags": []map[string]string{{"key": "k", "value": "v"}}, "description": "d"}, nil)
			if wiretest.Dig(out, "registered_model", "name") != "m" || wiretest.Dig(out, "registered_model", "description") != "d" {
				t.Fatalf("create: %v", out)
			}
			if _, isNum := wiretest.Dig(out, "registered_model", "creation_timestamp").(float64); !isNum {
				t.Fatalf("creation_timestamp not a JSON number: %v", out)
			}
			c.fails("POST", api+"/registered-models/create", map[string]any{"name": "m"}, nil, 400, "RESOURCE_ALREADY_EXISTS")
			c.fails("POST", api+"/registered-models/create", map[string]any{}, nil, 400, "INVALID_PARAMETER_VALUE")
			c.fails("POST", api+"/registered-models/create", map[string]any{"name": 5}, nil, 400, "INVALID_PARAMETER_VALUE")
			// Wrong content type on POST.
			req, _ := http.NewRequest("POST", c.base+api+"/registered-models/create", strings.NewReader(`{"name":"x"}`))
			req.Header.Set("Content-Type", "text/plain")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 400 {
				t.Fatalf("text/plain POST: %d", resp.StatusCode)
			}
			// The ajax prefix serves the same API, GET falls back to a JSON body.
			out = c.ok("GET", "/ajax-api/2.0/mlflow/registered-models/get", map[string]any{"name": "m"}, nil)
			if wiretest.Dig(out, "registered_model", "name") != "m" {
				t.Fatalf("ajax get: %v", out)
			}
			c.fails("GET", api+"/registered-models/get", nil, q("name", "nope"), 404, "RESOURCE_DOES_NOT_EXIST")

			for i := 1; i <= 3; i++ {
				out = c.ok("POST", api+"/model-versions/create", map[string]any{"name": "m", "source": fmt.Sprintf("s3://b/%d", i)}, nil)
				if wiretest.Dig(out, "model_version", "version") != fmt.Sprint(i) || wiretest.Dig(out, "model_version", "current_stage") != "None" ||
					wiretest.Dig(out, "model_version", "status") != "READY" || wiretest.Dig(out, "model_version", "run_id") != "" {
					t.Fatalf("create version %d: %v", i, out)
				}
			}
			c.fails("POST", api+"/model-versions/create", map[string]any{"name": "m", "source": "s3://b/../../etc"}, nil, 400, "INVALID_PARAMETER_VALUE")
			c.fails("POST", api+"/model-versions/create", map[string]any{"name": "m", "source": "/etc/passwd"}, nil, 400, "INVALID_PARAMETER_VALUE")
			c.fails("POST", api+"/model-versions/create", map[string]any{"name": "nope", "source": "s3://b/x"}, nil, 404, "RESOURCE_DOES_NOT_EXIST")
			c.fails("GET", api+"/model-versions/get", nil, q("name", "m", "version", "x"), 400, "INVALID_PARAMETER_VALUE")
			c.fails("GET", api+"/model-versions/get", nil, q("name", "m", "version", "99"), 404, "RESOURCE_DOES_NOT_EXIST")
			out = c.ok("GET", api+"/model-versions/get-download-uri", nil, q("name", "m", "version", "2"))
			if out["artifact_uri"] != "s3://b/2" {
				t.Fatalf("download uri %v", out)
			}

			out = c.ok("POST", api+"/model-versions/transition-stage", map[string]any{"name": "m", "version": "1", "stage": "staging"}, nil)
			if wiretest.Dig(out, "model_version", "current_stage") != "Staging" {
				t.Fatalf("transition %v", out)
			}
			c.ok("POST", api+"/model-versions/transition-stage", map[string]any{"name": "m", "version": "2", "stage": "Staging", "archive_existing_versions": true}, nil)
			out = c.ok("GET", api+"/model-versions/get", nil, q("name", "m", "version", "1"))
			if wiretest.Dig(out, "model_version", "current_stage") != "Archived" {
				t.Fatalf("archived? %v", out)
			}
			c.fails("POST", api+"/model-versions/transition-stage", map[string]any{"name": "m", "version": "2", "stage": "bogus"}, nil, 400, "INVALID_PARAMETER_VALUE")
			c.fails("POST", api+"/model-versions/transition-stage", map[string]any{"name": "m", "version": "2", "stage": "None", "archive_existing_versions": "yes"}, nil, 400, "INVALID_PARAMETER_VALUE")

			// get-latest-versions: POST with JSON, GET with repeated query keys.
			out = c.ok("POST", api+"/registered-models/get-latest-versions", map[string]any{"name": "m"}, nil)
			if n := len(out["model_versions"].([]any)); n != 3 {
				t.Fatalf("latest all stages: %d %v", n, out)
			}
			out = c.ok("GET", api+"/registered-models/get-latest-versions", nil, q("name", "m", "stages", "Staging", "stages", "None"))
			got := map[string]string{}
			for _, mv := range out["model_versions"].([]any) {
				m := mv.(map[string]any)
				got[m["current_stage"].(string)] = m["version"].(string)
			}
			if len(got) != 2 || got["Staging"] != "2" || got["None"] != "3" {
				t.Fatalf("latest staging+none %v", got)
			}

			// Aliases.
			c.ok("POST", api+"/registered-models/alias", map[string]any{"name": "m", "alias": "champ", "version": "2"}, nil)
			c.fails("POST", api+"/registered-models/alias", map[string]any{"name": "m", "alias": "latest", "version": "2"}, nil, 400, "INVALID_PARAMETER_VALUE")
			c.fails("POST", api+"/registered-models/alias", map[string]any{"name": "m", "alias": "v3", "version": "2"}, nil, 400, "INVALID_PARAMETER_VALUE")
			c.fails("POST", api+"/registered-models/alias", map[string]any{"name": "m", "alias": "x", "version": "9"}, nil, 404, "RESOURCE_DOES_NOT_EXIST")
			out = c.ok("GET", api+"/registered-models/alias", nil, q("name", "m", "alias", "champ"))
			if wiretest.Dig(out, "model_version", "version") != "2" || fmt.Sprint(wiretest.Dig(out, "model_version", "aliases")) != "[champ]" {
				t.Fatalf("by alias %v", out)
			}
			out = c.ok("GET", api+"/registered-models/get", nil, q("name", "m"))
			if fmt.Sprint(wiretest.Dig(out, "registered_model", "aliases")) != "[map[alias:champ version:2]]" {
				t.Fatalf("model aliases %v", wiretest.Dig(out, "registered_model", "aliases"))
			}
			c.fails("GET", api+"/registered-models/alias", nil, q("name", "m", "alias", "nope"), 400, "INVALID_PARAMETER_VALUE")
			c.ok("DELETE", api+"/registered-models/alias", map[string]any{"name": "m", "alias": "champ"}, nil)
			c.fails("GET", api+"/registered-models/alias", nil, q("name", "m", "alias", "champ"), 400, "INVALID_PARAMETER_VALUE")

			// Tags and descriptions.
			c.ok("POST", api+"/registered-models/set-tag", map[string]any{"name": "m", "key": "t", "value": "1"}, nil)
			c.ok("DELETE", api+"/registered-models/delete-tag", map[string]any{"name": "m", "key": "k"}, nil)
			c.ok("POST", api+"/model-versions/set-tag", map[string]any{"name": "m", "version": "3", "key": "vt", "value": "x"}, nil)
			c.fails("POST", api+"/model-versions/set-tag", map[string]any{"name": "m", "version": "3", "key": "../x", "value": "x"}, nil, 400, "INVALID_PARAMETER_VALUE")
			out = c.ok("GET", api+"/model-versions/get", nil, q("name", "m", "version", "3"))
			if fmt.Sprint(wiretest.Dig(out, "model_version", "tags")) != "[map[key:vt value:x]]" {
				t.Fatalf("version tags %v", out)
			}
			c.ok("DELETE", api+"/model-versions/delete-tag", map[string]any{"name": "m", "version": "3", "key": "vt"}, nil)
			out = c.ok("PATCH", api+"/model-versions/update", map[string]any{"name": "m", "version": "3", "description": "vd"}, nil)
			if wiretest.Dig(out, "model_version", "description") != "vd" {
				t.Fatalf("update version %v", out)
			}
			out = c.ok("PATCH", api+"/registered-models/update", map[string]any{"name": "m", "description": "md"}, nil)
			if wiretest.Dig(out, "registered_model", "description") != "md" {
				t.Fatalf("update model %v", out)
			}

			// Search with GET query encoding (repeated order_by) and paging.
			c.ok("POST", api+"/registered-models/create", map[string]any{"name": "n"}, nil)
			out = c.ok("GET", api+"/registered-models/search", nil, q("filter", "name LIKE '%'", "max_results", "1", "order_by", "name DESC"))
			if len(out["registered_models"].([]any)) != 1 || wiretest.Dig(out["registered_models"].([]any)[0].(map[string]any), "name") != "n" || out["next_page_token"] == nil {
				t.Fatalf("search page 1 %v", out)
			}
			out = c.ok("GET", api+"/registered-models/search", nil, q("max_results", "1", "order_by", "name DESC", "page_token", out["next_page_token"].(string)))
			if wiretest.Dig(out["registered_models"].([]any)[0].(map[string]any), "name") != "m" || out["next_page_token"] != nil {
				t.Fatalf("search page 2 %v", out)
			}
			c.fails("GET", api+"/registered-models/search", nil, q("filter", "bogus = 'x'"), 400, "INVALID_PARAMETER_VALUE")
			c.fails("GET", api+"/registered-models/search", nil, q("max_results", "5000"), 400, "INVALID_PARAMETER_VALUE")
			out = c.ok("GET", api+"/model-versions/search", nil, q("filter", "name = 'm' and version_number >= 2", "order_by", "version_number ASC"))
			var vs []string
			for _, mv := range out["model_versions"].([]any) {
				vs = append(vs, mv.(map[string]any)["version"].(string))
			}
			if fmt.Sprint(vs) != "[2 3]" {
				t.Fatalf("search versions %v", vs)
			}
			out = c.ok("GET", api+"/model-versions/search", nil, q("filter", "name = 'zzz'"))
			if len(out) != 0 {
				t.Fatalf("empty search should be {}: %v", out)
			}

			// Rename carries versions; delete cascades.
			out = c.ok("POST", api+"/registered-models/rename", map[string]any{"name": "m", "new_name": "m2"}, nil)
			if wiretest.Dig(out, "registered_model", "name") != "m2" {
				t.Fatalf("rename %v", out)
			}
			c.fails("POST", api+"/registered-models/rename", map[string]any{"name": "m2", "new_name": "n"}, nil, 400, "RESOURCE_ALREADY_EXISTS")
			c.ok("GET", api+"/model-versions/get", nil, q("name", "m2", "version", "3"))
			c.ok("DELETE", api+"/model-versions/delete", map[string]any{"name": "m2", "version": "3"}, nil)
			c.fails("DELETE", api+"/model-versions/delete", map[string]any{"name": "m2", "version": "3"}, nil, 404, "RESOURCE_DOES_NOT_EXIST")
			c.ok("DELETE", api+"/registered-models/delete", map[string]any{"name": "m2"}, nil)
			c.fails("DELETE", api+"/registered-models/delete", map[string]any{"name": "m2"}, nil, 404, "RESOURCE_DOES_NOT_EXIST")
			c.fails("GET", api+"/model-versions/get", nil, q("name", "m2", "version", "1"), 404, "RESOURCE_DOES_NOT_EXIST")

			if v := counterValue(t, reg, "create_registered_model", "400"); v < 2 {
				t.Fatalf("create_registered_model 400 count %v", v)
			}
		})
	}
}

func counterValue(t *testing.T, reg *prometheus.Registry, op, status string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "mlgate_registry_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["operation"] == op && labels["status"] == status {
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no counter for %s %s", op, status)
	return 0
}

func TestChangesEndpoint(t *testing.T) {
	c, _ := setup(t, dbtest.Backend{Name: "sqlite", URI: dbtest.SQLiteURI})
	c.ok("POST", api+"/registered-models/create", map[string]any{"name": "w"}, nil)
	c.ok("POST", api+"/model-versions/create", map[string]any{"name": "w", "source": "s3://b/1"}, nil)
	st, out, hdr := c.do("GET", "/api/2.0/mlgate/registered-models/changes", nil, url.Values{"name": {"w"}})
	if st != 200 || wiretest.Dig(out, "registered_model", "name") != "w" || hdr.Get("ETag") == "" {
		t.Fatalf("first poll %d %v %v", st, out, hdr)
	}
	seq := int64(out["change_seq"].(float64))
	st, _, _ = c.do("GET", "/api/2.0/mlgate/registered-models/changes", nil, url.Values{"name": {"w"}, "since": {fmt.Sprint(seq)}})
	if st != http.StatusNotModified {
		t.Fatalf("unchanged poll %d", st)
	}
	// If-None-Match works like since.
	req, _ := http.NewRequest("GET", c.base+"/api/2.0/mlgate/registered-models/changes?name=w", nil)
	req.Header.Set("If-None-Match", hdr.Get("ETag"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotModified {
		t.Fatalf("If-None-Match poll %d", resp.StatusCode)
	}
	c.ok("POST", api+"/registered-models/alias", map[string]any{"name": "w", "alias": "champ", "version": "1"}, nil)
	st, out, _ = c.do("GET", "/api/2.0/mlgate/registered-models/changes", nil, url.Values{"name": {"w"}, "since": {fmt.Sprint(seq)}})
	if st != 200 || int64(out["change_seq"].(float64)) <= seq || fmt.Sprint(wiretest.Dig(out, "registered_model", "aliases")) != "[map[alias:champ version:1]]" {
		t.Fatalf("poll after alias move %d %v", st, out)
	}
	c.fails("GET", "/api/2.0/mlgate/registered-models/changes", nil, url.Values{"name": {"nope"}}, 404, "RESOURCE_DOES_NOT_EXIST")
	c.fails("GET", "/api/2.0/mlgate/registered-models/changes", nil, url.Values{"name": {"w"}, "since": {"x"}}, 400, "INVALID_PARAMETER_VALUE")
	st, out, _ = c.do("GET", "/api/2.0/mlgate/registry/changes", nil, nil)
	if st != 200 || out["change_seq"] == nil {
		t.Fatalf("registry changes %d %v", st, out)
	}
	st, _, _ = c.do("GET", "/api/2.0/mlgate/registry/changes", nil, url.Values{"since": {fmt.Sprint(int64(out["change_seq"].(float64)))}})
	if st != http.StatusNotModified {
		t.Fatalf("registry unchanged %d", st)
	}
}
