package auth

import (
	"bytes"
	"encoding/json"
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
	body map[string][]json.RawMessage
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
	var buf bytes.Buffer
	if n := r.c.Request.ContentLength; n > 0 && n <= maxAuthBody {
		buf.Grow(int(n) + bytes.MinRead)
	}
	_, err := buf.ReadFrom(io.LimitReader(r.c.Request.Body, maxAuthBody+1))
	b := buf.Bytes()
	rest := r.c.Request.Body
	r.c.Request.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(b), rest), rest}
	if err != nil || len(b) > maxAuthBody {
		return
	}
	r.body = topLevel(b)
}

// fold is how a decoder might match a field name: case and underscores
// ignored (run_id, runId, RUN_ID are one name).
func foldName(s string) string {
	return strings.ToLower(strings.ReplaceAll(s, "_", ""))
}

// errAmbiguous refuses a request naming one parameter twice with different
// values: the check and the handler must not read different resources.
func errAmbiguous(name string) error {
	return apierr.New(apierr.InvalidParameterValue, "Parameter '%s' is given more than once with different values.", name)
}

// one returns the single value of a parameter among all spellings.
func one(vals []string, name string) (string, bool, error) {
	if len(vals) == 0 {
		return "", false, nil
	}
	for _, v := range vals[1:] {
		if v != vals[0] {
			return "", false, errAmbiguous(name)
		}
	}
	return vals[0], true, nil
}

// param returns a request parameter and whether it is present.
func (r *request) param(name string) (string, bool, error) {
	var vals []string
	switch r.c.Request.Method {
	case http.MethodGet:
		vals = r.queryVals(name)
	case http.MethodDelete:
		if !strings.HasPrefix(r.c.ContentType(), "application/json") {
			vals = r.queryVals(name)
			break
		}
		fallthrough
	default:
		r.loadBody()
		for _, raw := range r.body[foldName(name)] {
			vals = append(vals, rawString(raw))
		}
	}
	if len(vals) > 0 {
		return one(vals, name)
	}
	for _, p := range r.c.Params {
		if p.Key == name {
			return p.Value, true, nil
		}
	}
	return "", false, nil
}

func (r *request) queryVals(name string) []string {
	var vals []string
	want := foldName(name)
	for k, vs := range r.c.Request.URL.Query() {
		if foldName(k) == want {
			vals = append(vals, vs...)
		}
	}
	return vals
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
	v, ok, err := r.param(name)
	if err != nil || ok {
		return v, err
	}
	if name == "run_id" {
		if v, ok, err := r.param("run_uuid"); err != nil || ok {
			return v, err
		}
	}
	return "", apierr.New(apierr.InvalidParameterValue,
		"Missing value for required parameter '%s'. See the API docs for more information about request parameters.", name)
}

// perm is the signed-in user's permission on a resource.
func (r *request) perm(typ, id string) (Permission, error) {
	return r.a.Permission(r.c.Request.Context(), r.u, typ, id)
}

// paramBool reads the admin flag, a JSON boolean or its text.
func paramBool(v string) (bool, error) {
	return strconv.ParseBool(strings.ToLower(v))
}
