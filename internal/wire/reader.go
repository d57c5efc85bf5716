// Package wire reads MLflow REST requests and writes their answers, for
// every mlgate server that speaks MLflow's REST API (tracking, model
// registry, the artifact proxy).
//
// A Reader holds one server's request rules (which methods carry a query
// string, the Content-Type check, the body limit); Read turns a request
// into a Request whose parameters are read with MLflow's rules: a JSON
// object body (or the legacy JSON string holding one), or the query string
// of a GET; int64 fields as numbers or decimal strings. Names match
// exactly (RUN_ID is not run_id); a body spelling a field two ways (run_id
// and runId) is refused; a body that is not UTF-8 reads as no body, as
// MLflow reads it; an unpaired surrogate escape is refused. Every validation
// message is produced here, in MLflow's words (FieldError, Missing), and
// names parameters as the client sent them. It imports only gin,
// internal/apierr and internal/pyfmt.
package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/mlgate/mlgate/internal/apierr"
)

// Reader holds a server's request rules.
type Reader struct {
	// MaxBody bounds a request body; a larger one is refused with 413.
	MaxBody int64
	// QueryMethods are the methods whose query string, when there is one,
	// holds the parameters (MLflow: GET).
	QueryMethods []string
	// JSONMethods are the methods whose body must be JSON.
	JSONMethods []string
	// RequireContentType refuses a JSONMethods request without a
	// Content-Type header (MLflow's rule); otherwise only a Content-Type
	// that is present must be application/json.
	RequireContentType bool
	// BadContentType is the message for a Content-Type that is not JSON;
	// {ct} stands for the header as sent.
	BadContentType string
	// Lenient reads a body that is not a JSON object as an empty request,
	// as Flask's get_json(silent=True) does for MLflow; otherwise it is
	// refused as malformed.
	Lenient bool
}

// Request is a request's parameters.
type Request struct {
	body   []byte                     // a JSON object, or nil
	fields map[string]json.RawMessage // its members, read when first asked for
	query  url.Values                 // or the query string
	err    error                      // the first parameter error (see Err)
}

// members returns the body's members.
func (r *Request) members() map[string]json.RawMessage {
	if r.fields == nil {
		r.fields = map[string]json.RawMessage{}
		if r.body != nil {
			_ = json.Unmarshal(r.body, &r.fields)
		}
	}
	return r.fields
}

// FromQuery reports whether the parameters came from the query string.
func (r *Request) FromQuery() bool { return r.query != nil }

// Read reads c's request with the reader's rules.
func (rd *Reader) Read(c *gin.Context) (*Request, error) {
	r := c.Request
	if slices.Contains(rd.QueryMethods, r.Method) && r.URL.RawQuery != "" {
		return &Request{query: r.URL.Query()}, nil
	}
	if slices.Contains(rd.JSONMethods, r.Method) {
		if err := rd.checkContentType(r.Header.Get("Content-Type")); err != nil {
			return nil, err
		}
	}
	req := &Request{}
	if r.Body == nil {
		return req, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, rd.MaxBody+1))
	if err != nil {
		return nil, Invalid("Bad Request. Could not read the request body: %v", err)
	}
	if int64(len(body)) > rd.MaxBody {
		return nil, &apierr.Error{Code: apierr.InvalidParameterValue, Status: http.StatusRequestEntityTooLarge,
			Message: fmt.Sprintf("Request body larger than %d bytes.", rd.MaxBody)}
	}
	body = bytes.TrimSpace(body)
	if !utf8.Valid(body) {
		return req, nil // MLflow (Flask's get_json(silent=True)) reads it as no body
	}
	if loneSurrogate(body) {
		return nil, Invalid("Malformed request: a string holds an unpaired UTF-16 surrogate escape")
	}
	if err := rd.parse(body, req); err != nil && !rd.Lenient {
		return nil, err
	}
	if err := aliasConflict(req.body); err != nil {
		return nil, err
	}
	return req, nil
}

func (rd *Reader) checkContentType(ct string) error {
	if ct == "" {
		if rd.RequireContentType {
			return Invalid("Bad Request. Content-Type header is missing.")
		}
		return nil
	}
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
		return apierr.New(apierr.InvalidParameterValue, "%s", strings.ReplaceAll(rd.BadContentType, "{ct}", ct))
	}
	return nil
}

// parse reads a JSON object body, or a JSON string holding one (what
// legacy clients send), into req.
func (rd *Reader) parse(body []byte, req *Request) error {
	if len(body) == 0 {
		return nil
	}
	if body[0] == '"' {
		var inner string
		if err := json.Unmarshal(body, &inner); err != nil {
			return Invalid("Malformed request body: %v", err)
		}
		if body = bytes.TrimSpace([]byte(inner)); len(body) == 0 {
			return nil
		}
	}
	if !json.Valid(body) {
		return Invalid("Malformed request: %v", json.Unmarshal(body, new(any)))
	}
	if string(body) == "null" {
		return nil
	}
	if body[0] != '{' {
		return Invalid("Malformed request: the body must be a JSON object")
	}
	req.body = body
	return nil
}

// Bind reads c's request into the struct v (fields named by their json
// tags). Parameters listed in lists are repeated in a query string.
func (rd *Reader) Bind(c *gin.Context, v any, lists ...string) error {
	r, err := rd.Read(c)
	if err != nil {
		return err
	}
	return r.Bind(v, lists...)
}

// Bind decodes the parameters into the struct v. A parameter whose value
// does not fit its field is a *FieldError naming the parameter.
func (r *Request) Bind(v any, lists ...string) error {
	if r.query == nil {
		if r.body == nil {
			return nil
		}
		if json.Unmarshal(exact(r.body, reflect.TypeOf(v)), v) == nil {
			return nil
		}
		return misfit(r.members(), v)
	}
	fields := make(map[string]json.RawMessage, len(r.query))
	for k, vals := range r.query {
		var err error
		if slices.Contains(lists, k) {
			fields[k], err = json.Marshal(vals)
		} else if len(vals) > 0 {
			fields[k], err = json.Marshal(vals[0])
		}
		if err != nil {
			return err
		}
	}
	return DecodeFields(fields, v)
}

// DecodeJSON decodes a JSON object body into the struct v with Bind's
// rules and messages.
func DecodeJSON(body []byte, v any) error {
	var rd Reader
	req := &Request{}
	if err := rd.parse(bytes.TrimSpace(body), req); err != nil {
		return err
	}
	return req.Bind(v)
}

// DecodeFields decodes a JSON object's members into the struct v. When the
// object does not fit, the error names the first member that does not fit
// its field (a *FieldError).
func DecodeFields(fields map[string]json.RawMessage, v any) error {
	b, err := json.Marshal(fields)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(exact(b, reflect.TypeOf(v)), v); err == nil {
		return nil
	}
	return misfit(fields, v)
}

// misfit is the error of members that do not decode into v.
func misfit(fields map[string]json.RawMessage, v any) error {
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if fe := firstMisfit(fields, t); fe != nil {
		return fe
	}
	return Invalid("Malformed request: the body does not fit the request")
}

// firstMisfit finds, in the order of t's fields (embedded structs
// flattened), the first member of fields that does not decode into its
// field's type.
func firstMisfit(fields map[string]json.RawMessage, t reflect.Type) *FieldError {
	if t.Kind() != reflect.Struct {
		return nil
	}
	for _, f := range jsonFields(t) {
		raw, ok := member(fields, f.name)
		if ok && json.Unmarshal(raw, reflect.New(f.typ).Interface()) != nil {
			return &FieldError{Param: f.name, Value: raw}
		}
	}
	return nil
}

// member finds a member by its exact name (MLflow's rule).
func member(fields map[string]json.RawMessage, name string) (json.RawMessage, bool) {
	raw, ok := fields[name]
	return raw, ok
}

// OK writes v (or {} when nil) as a 200 JSON answer.
func OK(c *gin.Context, v any) error {
	if v == nil {
		c.Data(http.StatusOK, "application/json", []byte("{}"))
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	c.Data(http.StatusOK, "application/json", b)
	return nil
}

// Handler is the shape of an MLflow REST handler: it takes the request's
// parameters and returns the answer's body (nil answers {}); an error is
// answered through internal/apierr in MLflow's format.
type Handler func(c *gin.Context, r *Request) (any, error)

// Handle adapts h to apierr.HandlerFunc: it reads the request with rd's
// rules, calls h and writes its answer with OK (unless h wrote its own).
func (rd *Reader) Handle(h Handler) apierr.HandlerFunc {
	return func(c *gin.Context) error {
		r, err := rd.Read(c)
		if err != nil {
			return err
		}
		v, err := h(c, r)
		if err != nil || c.Writer.Written() {
			return err
		}
		return OK(c, v)
	}
}
