package auth

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/crypto/bcrypt"

	"github.com/mlgate/mlgate/internal/apierr"
)

// ErrNoResource is what a Lookups function returns for a missing resource.
var ErrNoResource = errors.New("no such resource")

// Lookups resolve the resources a permission check is about; internal/app
// fills them from the tracking and registry stores.
type Lookups struct {
	// RunExperiment returns the experiment of a run.
	RunExperiment func(ctx context.Context, runID string) (string, error)
	// LoggedModelExperiment returns the experiment of a logged model.
	LoggedModelExperiment func(ctx context.Context, modelID string) (string, error)
	// ExperimentByName returns the id of the experiment called name.
	ExperimentByName func(ctx context.Context, name string) (string, error)
	// RegisteredModelExists reports whether a registered model exists.
	RegisteredModelExists func(ctx context.Context, name string) error
}

// App is MLflow's basic-auth app: users with passwords, admins, and
// permissions per experiment and registered model, enforced on every
// endpoint as MLflow enforces them.
type App struct {
	store *Store
	def   Permission
	look  Lookups
	log   *slog.Logger

	creds  *cache[[32]byte, *User] // credKey of name and password → user (never changed once kept)
	grants *cache[int64, grantSet] // user id → grants
	runs   *cache[[16]byte, int64] // run id → experiment id (immutable; see runKey)
	rules  ruleTable
}

// Bounds of the check path's caches, and how long a cached user or grant
// is trusted before it is checked against the store again (what another
// server sharing the database changed is seen within that time; this
// server's own writes are seen on the next request).
const (
	maxCredentials = 10_000
	maxGrantUsers  = 10_000
	maxRuns        = 100_000
	refreshAfter   = time.Second
)

// NewApp opens the basic-auth app on a store, creating the admin of cfg
// when the store has no user yet.
func NewApp(ctx context.Context, st *Store, cfg Config, look Lookups, log *slog.Logger) (*App, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.BcryptCost != 0 {
		st.cost = cfg.BcryptCost
	}
	a := &App{store: st, def: permissions[cfg.DefaultPermission], look: look, log: log,
		creds:  newCache[[32]byte, *User](maxCredentials, refreshAfter),
		grants: newCache[int64, grantSet](maxGrantUsers, refreshAfter),
		runs:   newCache[[16]byte, int64](maxRuns, 0), rules: newRuleTable()}
	n, err := st.CountUsers(ctx)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		switch {
		case cfg.AdminUsername == "":
			return nil, errors.New("basic-auth: no admin_username (set it in MLFLOW_AUTH_CONFIG_PATH or MLFLOW_AUTH_ADMIN_USERNAME)")
		case cfg.AdminPassword == "":
			return nil, fmt.Errorf("basic-auth: a password is needed to create the admin user '%s': set MLFLOW_AUTH_ADMIN_PASSWORD or admin_password in the file MLFLOW_AUTH_CONFIG_PATH names", cfg.AdminUsername)
		case cfg.AdminPassword == legacyAdminPassword:
			return nil, fmt.Errorf("basic-auth: refusing the insecure default password of old MLflow versions for the admin user '%s'", cfg.AdminUsername)
		}
		if _, err := st.CreateUser(ctx, cfg.AdminUsername, cfg.AdminPassword, true); err != nil && !isAlreadyExists(err) {
			return nil, fmt.Errorf("basic-auth: create admin: %w", err)
		}
	}
	return a, nil
}

func isAlreadyExists(err error) bool {
	var e *apierr.Error
	return errors.As(err, &e) && e.Code == apierr.ResourceAlreadyExists
}

// reset drops the cached users and grants (after a change to users:
// passwords, admin flags, deletions).
func (a *App) reset() {
	a.creds.invalidate()
	a.grants.invalidate()
}

// regrant drops the cached grants (after a grant changes).
func (a *App) regrant() {
	a.grants.invalidate()
}

// authenticate returns the user of a Basic Authorization header. A cached
// user older than refreshAfter is read again; while its password hash is
// the one the password was checked against, bcrypt does not run again. The
// connection's last sign-in, when it carried the same header, answers
// first (see signIn).
func (a *App) authenticate(ctx context.Context, header string) (*User, bool) {
	cn := connOf(ctx)
	if u, ok := a.remembered(cn, header); ok {
		return u, true
	}
	raw, ok := credentials(header, "Basic")
	if !ok {
		return nil, false
	}
	// Decoded on the stack: a cached credential costs no allocation.
	var src, dst [192]byte
	var b []byte
	if len(raw) <= len(src) {
		n, err := base64.StdEncoding.Decode(dst[:], src[:copy(src[:], raw)])
		if err != nil {
			return nil, false
		}
		b = dst[:n]
	} else {
		var err error
		if b, err = base64.StdEncoding.DecodeString(raw); err != nil {
			return nil, false
		}
	}
	colon := bytes.IndexByte(b, ':')
	if colon < 0 {
		return nil, false
	}
	key := credKey("basic", b[:colon], b[colon+1:])
	gen := a.creds.generation()
	old, at, had := a.creds.getAt(key)
	if had && a.creds.fresh(at) {
		cn.remember(header, old, gen, at)
		return old, true
	}
	name, pass := string(b[:colon]), string(b[colon+1:])
	u, err := a.store.GetUser(ctx, name)
	if err != nil {
		return nil, false
	}
	if !had || !bytes.Equal(u.hash, old.hash) {
		if bcrypt.CompareHashAndPassword(u.hash, []byte(pass)) != nil {
			return nil, false
		}
	}
	if u.IsAdmin && pass == legacyAdminPassword {
		return nil, false
	}
	if at, kept := a.creds.put(key, &u, gen); kept {
		cn.remember(header, &u, gen, at)
	}
	return &u, true
}

// Permission is u's effective permission on a resource.
func (a *App) Permission(ctx context.Context, u User, typ, id string) (Permission, error) {
	if u.IsAdmin {
		return ManagePerm, nil
	}
	g, _, fresh := a.grants.get(u.ID)
	if !fresh {
		gen := a.grants.generation()
		rows, err := a.store.Grants(ctx, u.ID)
		if err != nil {
			return NoPermissions, err
		}
		g = grantSetOf(rows)
		a.grants.put(u.ID, g, gen)
	}
	p, has := g.on(typ, id)
	return effective(p, has, a.def), nil
}

// runExperiment resolves (and caches) the experiment of a run.
func (a *App) runExperiment(ctx context.Context, runID string) (string, error) {
	k, ok := runKey(runID)
	if ok {
		if e, ok, _ := a.runs.get(k); ok {
			return strconv.FormatInt(e, 10), nil
		}
	}
	e, err := a.look.RunExperiment(ctx, runID)
	if err != nil {
		return "", err
	}
	a.keepRun(runID, e)
	return e, nil
}

// RunCreated keeps the experiment of a run just created (the tracking
// server's hook), so that the run's first request finds it without
// asking the store. A run never changes experiment, and the mapping
// grants nothing by itself: revocations are unaffected.
func (a *App) RunCreated(runID, experimentID string) {
	a.keepRun(runID, experimentID)
}

// keepRun caches a run's experiment when both ids have the canonical form
// the cache holds (nothing invalidates it: a run never changes experiment).
func (a *App) keepRun(runID, experimentID string) {
	k, ok := runKey(runID)
	e, err := strconv.ParseInt(experimentID, 10, 64)
	if ok && err == nil && strconv.FormatInt(e, 10) == experimentID {
		a.runs.put(k, e, 0)
	}
}

// runKey is the cache key of a run id in MLflow's form, 32 lower-case hex
// digits; other ids are not cached. Keys and values without pointers keep
// a cache of 100,000 runs out of the collector's marking.
func runKey(id string) ([16]byte, bool) {
	var k [16]byte
	if len(id) != 2*len(k) {
		return k, false
	}
	for i := range k {
		hi, ok1 := lowerHex(id[2*i])
		lo, ok2 := lowerHex(id[2*i+1])
		if !ok1 || !ok2 {
			return k, false
		}
		k[i] = hi<<4 | lo
	}
	return k, true
}

// lowerHex is the value of a lower-case hex digit.
func lowerHex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

type userKey struct{}

// userFrom returns the signed-in user a request context carries (as a
// pointer to the cached user, so that putting it in the context boxes
// nothing).
func userFrom(ctx context.Context) (User, bool) {
	u, ok := ctx.Value(userKey{}).(*User)
	if !ok {
		return User{}, false
	}
	return *u, true
}

// Unauthenticated is MLflow's 401 answer.
func unauthenticated(c *gin.Context) {
	c.Header("WWW-Authenticate", `Basic realm="mlflow"`)
	c.Data(401, "text/html; charset=utf-8", []byte("You are not authenticated. Please see https://www.mlflow.org/docs/latest/auth/index.html#authenticating-to-mlflow on how to authenticate."))
	c.Abort()
}

// forbidden is MLflow's 403 answer.
func forbidden(c *gin.Context) {
	c.Data(403, "text/html; charset=utf-8", []byte("Permission denied"))
	c.Abort()
}

// open lists the routes served without credentials: MLflow's unprotected
// prefixes (health, static files, server-info) and mlgate's /metrics.
// /version needs a signed-in user, as in MLflow.
func open(path string) bool {
	return strings.HasPrefix(path, "/health") || strings.HasPrefix(path, "/static") ||
		strings.HasPrefix(path, "/favicon.ico") || path == "/metrics" ||
		strings.HasSuffix(path, "/mlflow/server-info")
}

// Middleware authenticates every request but the open ones and checks the
// permission MLflow checks for its route; admins pass every check.
func (a *App) Middleware() gin.HandlerFunc {
	return func(c *gin.Context) {
		if open(c.Request.URL.Path) {
			c.Next()
			return
		}
		u, ok := a.authenticate(c.Request.Context(), c.GetHeader("Authorization"))
		if !ok {
			unauthenticated(c)
			return
		}
		c.Request = c.Request.WithContext(context.WithValue(c.Request.Context(), userKey{}, u))
		rl := a.rules.of(c.Request.Method, c.FullPath())
		r := requests.Get().(*request)
		*r = request{a: a, c: c, u: *u}
		defer func() { *r = request{}; requests.Put(r) }()
		if !u.IsAdmin && rl.check != nil {
			allowed, err := rl.check(r)
			if err != nil {
				apierr.Write(c, a.log, err)
				c.Abort()
				return
			}
			if !allowed {
				forbidden(c)
				return
			}
		}
		if rl.after == nil || (u.IsAdmin && !rl.after.always) {
			c.Next()
			return
		}
		a.runAfter(r, rl.after)
	}
}

// requests recycles the per-request check state.
var requests = sync.Pool{New: func() any { return new(request) }}

// route is a rule's key: a method and a route pattern below the API
// prefix ("POST /mlflow/runs/create" is the rule of
// /api/2.0/mlflow/runs/create and its /ajax-api/ twin).
type route struct{ method, path string }

// rulePrefixes are the prefixes a rule's route is served under: none, and
// the API's.
var rulePrefixes = []string{"", "/api/2.0", "/ajax-api/2.0", "/api/3.0", "/ajax-api/3.0"}

// rule is what the middleware does on a route: the check a non-admin
// passes (nil: signed in is enough) and the work on the answer.
type rule struct {
	check check
	after *after
}

// ruleTable finds a route's rule by method and full route pattern (gin's
// FullPath), with no prefix stripped or string built per request.
type ruleTable map[string]map[string]*rule

// noRule is the rule of routes without one.
var noRule = &rule{}

// newRuleTable lays checks and afters out under every prefix.
func newRuleTable() ruleTable {
	t := ruleTable{}
	at := func(rt route) []*rule {
		byPath := t[rt.method]
		if byPath == nil {
			byPath = map[string]*rule{}
			t[rt.method] = byPath
		}
		var out []*rule
		for _, p := range rulePrefixes {
			r := byPath[p+rt.path]
			if r == nil {
				r = &rule{}
				byPath[p+rt.path] = r
			}
			out = append(out, r)
		}
		return out
	}
	for rt, c := range checks {
		for _, r := range at(rt) {
			r.check = c
		}
	}
	for rt, x := range afters {
		for _, r := range at(rt) {
			r.after = x
		}
	}
	return t
}

// of returns the rule of a method and full route pattern.
func (t ruleTable) of(method, full string) *rule {
	if r := t[method][full]; r != nil {
		return r
	}
	return noRule
}
