package auth

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
)

func TestEffectivePermission(t *testing.T) {
	cases := []struct {
		grant, wildcard string
		has, hasWild    bool
		def, want       string
	}{
		{"", "", false, false, "READ", "READ"},
		{"", "", false, false, "NO_PERMISSIONS", "NO_PERMISSIONS"},
		{"EDIT", "", true, false, "NO_PERMISSIONS", "EDIT"},
		{"READ", "", true, false, "EDIT", "EDIT"}, // the default is a floor under a grant
		{"DENY", "", true, false, "MANAGE", "DENY"},
		{"READ", "MANAGE", true, true, "NO_PERMISSIONS", "MANAGE"},
		{"MANAGE", "DENY", true, true, "READ", "DENY"},
		{"", "USE", false, true, "NO_PERMISSIONS", "USE"},
	}
	for _, c := range cases {
		g, has := permissions[c.grant], c.has
		if c.hasWild {
			g, has = fold(g, has, permissions[c.wildcard]), true
		}
		if got := effective(g, has, permissions[c.def]); got.Name != c.want {
			t.Errorf("%+v: got %s", c, got.Name)
		}
	}
	if !ManagePerm.Delete || EditPerm.Delete || !EditPerm.Update || ReadPerm.Update || UsePerm.Update || !UsePerm.Use {
		t.Fatal("abilities differ from MLflow's table")
	}
}

func TestGrantable(t *testing.T) {
	for name, ok := range map[string]bool{"READ": true, "USE": true, "EDIT": true, "MANAGE": true, "DENY": true,
		"NO_PERMISSIONS": false, "OWNER": false, "read": false} {
		if err := grantable(name, Experiment); (err == nil) != ok {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestParseConfig(t *testing.T) {
	c, err := ParseConfig(strings.NewReader("# comment\n[other]\ndefault_permission = EDIT\n[mlflow]\ndefault_permission = NO_PERMISSIONS\n" +
		"database_uri = sqlite:///auth.db\nadmin_username = root\n; note\nadmin_password = pw-123456789012\n"))
	if err != nil || c != (Config{DefaultPermission: "NO_PERMISSIONS", DatabaseURI: "sqlite:///auth.db", AdminUsername: "root", AdminPassword: "pw-123456789012"}) {
		t.Fatalf("%+v %v", c, err)
	}
	if _, err := ParseConfig(strings.NewReader("[mlflow]\nadmin_username = x\n")); err == nil {
		t.Fatal("a config without default_permission and database_uri must fail")
	}
	env := map[string]string{"MLFLOW_AUTH_ADMIN_PASSWORD": "from-env-password"}
	c, err = LoadConfig(func(k string) string { return env[k] })
	if err != nil || c.DefaultPermission != "READ" || c.DatabaseURI != "sqlite:///basic_auth.db" || c.AdminUsername != "admin" || c.AdminPassword != "from-env-password" {
		t.Fatalf("defaults: %+v %v", c, err)
	}
	if err := (Config{DefaultPermission: "DENY"}).validate(); err == nil {
		t.Fatal("DENY is no default")
	}
}

func TestCurrentUserFromUsersFile(t *testing.T) {
	a, err := Parse(strings.NewReader("alice:" + hash(t, "pw") + "\nbob:" + hash(t, "ro") + ":read\n"))
	if err != nil {
		t.Fatal(err)
	}
	gin.SetMode(gin.TestMode)
	r := gin.New()
	r.GET("/me", CurrentUser(a))
	for hdr, want := range map[string]string{
		basicHeader("alice", "pw"): `{"can_write":true,"is_admin":false,"username":"alice"}`,
		basicHeader("bob", "ro"):   `{"can_write":false,"is_admin":false,"username":"bob"}`,
	} {
		req := httptest.NewRequest("GET", "/me", nil)
		req.Header.Set("Authorization", hdr)
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		if w.Body.String() != want {
			t.Errorf("%s: %s", hdr, w.Body.String())
		}
	}
}
