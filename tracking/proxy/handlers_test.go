package proxy

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/mlgate/mlgate/artifacts"
)

// TestHandlersAnswerMLflowErrors checks the routes' answers, and that every
// failure is MLflow's JSON with the right status, a store's naming it.
func TestHandlersAnswerMLflowErrors(t *testing.T) {
	dest := t.TempDir()
	repo, err := artifacts.Open(context.Background(), dest, artifacts.Options{})
	if err != nil {
		t.Fatal(err)
	}
	roots := map[string]string{"r1": "mlflow-artifacts:/0/r1/artifacts", "ftp": "ftp://h/x", "web": "https://h.example/x"}
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	NewHandlers(Options{
		Resolver: &Resolver{Proxy: repo},
		RunArtifactURI: func(_ context.Context, id string) (string, error) {
			return roots[id], nil
		},
	}).Mount(e, nil, nil)
	srv := httptest.NewServer(e)
	defer srv.Close()
	call := func(method, path, body string) (int, string, string) {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		var m struct {
			Code string `json:"error_code"`
		}
		_ = json.Unmarshal(b, &m)
		return res.StatusCode, m.Code, string(b)
	}
	const art = "/api/2.0/mlflow-artifacts/artifacts/0/r1/artifacts"
	if code, _, body := call("PUT", art+"/d/a.txt", "hello"); code != 200 {
		t.Fatalf("put: %d %s", code, body)
	}
	if code, _, body := call("GET", "/get-artifact?run_id=r1&path=d/a.txt", ""); code != 200 || body != "hello" {
		t.Fatalf("get-artifact: %d %s", code, body)
	}
	if code, _, body := call("GET", "/api/2.0/mlflow/artifacts/list?run_id=r1&path=d", ""); code != 200 || !strings.Contains(body, `"file_size":5`) {
		t.Fatalf("list: %d %s", code, body)
	}
	for _, tc := range []struct {
		method, path string
		status       int
		code, says   string
	}{
		{"GET", "/get-artifact?run_id=r1&path=d/missing.txt", 404, "RESOURCE_DOES_NOT_EXIST", `"message":"No such artifact: '0/r1/artifacts/d/missing.txt'"`},
		{"GET", art + "/missing.bin", 404, "RESOURCE_DOES_NOT_EXIST", "missing.bin"},
		{"GET", "/get-artifact?run_id=r1&path=..%2f..%2fx", 400, "INVALID_PARAMETER_VALUE", `"message":"Invalid path"`},
		{"GET", "/get-artifact?run_id=r1", 400, "INVALID_PARAMETER_VALUE", "'path'"},
		{"PUT", "/api/2.0/mlflow-artifacts/artifacts/", 400, "INVALID_PARAMETER_VALUE", "file path"},
		{"DELETE", "/api/2.0/mlflow-artifacts/artifacts/", 400, "INVALID_PARAMETER_VALUE", "cannot be deleted"},
		{"GET", "/api/2.0/mlflow/artifacts/list?run_id=ftp", 400, "INVALID_PARAMETER_VALUE", "ftp"},
		{"GET", "/api/2.0/mlflow/artifacts/list?run_id=web", 400, "INVALID_PARAMETER_VALUE", "plain http"},
		{"POST", "/api/2.0/mlflow-artifacts/mpu/create/x", 501, "NOT_IMPLEMENTED", "Multipart"},
	} {
		status, code, body := call(tc.method, tc.path, "")
		if status != tc.status || code != tc.code || !strings.Contains(body, tc.says) {
			t.Errorf("%s %s: %d %s, want %d %s naming %q", tc.method, tc.path, status, body, tc.status, tc.code, tc.says)
		}
		if strings.Contains(body, dest) {
			t.Errorf("%s %s: %s tells the client the server's folder %s", tc.method, tc.path, body, dest)
		}
	}
	// MLflow's download content types: text/plain without a charset for
	// text files and MLmodel (not "MLproject": MLflow lists it in lower case),
	// the guessed type otherwise.
	for name, want := range map[string]string{"a.txt": "text/plain", "MLmodel": "text/plain", "MLproject": "application/octet-stream", "mlproject": "text/plain",
		"c.json": "text/plain", "m.pkl": "application/octet-stream", "p.png": "image/png", "t.tar.gz": "application/x-tar"} {
		if code, _, body := call("PUT", art+"/d/ct/"+name, "x"); code != 200 {
			t.Fatalf("put %s: %d %s", name, code, body)
		}
		res, err := http.Get(srv.URL + art + "/d/ct/" + name)
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		if got := res.Header.Get("Content-Type"); got != want {
			t.Errorf("%s: Content-Type %q, want %q", name, got, want)
		}
	}
	if code, _, body := call("DELETE", art+"/d", ""); code != 200 {
		t.Fatalf("delete: %d %s", code, body)
	}
	if code, _, body := call("GET", "/api/2.0/mlflow/artifacts/list?run_id=r1", ""); code != 200 || strings.Contains(body, "files") {
		t.Fatalf("list after delete: %d %s", code, body)
	}
}
