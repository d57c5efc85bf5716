//go:build integration

package app

import (
	"encoding/base64"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/mlgate/mlgate/internal/auth"
	"github.com/mlgate/mlgate/internal/db/dbtest"
)

func basic(user, pass string) []string {
	return []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))}
}

// TestPermissionTable runs MLflow's basic-auth permission table over HTTP
// on SQLite (users in their own database, as MLflow's default) and on
// PostgreSQL (users in the backend store).
func TestPermissionTable(t *testing.T) {
	for _, b := range dbtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			uri := b.URI(t)
			_, url, _ := startServer(t, func(o *ServerOptions) {
				o.BackendStoreURI = uri
				o.AppName = "basic-auth"
				o.BasicAuth = auth.Config{DefaultPermission: "NO_PERMISSIONS", AdminUsername: "admin",
					AdminPassword: "admin-password-1", DatabaseURI: uri, BcryptCost: bcrypt.MinCost}
				if b.Name == "sqlite" {
					o.BasicAuth.DatabaseURI = "sqlite:///" + filepath.Join(filepath.Dir(strings.TrimPrefix(uri, "sqlite:///")), "basic_auth.db")
				}
			})
			admin, alice, bob := basic("admin", "admin-password-1"), basic("alice", "alice-password"), basic("bob", "bob-password-1")
			api := url + "/api/2.0/mlflow/"
			type step struct {
				who                []string
				method, path, body string
				want               int
				has, hasNot        string
			}
			steps := []step{
				{nil, "GET", "/health", "", 200, "OK", ""},
				{nil, "GET", "/version", "", 401, "", ""},
				{nil, "GET", api + "experiments/get?experiment_id=0", "", 401, "not authenticated", ""},
				{basic("admin", "wrong-password"), "GET", api + "experiments/get?experiment_id=0", "", 401, "", ""},
				{admin, "POST", api + "users/create", `{"username":"alice","password":"alice-password"}`, 200, `"username":"alice"`, "password"},
				{admin, "POST", api + "users/create", `{"username":"bob","password":"bob-password-1"}`, 200, `"is_admin":false`, ""},
				{admin, "POST", api + "users/create", `{"username":"bob","password":"bob-password-1"}`, 400, "RESOURCE_ALREADY_EXISTS", ""},
				{admin, "POST", api + "users/create", `{"username":"carl","password":"short"}`, 400, "at least 12", ""},
				{bob, "POST", api + "users/create", `{"username":"eve","password":"eve-password-1"}`, 403, "Permission denied", ""},
				{alice, "POST", api + "experiments/create", `{"name":"alice-exp"}`, 200, `"experiment_id":"1"`, ""},
				{alice, "POST", api + "runs/create", `{"experiment_id":"1"}`, 200, "run_id", ""},
				{alice, "POST", api + "registered-models/create", `{"name":"m"}`, 200, `"name":"m"`, ""},
				{bob, "GET", api + "experiments/get?experiment_id=1", "", 403, "", ""},
				{bob, "GET", api + "experiments/get-by-name?experiment_name=alice-exp", "", 403, "", ""},
				{bob, "GET", api + "experiments/get-by-name?experiment_name=nope", "", 404, "RESOURCE_DOES_NOT_EXIST", ""},
				{bob, "POST", api + "experiments/search", `{"max_results":10}`, 200, "", "alice-exp"},
				{bob, "GET", api + "registered-models/get?name=m", "", 403, "", ""},
				{bob, "GET", api + "registered-models/search", "", 200, "", `"m"`},
				{bob, "DELETE", api + "registered-models/delete", `{"name":"m"}`, 403, "", ""},
				{bob, "GET", api + "runs/get?run_id=0123456789abcdef0123456789abcdef", "", 403, "", ""},
				{bob, "POST", "/api/3.0/mlflow/users/permissions/grant", `{"username":"bob","resource_type":"experiment","resource_id":"1","permission":"READ"}`, 403, "", ""},
				{alice, "POST", "/api/3.0/mlflow/users/permissions/grant", `{"username":"bob","resource_type":"experiment","resource_id":"1","permission":"EDIT"}`, 200, "{}", ""},
				{bob, "GET", "/ajax-api/2.0/mlflow/experiments/get?experiment_id=1", "", 200, "alice-exp", ""},
				{bob, "POST", api + "experiments/search", `{"max_results":10}`, 200, "alice-exp", ""},
				{bob, "POST", api + "experiments/update", `{"experiment_id":"1","new_name":"renamed"}`, 200, "", ""},
				{bob, "POST", api + "experiments/delete", `{"experiment_id":"1"}`, 403, "", ""},
				{bob, "POST", "/api/3.0/mlflow/users/permissions/grant", `{"username":"alice","resource_type":"experiment","resource_id":"1","permission":"READ"}`, 403, "", ""},
				{bob, "GET", "/api/3.0/mlflow/users/permissions/get?username=bob&resource_type=experiment&resource_id=1", "", 200, `"permission":"EDIT"`, ""},
				{alice, "POST", "/api/3.0/mlflow/users/permissions/grant", `{"username":"bob","resource_type":"registered_model","resource_id":"m","permission":"MANAGE"}`, 200, "", ""},
				{bob, "PATCH", api + "registered-models/update", `{"name":"m","description":"d"}`, 200, "", ""},
				{bob, "GET", api + "registered-models/search", "", 200, `"m"`, ""},
				{bob, "GET", "/ajax-api/2.0/mlgate/users/current", "", 200, `{"can_write":true,"is_admin":false,"username":"bob"}`, ""},
				{bob, "GET", api + "users/get?username=alice", "", 403, "", ""},
				{bob, "DELETE", api + "registered-models/delete", `{"name":"m"}`, 200, "", ""},
				{admin, "PATCH", api + "users/update-admin", `{"username":"bob","is_admin":true}`, 200, "", ""},
				{bob, "POST", api + "experiments/delete", `{"experiment_id":"1"}`, 200, "", ""},
				{admin, "DELETE", api + "users/delete", `{"username":"bob"}`, 200, "", ""},
				{bob, "GET", api + "experiments/get?experiment_id=0", "", 401, "", ""},
			}
			for i, s := range steps {
				u := s.path
				if strings.HasPrefix(u, "/") {
					u = url + u
				}
				code, body := call(t, s.method, u, s.body, s.who...)
				if code != s.want || !strings.Contains(body, s.has) || (s.hasNot != "" && strings.Contains(body, s.hasNot)) {
					t.Fatalf("step %d %s %s: %d %s; want %d with %q without %q", i, s.method, s.path, code, body, s.want, s.has, s.hasNot)
				}
			}
		})
	}
}

// TestCurrentUserWithoutAuth answers the UI's who-am-I with no auth: an
// admin who may write.
func TestCurrentUserWithoutAuth(t *testing.T) {
	_, url, _ := startServer(t, nil)
	code, body := call(t, "GET", url+"/ajax-api/2.0/mlgate/users/current", "")
	if code != 200 || body != `{"can_write":true,"is_admin":true,"username":""}` {
		t.Fatalf("%d %s", code, body)
	}
}
