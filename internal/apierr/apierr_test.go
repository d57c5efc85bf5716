package apierr

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
)

// serveErr answers one request with err through Handle and returns the
// recorded response.
func serveErr(t *testing.T, err error) *httptest.ResponseRecorder {
	t.Helper()
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.GET("/x", Handle(nil, func(*gin.Context) error { return err }))
	w := httptest.NewRecorder()
	e.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/x", nil))
	return w
}

func TestWriteJSONCarriesSQLStateAndErrorClass(t *testing.T) {
	cases := []struct {
		err        error
		status     int
		code       Code
		sqlstate   string
		errorClass Class
	}{
		{New(BadRequest, "bad"), 400, BadRequest, "KAM00", ClassInvalidParameterValue},
		{New(InvalidParameterValue, "bad"), 400, InvalidParameterValue, "KAM00", ClassInvalidParameterValue},
		{New(ResourceDoesNotExist, "gone"), 404, ResourceDoesNotExist, "KAM00", ClassResourceNotFound},
		{New(TemporarilyUnavailable, "later"), 503, TemporarilyUnavailable, "XXM00", ClassClientInternalError},
		{errors.New("boom"), 500, InternalError, "XXM00", ClassClientInternalError},
		{&Error{Code: InvalidParameterValue, Message: "schema", Class: ClassSchemaEnforcementFailed}, 400,
			InvalidParameterValue, "KAM01", ClassSchemaEnforcementFailed},
		// MLflow derives no class for these codes: both fields are left out.
		{New(RequestLimitExceeded, "slow"), 429, RequestLimitExceeded, "", ""},
		{fmt.Errorf("wrapped: %w", context.DeadlineExceeded), 504, DeadlineExceeded, "", ""},
	}
	for _, c := range cases {
		w := serveErr(t, c.err)
		if w.Code != c.status {
			t.Errorf("%v: status %d, want %d", c.err, w.Code, c.status)
		}
		if ct := w.Header().Get("Content-Type"); ct != "application/json" {
			t.Errorf("%v: content type %q", c.err, ct)
		}
		var m map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
			t.Fatalf("%v: body %q: %v", c.err, w.Body.String(), err)
		}
		if m["error_code"] != string(c.code) || m["message"] != c.err.Error() {
			t.Errorf("%v: body %v", c.err, m)
		}
		if got, _ := m["sqlstate"].(string); got != c.sqlstate {
			t.Errorf("%v: sqlstate %q, want %q", c.err, got, c.sqlstate)
		}
		if got, _ := m["error_class"].(string); got != string(c.errorClass) {
			t.Errorf("%v: error_class %q, want %q", c.err, got, c.errorClass)
		}
		_, hasSQL := m["sqlstate"]
		if hasSQL != (c.sqlstate != "") {
			t.Errorf("%v: sqlstate present=%v", c.err, hasSQL)
		}
	}
}

func TestWritePlainAndDetail(t *testing.T) {
	const msg = "This predictor only supports the following content types: Got 'text/plain'."
	w := serveErr(t, Plain(http.StatusUnsupportedMediaType, BadRequest, msg))
	if w.Code != 415 || w.Body.String() != msg || w.Header().Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Errorf("plain: %d %q %q", w.Code, w.Header().Get("Content-Type"), w.Body.String())
	}

	timeout := &Error{Code: DeadlineExceeded, Message: "Request processing time exceeded limit",
		Form: FormPlain, ContentType: "application/json"}
	w = serveErr(t, timeout)
	if w.Code != 504 || w.Body.String() != timeout.Message || w.Header().Get("Content-Type") != "application/json" {
		t.Errorf("timeout: %d %q %q", w.Code, w.Header().Get("Content-Type"), w.Body.String())
	}

	w = serveErr(t, Detail(http.StatusNotFound, EndpointNotFound, "Not Found"))
	if w.Code != 404 || w.Body.String() != `{"detail":"Not Found"}` || w.Header().Get("Content-Type") != "application/json" {
		t.Errorf("detail: %d %q %q", w.Code, w.Header().Get("Content-Type"), w.Body.String())
	}

	e := Plain(http.StatusServiceUnavailable, TemporarilyUnavailable, "busy")
	e.Headers = map[string]string{"Retry-After": "1"}
	w = serveErr(t, e)
	if w.Header().Get("Retry-After") != "1" || w.Body.String() != "busy" {
		t.Errorf("headers on a plain answer: %v %q", w.Header(), w.Body.String())
	}
}

func TestFromKeepsFormThroughWrapping(t *testing.T) {
	p := Plain(415, BadRequest, "nope")
	got := From(fmt.Errorf("ctx: %w", p))
	if got != p || got.Form != FormPlain {
		t.Fatalf("From lost the *Error: %#v", got)
	}
}

func TestCodeStatusAndClassAreTotal(t *testing.T) {
	codes := []Code{InternalError, TemporarilyUnavailable, BadRequest, NotFound, AlreadyExists,
		InvalidParameterValue, EndpointNotFound, InvalidState, PermissionDenied, ResourceAlreadyExists,
		ResourceDoesNotExist, ResourceConflict, ResourceExhausted, RequestLimitExceeded, Unauthenticated,
		NotImplemented, DeadlineExceeded, Cancelled, CustomerUnauthorized, Aborted, DataLoss}
	for _, c := range codes {
		if s := c.HTTPStatus(); s < 400 || s > 599 {
			t.Errorf("%s: status %d", c, s)
		}
		cl := c.Class()
		if (cl == "") != (sqlState(cl, c) == "") {
			t.Errorf("%s: class %q but sqlstate %q", c, cl, sqlState(cl, c))
		}
	}
}

type privateErr struct{}

func (privateErr) Error() string         { return "store /srv/secret/root: open \"a.txt\": not found" }
func (privateErr) ErrorCode() string     { return "RESOURCE_DOES_NOT_EXIST" }
func (privateErr) ClientMessage() string { return "No such artifact: 'a.txt'" }

func TestFromAnswersTheClientMessage(t *testing.T) {
	e := From(fmt.Errorf("wrapped: %w", privateErr{}))
	if e.Code != ResourceDoesNotExist || e.Message != "No such artifact: 'a.txt'" {
		t.Fatalf("%+v", e)
	}
}
