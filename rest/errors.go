package rest

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// Error is a non-2xx answer from the server, in MLflow's terms.
type Error struct {
	// StatusCode is the HTTP status.
	StatusCode int
	// Code is the MLflow error_code (derived from the status when the body
	// was not MLflow JSON, as the Python client does).
	Code string
	// Message is the server's message.
	Message string
	// Endpoint is "METHOD path" of the failed call.
	Endpoint string
}

// Error renders "CODE: message" as MLflow's RestException does.
func (e *Error) Error() string {
	return fmt.Sprintf("%s: %s (%s, HTTP %d)", e.Code, e.Message, e.Endpoint, e.StatusCode)
}

// ErrorCode returns the MLflow error code.
func (e *Error) ErrorCode() string { return e.Code }

// IsCode reports whether err is an *Error with one of the codes.
func IsCode(err error, codes ...string) bool {
	e, ok := asError(err)
	if !ok {
		return false
	}
	for _, c := range codes {
		if e.Code == c {
			return true
		}
	}
	return false
}

// IsNotFound reports whether err says a resource does not exist.
func IsNotFound(err error) bool {
	return IsCode(err, "RESOURCE_DOES_NOT_EXIST", "NOT_FOUND")
}

// IsAlreadyExists reports whether err says a resource already exists.
func IsAlreadyExists(err error) bool {
	return IsCode(err, "RESOURCE_ALREADY_EXISTS", "ALREADY_EXISTS")
}

func asError(err error) (*Error, bool) {
	for err != nil {
		if e, ok := err.(*Error); ok { //nolint:errorlint // manual unwrap loop
			return e, true
		}
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return nil, false
		}
		err = u.Unwrap()
	}
	return nil, false
}

// codeForStatus maps a status to a code for non-JSON error bodies, as the
// Python client does.
func codeForStatus(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "BAD_REQUEST"
	case http.StatusUnauthorized:
		return "UNAUTHENTICATED"
	case http.StatusForbidden:
		return "PERMISSION_DENIED"
	case http.StatusNotFound:
		return "ENDPOINT_NOT_FOUND"
	case http.StatusConflict:
		return "ALREADY_EXISTS"
	case http.StatusTooManyRequests:
		return "REQUEST_LIMIT_EXCEEDED"
	case http.StatusNotImplemented:
		return "NOT_IMPLEMENTED"
	case http.StatusServiceUnavailable:
		return "TEMPORARILY_UNAVAILABLE"
	default:
		return "INTERNAL_ERROR"
	}
}

func parseError(endpoint string, status int, body []byte) *Error {
	e := &Error{StatusCode: status, Endpoint: endpoint}
	var m struct {
		ErrorCode string `json:"error_code"`
		Message   string `json:"message"`
	}
	if json.Unmarshal(body, &m) == nil && m.ErrorCode != "" {
		e.Code, e.Message = m.ErrorCode, m.Message
		return e
	}
	e.Code = codeForStatus(status)
	msg := string(body)
	if len(msg) > 500 {
		msg = msg[:500] + "…"
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	e.Message = msg
	return e
}
