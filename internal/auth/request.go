package auth

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/mlgate/mlgate/internal/apierr"
)

// maxAuthBody bounds the body the permission check reads to find the
// resource a request names; larger bodies are read by the handler alone.
const maxAuthBody = 8 << 20

// request is one permission check: the signed-in user and MLflow's way of
// reading a request parameter (query for GET, JSON body for POST and
// PATCH, either for DELETE, then the path).
type request struct {
	a    *App
	c    *gin.Context
	u    User
	body map[string]json.RawMessage
	read bool
}

func (r *request) loadBody() {
	if r.read {
		return
	}
	r.read = true
	if r.c.Request.Body == nil {
		return
	}
	b, err := io.ReadAll(io.LimitReader(r.c.Request.Body, maxAuthBody+1))
	rest := r.c.Request.Body
	r.c.Request.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(b), rest), rest}
	if err != nil || len(b) > maxAuthBody {
		return
	}
	_ = json.Unmarshal(b, &r.body)
}

// param returns a request parameter and whether it is present.
func (r *request) param(name string) (string, bool) {
	var raw json.RawMessage
	var found bool
	switch r.c.Request.Method {
	case http.MethodGet:
		if v, ok := r.c.GetQuery(name); ok {
			return v, true
		}
	case http.MethodDelete:
		if !strings.HasPrefix(r.c.ContentType(), "application/json") {
			if v, ok := r.c.GetQuery(name); ok {
				return v, true
			}
			break
		}
		fallthrough
	default:
		r.loadBody()
		raw, found = r.body[name]
	}
	if found {
		return rawString(raw), true
	}
	for _, p := range r.c.Params {
		if p.Key == name {
			return p.Value, true
		}
	}
	return "", false
}

// rawString renders a JSON value as Python's str() of it would for the
// ids MLflow reads: strings as they are, numbers as written.
func rawString(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		return strconv.FormatBool(b)
	}
	return string(raw)
}

// need returns a required parameter or MLflow's error for a missing one.
func (r *request) need(name string) (string, error) {
	if v, ok := r.param(name); ok {
		return v, nil
	}
	if name == "run_id" {
		if v, ok := r.param("run_uuid"); ok {
			return v, nil
		}
	}
	return "", apierr.New(apierr.InvalidParameterValue,
		"Missing value for required parameter '%s'. See the API docs for more information about request parameters.", name)
}

// perm is the signed-in user's permission on a resource.
func (r *request) perm(typ, id string) (Permission, error) {
	return r.a.Permission(r.c.Request.Context(), r.u, typ, id)
}

// paramString is a parameter that must be a string (the admin flag may be
// a boolean).
func paramBool(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("not a boolean: %q", v)
}
