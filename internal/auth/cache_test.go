package auth

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/crypto/bcrypt"

	"github.com/mlgate/mlgate/internal/db"
)

func TestCacheGenerationAndBounds(t *testing.T) {
	c := newCache[string, int](2, 0)
	gen := c.generation()
	c.invalidate() // a write lands while a read is in flight
	c.put("a", 1, gen)
	if _, ok, _ := c.get("a"); ok {
		t.Fatal("a read that raced an invalidation was kept")
	}
	gen = c.generation()
	c.put("a", 1, gen)
	c.put("b", 2, gen)
	if v, ok, fresh := c.get("a"); v != 1 || !ok || !fresh {
		t.Fatalf("a = %d %v %v", v, ok, fresh)
	}
	c.put("c", 3, gen) // full: dropped whole, then c kept
	if _, ok, _ := c.get("a"); ok {
		t.Fatal("the bound was not kept")
	}
	if v, ok, _ := c.get("c"); v != 3 || !ok {
		t.Fatal("c not kept")
	}

	now := time.Unix(1000, 0)
	s := newCache[string, int](10, time.Second)
	s.now = func() time.Time { return now }
	s.put("x", 1, s.generation())
	if _, ok, fresh := s.get("x"); !ok || !fresh {
		t.Fatal("x not fresh")
	}
	now = now.Add(time.Second)
	if v, ok, fresh := s.get("x"); v != 1 || !ok || fresh {
		t.Fatalf("x after ttl: %d %v %v", v, ok, fresh)
	}
}

func TestCredKeySeparatesParts(t *testing.T) {
	if credKey("basic", "ab", "c") == credKey("basic", "a", "bc") || credKey("basic", "a", "b") == credKey("bearer", "a", "b") {
		t.Fatal("distinct credentials share a key")
	}
}

// permApp is a basic-auth app on a SQLite store with a non-admin "bob"
// and an engine whose runs/get and experiments/get go through its
// middleware; run r1 is in experiment 1.
func permApp(t testing.TB, d *db.DB) (*App, *Store, *gin.Engine) {
	t.Helper()
	return permAppWith(t, d, func(_ context.Context, id string) (string, error) {
		if id == "r1" {
			return "1", nil
		}
		return "", ErrNoResource
	})
}

// permAppWith is permApp with look as the run → experiment lookup.
func permAppWith(t testing.TB, d *db.DB, look func(ctx context.Context, runID string) (string, error)) (*App, *Store, *gin.Engine) {
	t.Helper()
	ctx := context.Background()
	st, err := OpenStore(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{DefaultPermission: "NO_PERMISSIONS", AdminUsername: "admin", AdminPassword: "admin-password-1", BcryptCost: bcrypt.MinCost}
	a, err := NewApp(ctx, st, cfg, Lookups{RunExperiment: look}, nil)
	if err != nil {
		t.Fatal(err)
	}
	gin.SetMode(gin.TestMode)
	e := gin.New()
	e.Use(a.Middleware())
	a.Mount(e)
	e.GET("/api/2.0/mlflow/runs/get", func(c *gin.Context) { c.JSON(200, gin.H{"run": gin.H{}}) })
	e.GET("/api/2.0/mlflow/experiments/get", func(c *gin.Context) { c.JSON(200, gin.H{"experiment": gin.H{}}) })
	return a, st, e
}

func openDB(t testing.TB) *db.DB {
	t.Helper()
	d, err := db.Open(context.Background(), "sqlite:///"+filepath.Join(t.TempDir(), "auth.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

func do(t *testing.T, e *gin.Engine, method, path, body, hdr string) int {
	t.Helper()
	var req *http.Request
	if body == "" {
		req = httptest.NewRequest(method, path, nil)
	} else {
		req = httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", hdr)
	w := httptest.NewRecorder()
	e.ServeHTTP(w, req)
	return w.Code
}

// TestRevokeTakesEffectOnNextRequest: the check path caches users and
// grants; every write through the API is seen by the very next request.
func TestRevokeTakesEffectOnNextRequest(t *testing.T) {
	_, _, e := permApp(t, openDB(t))
	revokeSequence(t, func(method, path, body, hdr string) int { return do(t, e, method, path, body, hdr) })
}

// revokeSequence is the sequence of TestRevokeTakesEffectOnNextRequest,
// sent by send to a server made by permApp.
func revokeSequence(t *testing.T, send func(method, path, body, hdr string) int) {
	t.Helper()
	admin, bob := basicHeader("admin", "admin-password-1"), basicHeader("bob", "bob-password-1")
	get := "/api/2.0/mlflow/runs/get?run_id=r1"
	grant := `{"username":"bob","resource_type":"experiment","resource_id":"1","permission":"READ"}`
	steps := []struct {
		who, method, path, body string
		want                    int
	}{
		{admin, "POST", "/api/2.0/mlflow/users/create", `{"username":"bob","password":"bob-password-1"}`, 200},
		{bob, "GET", get, "", 403},
		{bob, "GET", get, "", 403}, // cached denial
		{admin, "POST", "/api/3.0/mlflow/users/permissions/grant", grant, 200},
		{bob, "GET", get, "", 200},
		{bob, "GET", get, "", 200}, // cached grant
		{admin, "POST", "/api/3.0/mlflow/users/permissions/revoke", grant, 200},
		{bob, "GET", get, "", 403},
		{admin, "POST", "/api/3.0/mlflow/users/permissions/grant", grant, 200},
		{bob, "GET", get, "", 200},
		{admin, "PATCH", "/api/2.0/mlflow/users/update-password", `{"username":"bob","password":"bob-password-2"}`, 200},
		{bob, "GET", get, "", 401}, // the old password is gone at once
		{basicHeader("bob", "bob-password-2"), "GET", get, "", 200},
		{admin, "PATCH", "/api/2.0/mlflow/users/update-admin", `{"username":"bob","is_admin":true}`, 200},
		{basicHeader("bob", "bob-password-2"), "GET", "/api/2.0/mlflow/experiments/get?experiment_id=7", "", 200},
		{admin, "PATCH", "/api/2.0/mlflow/users/update-admin", `{"username":"bob","is_admin":false}`, 200},
		{basicHeader("bob", "bob-password-2"), "GET", "/api/2.0/mlflow/experiments/get?experiment_id=7", "", 403},
		{admin, "DELETE", "/api/2.0/mlflow/users/delete", `{"username":"bob"}`, 200},
		{basicHeader("bob", "bob-password-2"), "GET", get, "", 401},
	}
	for i, s := range steps {
		if got := send(s.method, s.path, s.body, s.who); got != s.want {
			t.Fatalf("step %d %s %s: %d, want %d", i, s.method, s.path, got, s.want)
		}
	}
}

// TestOtherServerWritesSeenAfterRefresh: two servers share the users
// database; what one changes the other sees once its cached entries are
// older than refreshAfter, without running bcrypt again for a password
// that did not change.
func TestOtherServerWritesSeenAfterRefresh(t *testing.T) {
	otherServerSequence(t, func(t *testing.T, _ *App, e *gin.Engine) func(method, path, body, hdr string) int {
		return func(method, path, body, hdr string) int { return do(t, e, method, path, body, hdr) }
	})
}

// otherServerSequence is the sequence of
// TestOtherServerWritesSeenAfterRefresh, sent to the other server through
// what via returns for it.
func otherServerSequence(t *testing.T, via func(t *testing.T, a *App, e *gin.Engine) func(method, path, body, hdr string) int) {
	t.Helper()
	d := openDB(t)
	_, st, e1 := permApp(t, d)
	a2, _, e2 := permApp(t, d)
	send2 := via(t, a2, e2)
	now := time.Unix(1000, 0)
	clock := func() time.Time { return now }
	a2.creds.now, a2.grants.now = clock, clock
	ctx := context.Background()
	bob, err := st.CreateUser(ctx, "bob", "bob-password-1", false)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Grant(ctx, bob, Experiment, "1", "READ"); err != nil {
		t.Fatal(err)
	}
	hdr := basicHeader("bob", "bob-password-1")
	get := "/api/2.0/mlflow/runs/get?run_id=r1"
	if c := send2("GET", get, "", hdr); c != 200 {
		t.Fatalf("before: %d", c)
	}
	if c := do(t, e1, "POST", "/api/3.0/mlflow/users/permissions/revoke",
		`{"username":"bob","resource_type":"experiment","resource_id":"1"}`, basicHeader("admin", "admin-password-1")); c != 200 {
		t.Fatalf("revoke: %d", c)
	}
	if c := do(t, e1, "GET", get, "", hdr); c != 403 {
		t.Fatalf("the revoking server: %d", c)
	}
	now = now.Add(refreshAfter)
	if c := send2("GET", get, "", hdr); c != 403 {
		t.Fatalf("the other server after %v: %d", refreshAfter, c)
	}
	// A stale user whose hash did not change is refreshed without bcrypt:
	// the entry's hash is the one the store still holds.
	key := credKey("basic", "bob", "bob-password-1")
	u, ok, fresh := a2.creds.get(key)
	if !ok || !fresh || u.Username != "bob" {
		t.Fatalf("bob's entry: %+v %v %v", u, ok, fresh)
	}
	if err := st.UpdatePassword(ctx, "bob", "bob-password-2"); err != nil {
		t.Fatal(err)
	}
	now = now.Add(refreshAfter)
	if c := send2("GET", get, "", hdr); c != 401 {
		t.Fatalf("old password on the other server after %v: %d", refreshAfter, c)
	}
}

// TestRunCreatedNeedsNoLookup: a run the tracking server reports created
// is checked on its experiment without a lookup; other runs are looked up
// once (ids not in MLflow's form every time: they are not cached); grants
// on the experiment still take effect on the next request.
func TestRunCreatedNeedsNoLookup(t *testing.T) {
	const (
		fresh     = "0123456789abcdef0123456789abcdef"
		elsewhere = "00000000000000000000000000000002"
		older     = "fedcba9876543210fedcba9876543210"
		odd       = "R1"
	)
	var lookups []string
	a, st, e := permAppWith(t, openDB(t), func(_ context.Context, id string) (string, error) {
		lookups = append(lookups, id)
		if id == older || id == odd {
			return "1", nil
		}
		return "", ErrNoResource
	})
	ctx := context.Background()
	bob, err := st.CreateUser(ctx, "bob", "bob-password-1", false)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Grant(ctx, bob, Experiment, "1", "READ"); err != nil {
		t.Fatal(err)
	}
	a.RunCreated(fresh, "1")
	a.RunCreated(elsewhere, "2")
	hdr, admin := basicHeader("bob", "bob-password-1"), basicHeader("admin", "admin-password-1")
	get := func(run string) int { return do(t, e, "GET", "/api/2.0/mlflow/runs/get?run_id="+run, "", hdr) }
	if c := get(fresh); c != 200 {
		t.Fatalf("a created run in a readable experiment: %d", c)
	}
	if c := get(elsewhere); c != 403 {
		t.Fatalf("a created run in another experiment: %d", c)
	}
	if len(lookups) != 0 {
		t.Fatalf("created runs were looked up: %v", lookups)
	}
	if c, c2 := get(older), get(older); c != 200 || c2 != 200 || len(lookups) != 1 {
		t.Fatalf("an older run: %d then %d, %d lookups (%v), want 200, 200 and one lookup", c, c2, len(lookups), lookups)
	}
	if c, c2 := get(odd), get(odd); c != 200 || c2 != 200 || len(lookups) != 3 {
		t.Fatalf("a run id not in MLflow's form: %d then %d, %d lookups (%v), want 200, 200 and a lookup each", c, c2, len(lookups), lookups)
	}
	if c := get(strings.ToUpper(fresh)); c != 403 || len(lookups) != 4 {
		t.Fatalf("the upper-case spelling of a created run's id: %d after %d lookups, want a lookup (not the cache) and 403", c, len(lookups))
	}
	if c := do(t, e, "POST", "/api/3.0/mlflow/users/permissions/revoke",
		`{"username":"bob","resource_type":"experiment","resource_id":"1"}`, admin); c != 200 {
		t.Fatalf("revoke: %d", c)
	}
	if c := get(fresh); c != 403 {
		t.Fatalf("a created run after the revoke: %d", c)
	}
}

func TestRunKeyTakesMLflowsFormOnly(t *testing.T) {
	k, ok := runKey("0123456789abcdef0123456789abcdef")
	if !ok || k != [16]byte{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef} {
		t.Fatalf("%x %v", k, ok)
	}
	for _, id := range []string{"", "r1", "0123456789ABCDEF0123456789abcdef", "0123456789abcdef0123456789abcdeg",
		"0123456789abcdef0123456789abcde", "0123456789abcdef0123456789abcdef0", "0123456789abcdef0123456789abcd\xc3\xa9"} {
		if _, ok := runKey(id); ok {
			t.Errorf("%q was given a key", id)
		}
	}
}
