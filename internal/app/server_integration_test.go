//go:build integration

package app

import (
	"strings"
	"testing"

	"github.com/mlgate/mlgate/internal/db/dbtest"
)

// TestServerOnPostgres runs the composed server (tracking and registry
// migrations, routes) on a fresh PostgreSQL database.
func TestServerOnPostgres(t *testing.T) {
	uri := dbtest.PostgresURI(t)
	_, url, _ := startServer(t, func(o *ServerOptions) { o.BackendStoreURI = uri })
	code, body := call(t, "POST", url+"/api/2.0/mlflow/experiments/create", `{"name":"pg"}`)
	if code != 200 || !strings.Contains(body, `"experiment_id":"1"`) {
		t.Fatalf("create experiment %d %s", code, body)
	}
	code, body = call(t, "POST", url+"/api/2.0/mlflow/runs/create", `{"experiment_id":"1","run_name":"r"}`)
	if code != 200 {
		t.Fatalf("create run %d %s", code, body)
	}
	code, body = call(t, "POST", url+"/api/2.0/mlflow/runs/search", `{"experiment_ids":["1"],"filter":"attributes.run_name = 'r'"}`)
	if code != 200 || !strings.Contains(body, `"run_name":"r"`) {
		t.Fatalf("search %d %s", code, body)
	}
	code, body = call(t, "POST", url+"/api/2.0/mlflow/registered-models/create", `{"name":"m"}`)
	if code != 200 {
		t.Fatalf("registry on the same database: %d %s", code, body)
	}
}
