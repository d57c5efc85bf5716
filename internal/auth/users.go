package auth

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	"golang.org/x/crypto/bcrypt"

	"github.com/mlgate/mlgate/internal/apierr"
)

// supportedTypes are the resource types mlgate keeps grants on.
var supportedTypes = map[string]bool{Experiment: true, RegisteredModel: true}

// mlflowTypes are the other resource types MLflow knows (not in mlgate).
var mlflowTypes = "('assessment', 'experiment', 'gateway_endpoint', 'gateway_model_definition', 'gateway_secret', 'logged_model', 'mcp_server', 'mcp_server_version', 'prompt', 'prompt_version', 'registered_model', 'registered_model_version', 'review_queue', 'run', 'scorer', 'scorer_version', 'trace', 'workspace')"

func checkResourceType(typ string) error {
	if supportedTypes[typ] {
		return nil
	}
	if typ == "workspace" {
		return apierr.New(apierr.InvalidParameterValue, "resource_type 'workspace' is not supported by the per-user permission convenience APIs. Use set_workspace_permission / delete_workspace_permission for workspace-wide grants.")
	}
	if strings.Contains(mlflowTypes, "'"+typ+"'") {
		return apierr.New(apierr.InvalidParameterValue, "resource_type '%s' is not supported by the per-user permission convenience APIs.", typ)
	}
	return apierr.New(apierr.InvalidParameterValue, "Invalid resource type '%s'. Valid resource types are: %s", typ, mlflowTypes)
}

// Mount registers the user and permission endpoints of MLflow's
// basic-auth app (what AuthServiceClient calls) under /api/ and /ajax-api/.
func (a *App) Mount(e gin.IRouter) {
	g, p, pa, d := http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete
	routes := []struct {
		method, path string
		fn           func(*request) (any, error)
	}{
		{p, "2.0/mlflow/users/create", a.createUser},
		{g, "2.0/mlflow/users/get", a.getUser},
		{g, "2.0/mlflow/users/current", a.currentUser},
		{g, "2.0/mlflow/users/list", a.listUsers},
		{pa, "2.0/mlflow/users/update-password", a.updatePassword},
		{pa, "2.0/mlflow/users/update-admin", a.updateAdmin},
		{d, "2.0/mlflow/users/delete", a.deleteUser},
		{p, "3.0/mlflow/users/permissions/grant", a.grant},
		{p, "3.0/mlflow/users/permissions/revoke", a.revoke},
		{g, "3.0/mlflow/users/permissions/get", a.getPermission},
	}
	for _, prefix := range []string{"/api/", "/ajax-api/"} {
		for _, rt := range routes {
			fn := rt.fn
			e.Handle(rt.method, prefix+rt.path, func(c *gin.Context) {
				u, _ := userFrom(c.Request.Context())
				out, err := fn(&request{a: a, c: c, u: u})
				if err != nil {
					apierr.Write(c, a.log, err)
					return
				}
				if s, ok := out.(plain); ok {
					c.Data(http.StatusBadRequest, "text/html; charset=utf-8", []byte(s))
					return
				}
				c.JSON(http.StatusOK, out)
			})
		}
	}
}

// plain is a 400 answered as text, as MLflow's user routes do.
type plain string

func (r *request) needs(names ...string) ([]string, error) {
	out := make([]string, len(names))
	for i, n := range names {
		v, err := r.need(n)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

func (a *App) createUser(r *request) (any, error) {
	if !strings.HasPrefix(r.c.ContentType(), "application/json") {
		return plain("Invalid content type. Must be application/json"), nil
	}
	v, err := r.needs("username", "password")
	if err != nil {
		return nil, err
	}
	if v[0] == "" || v[1] == "" {
		return plain("Username and password cannot be empty."), nil
	}
	u, err := a.store.CreateUser(r.c.Request.Context(), v[0], v[1], false)
	if err != nil {
		return nil, err
	}
	return gin.H{"user": u}, nil
}

func (a *App) getUser(r *request) (any, error) {
	name, err := r.need("username")
	if err != nil {
		return nil, err
	}
	u, err := a.store.GetUser(r.c.Request.Context(), name)
	if err != nil {
		return nil, err
	}
	return gin.H{"user": u}, nil
}

func (a *App) currentUser(r *request) (any, error) {
	return gin.H{"user": r.u, "is_basic_auth": true}, nil
}

func (a *App) listUsers(r *request) (any, error) {
	us, err := a.store.ListUsers(r.c.Request.Context())
	if err != nil {
		return nil, err
	}
	out := make([]gin.H, 0, len(us))
	for _, u := range us {
		out = append(out, gin.H{"id": u.ID, "username": u.Username, "is_admin": u.IsAdmin, "roles": []any{}})
	}
	return gin.H{"users": out}, nil
}

func (a *App) updatePassword(r *request) (any, error) {
	v, err := r.needs("username", "password")
	if err != nil {
		return nil, err
	}
	ctx := r.c.Request.Context()
	if v[0] == r.u.Username {
		cur, _, _ := r.param("current_password")
		if cur == "" {
			return nil, apierr.New(apierr.InvalidParameterValue, "Current password is required when changing your own password.")
		}
		u, err := a.store.GetUser(ctx, v[0])
		if err != nil || bcrypt.CompareHashAndPassword(u.hash, []byte(cur)) != nil {
			return nil, apierr.New(apierr.InvalidParameterValue, "Current password does not match.")
		}
		if cur == v[1] {
			return nil, apierr.New(apierr.InvalidParameterValue, "New password must differ from the current password.")
		}
	}
	defer a.reset()
	return gin.H{}, a.store.UpdatePassword(ctx, v[0], v[1])
}

func (a *App) updateAdmin(r *request) (any, error) {
	v, err := r.needs("username", "is_admin")
	if err != nil {
		return nil, err
	}
	admin, err := paramBool(v[1])
	if err != nil {
		return nil, apierr.New(apierr.InvalidParameterValue, "Invalid value for is_admin: %s", v[1])
	}
	defer a.reset()
	return gin.H{}, a.store.UpdateAdmin(r.c.Request.Context(), v[0], admin)
}

func (a *App) deleteUser(r *request) (any, error) {
	name, err := r.need("username")
	if err != nil {
		return nil, err
	}
	if name == r.u.Username {
		return nil, apierr.New(apierr.BadRequest, "Users cannot delete their own account. Ask another admin to delete this user instead.")
	}
	defer a.reset()
	return gin.H{}, a.store.DeleteUser(r.c.Request.Context(), name)
}

// target reads the username, resource_type and resource_id of the
// permission routes and resolves the user.
func (r *request) target() (User, string, string, error) {
	v, err := r.needs("username", "resource_type", "resource_id")
	if err != nil {
		return User{}, "", "", err
	}
	u, err := r.a.store.GetUser(r.c.Request.Context(), v[0])
	if err != nil {
		return User{}, "", "", err
	}
	if err := checkResourceType(v[1]); err != nil {
		return User{}, "", "", err
	}
	return u, v[1], v[2], nil
}

func (a *App) grant(r *request) (any, error) {
	u, typ, id, err := r.target()
	if err != nil {
		return nil, err
	}
	perm, err := r.need("permission")
	if err != nil {
		return nil, err
	}
	if err := grantable(perm, typ); err != nil {
		return nil, err
	}
	defer a.regrant()
	return gin.H{}, a.store.Grant(r.c.Request.Context(), u, typ, id, perm)
}

func (a *App) revoke(r *request) (any, error) {
	u, typ, id, err := r.target()
	if err != nil {
		return nil, err
	}
	defer a.regrant()
	return gin.H{}, a.store.Revoke(r.c.Request.Context(), u, typ, id)
}

func (a *App) getPermission(r *request) (any, error) {
	u, typ, id, err := r.target()
	if err != nil {
		return nil, err
	}
	p, err := a.Permission(r.c.Request.Context(), User{ID: u.ID}, typ, id)
	if err != nil {
		return nil, err
	}
	return gin.H{"allowed": p.Use, "permission": p.Name}, nil
}

// Current answers mlgate's GET /ajax-api/2.0/mlgate/users/current for the
// web UI: who is signed in, whether an admin, whether they may write
// anything (every user may create experiments and models, as in MLflow).
func (a *App) Current(c *gin.Context) {
	u, _ := userFrom(c.Request.Context())
	c.JSON(http.StatusOK, gin.H{"username": u.Username, "is_admin": u.IsAdmin, "can_write": true})
}

// CurrentUser is the same endpoint for the other auth modes: no auth is
// an admin; a users-file user may write when its role is write.
func CurrentUser(a *Authenticator) gin.HandlerFunc {
	return func(c *gin.Context) {
		if a == nil {
			c.JSON(http.StatusOK, gin.H{"username": "", "is_admin": true, "can_write": true})
			return
		}
		name, role := a.Identify(c.GetHeader("Authorization"))
		c.JSON(http.StatusOK, gin.H{"username": name, "is_admin": false, "can_write": role == Write})
	}
}
