package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/mlgate/mlgate/internal/apierr"
	"github.com/mlgate/mlgate/registry/store"
)

// maxBody bounds request bodies; registry requests are small.
const maxBody = 8 << 20

const apiHint = " See the API docs for more information about request parameters."

// request is a parsed MLflow request: JSON fields or, for a GET with a
// query string, query parameters.
type request struct {
	fields map[string]json.RawMessage
	query  url.Values
}

func invalid(format string, args ...any) error {
	return apierr.New(apierr.InvalidParameterValue, format, args...)
}

func parseRequest(c *gin.Context) (*request, error) {
	r := c.Request
	if r.Method == http.MethodGet && r.URL.RawQuery != "" {
		return &request{query: r.URL.Query()}, nil
	}
	if r.Method == http.MethodPost || r.Method == http.MethodPut {
		ct := r.Header.Get("Content-Type")
		if ct == "" {
			return nil, invalid("Bad Request. Content-Type header is missing.")
		}
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			return nil, invalid("Bad Request. Content-Type must be one of ['application/json'].")
		}
	}
	req := &request{fields: map[string]json.RawMessage{}}
	if r.Body == nil {
		return req, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, invalid("Bad Request. Could not read the request body: %v", err)
	}
	if len(body) > maxBody {
		return nil, &apierr.Error{Code: apierr.InvalidParameterValue, Status: http.StatusRequestEntityTooLarge,
			Message: fmt.Sprintf("Request body larger than %d bytes.", maxBody)}
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return req, nil
	}
	// Legacy clients send the JSON object as a JSON string.
	if body[0] == '"' {
		var s string
		if json.Unmarshal(body, &s) == nil {
			body = []byte(s)
		}
	}
	if err := json.Unmarshal(body, &req.fields); err != nil {
		// Flask's get_json(silent=True) treats an unparsable body as empty.
		req.fields = map[string]json.RawMessage{}
	}
	return req, nil
}

func typeName(raw json.RawMessage) string {
	switch t := strings.TrimSpace(string(raw)); {
	case t == "true" || t == "false":
		return "bool"
	case strings.HasPrefix(t, "["):
		return "list"
	case strings.HasPrefix(t, "{"):
		return "dict"
	case strings.HasPrefix(t, "\""):
		return "str"
	case t == "null":
		return "NoneType"
	case strings.ContainsAny(t, ".eE"):
		return "float"
	default:
		return "int"
	}
}

func badType(name string, raw json.RawMessage) error {
	return invalid("Invalid value %s for parameter '%s' supplied. Hint: Value was of type '%s'.%s", string(raw), name, typeName(raw), apiHint)
}

// str returns a string field and whether it was present (and not null).
func (r *request) str(name string) (string, bool, error) {
	if r.query != nil {
		if _, ok := r.query[name]; !ok {
			return "", false, nil
		}
		return r.query.Get(name), true, nil
	}
	raw, ok := r.fields[name]
	if !ok || string(raw) == "null" {
		return "", false, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false, badType(name, raw)
	}
	return s, true, nil
}

func (r *request) optional(name string) (string, error) {
	s, _, err := r.str(name)
	return s, err
}

func (r *request) required(name string) (string, error) {
	s, _, err := r.str(name)
	if err != nil {
		return "", err
	}
	if s == "" {
		return "", invalid("Missing value for required parameter '%s'.%s", name, apiHint)
	}
	return s, nil
}

func (r *request) boolean(name string) (bool, error) {
	if r.query != nil {
		v, ok := r.query[name]
		if !ok {
			return false, nil
		}
		switch strings.ToLower(v[0]) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return false, invalid("Invalid boolean value: %s, must be 'true' or 'false'.", v[0])
	}
	raw, ok := r.fields[name]
	if !ok || string(raw) == "null" {
		return false, nil
	}
	var b bool
	if err := json.Unmarshal(raw, &b); err != nil {
		return false, badType(name, raw)
	}
	return b, nil
}

// integer reads an int64-like field (a number or a numeric string).
func (r *request) integer(name string, def int) (int, error) {
	var s string
	if r.query != nil {
		if _, ok := r.query[name]; !ok {
			return def, nil
		}
		s = r.query.Get(name)
	} else {
		raw, ok := r.fields[name]
		if !ok || string(raw) == "null" {
			return def, nil
		}
		s = strings.Trim(strings.TrimSpace(string(raw)), `"`)
		if typeName(raw) != "int" && typeName(raw) != "str" {
			return 0, badType(name, raw)
		}
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0, invalid("Invalid value %q for parameter '%s' supplied.%s", s, name, apiHint)
	}
	return n, nil
}

// list reads a repeated string field.
func (r *request) list(name string) ([]string, error) {
	if r.query != nil {
		return r.query[name], nil
	}
	raw, ok := r.fields[name]
	if !ok || string(raw) == "null" {
		return nil, nil
	}
	var out []string
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, badType(name, raw)
	}
	return out, nil
}

// tags reads a repeated {key, value} field.
func (r *request) tags() ([]store.Tag, error) {
	if r.query != nil {
		return nil, nil
	}
	raw, ok := r.fields["tags"]
	if !ok || string(raw) == "null" {
		return nil, nil
	}
	var items []struct {
		Key   *string `json:"key"`
		Value *string `json:"value"`
	}
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, badType("tags", raw)
	}
	out := make([]store.Tag, 0, len(items))
	for _, it := range items {
		if it.Key == nil || *it.Key == "" {
			return nil, invalid("Missing value for required parameter 'tags'.%s", apiHint)
		}
		t := store.Tag{Key: *it.Key}
		if it.Value != nil {
			t.Value = *it.Value
		}
		out = append(out, t)
	}
	return out, nil
}
