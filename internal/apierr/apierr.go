// Package apierr owns MLflow's wire error format: the error codes, the
// {"error_code","message"} body and the HTTP status that goes with each code.
//
// It is the only place in mlgate that knows how a Go error becomes an MLflow
// error response. Domain packages return plain errors (sentinels or small
// typed errors); HTTP layers call From and Write. It imports only the
// standard library and gin.
package apierr

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// Code is an MLflow ErrorCode name as it appears on the wire.
type Code string

// The MLflow error codes mlgate emits.
const (
	InternalError          Code = "INTERNAL_ERROR"
	TemporarilyUnavailable Code = "TEMPORARILY_UNAVAILABLE"
	BadRequest             Code = "BAD_REQUEST"
	NotFound               Code = "NOT_FOUND"
	AlreadyExists          Code = "ALREADY_EXISTS"
	InvalidParameterValue  Code = "INVALID_PARAMETER_VALUE"
	EndpointNotFound       Code = "ENDPOINT_NOT_FOUND"
	InvalidState           Code = "INVALID_STATE"
	PermissionDenied       Code = "PERMISSION_DENIED"
	ResourceAlreadyExists  Code = "RESOURCE_ALREADY_EXISTS"
	ResourceDoesNotExist   Code = "RESOURCE_DOES_NOT_EXIST"
	ResourceConflict       Code = "RESOURCE_CONFLICT"
	ResourceExhausted      Code = "RESOURCE_EXHAUSTED"
	RequestLimitExceeded   Code = "REQUEST_LIMIT_EXCEEDED"
	Unauthenticated        Code = "UNAUTHENTICATED"
	NotImplemented         Code = "NOT_IMPLEMENTED"
	DeadlineExceeded       Code = "DEADLINE_EXCEEDED"
	Cancelled              Code = "CANCELLED"
	CustomerUnauthorized   Code = "CUSTOMER_UNAUTHORIZED"
	Aborted                Code = "ABORTED"
	DataLoss               Code = "DATA_LOSS"
)

// HTTPStatus returns the HTTP status MLflow uses for the code.
func (c Code) HTTPStatus() int {
	switch c {
	case InvalidParameterValue, BadRequest, ResourceAlreadyExists:
		return http.StatusBadRequest
	case ResourceDoesNotExist, NotFound, EndpointNotFound:
		return http.StatusNotFound
	case AlreadyExists, ResourceConflict, Aborted:
		return http.StatusConflict
	case CustomerUnauthorized, Unauthenticated:
		return http.StatusUnauthorized
	case PermissionDenied:
		return http.StatusForbidden
	case RequestLimitExceeded, ResourceExhausted:
		return http.StatusTooManyRequests
	case Cancelled:
		return 499
	case NotImplemented:
		return http.StatusNotImplemented
	case TemporarilyUnavailable:
		return http.StatusServiceUnavailable
	case DeadlineExceeded:
		return http.StatusGatewayTimeout
	default:
		return http.StatusInternalServerError
	}
}

// Form is how Write renders an error's body.
type Form uint8

// The body forms. MLflow answers most errors with its JSON body, but its
// scoring server (FastAPI) answers some with other bodies, and mlgate's
// serving layer copies them byte for byte.
const (
	// FormJSON is MLflow's {"error_code","message","sqlstate","error_class"}
	// body (the default).
	FormJSON Form = iota
	// FormPlain writes Message itself as the body, as text/plain;
	// charset=utf-8 unless ContentType says otherwise (MLflow's scoring
	// server answers an unsupported content type so, and a request timeout
	// with the same plain text labelled application/json).
	FormPlain
	// FormDetail writes FastAPI's {"detail": Message} as application/json
	// (MLflow's scoring server for an unknown path or a wrong method).
	FormDetail
)

// Error is an error that carries an MLflow error code. Status, when non-zero,
// overrides the code's default HTTP status (for example 413 for an oversized
// body, which MLflow has no code for).
type Error struct {
	Code    Code
	Message string
	Status  int
	Err     error
	// Headers are extra response headers (for example Retry-After).
	Headers map[string]string
	// Class overrides the error_class MLflow derives from the code (for
	// example ClassSchemaEnforcementFailed); the sqlstate follows it.
	Class Class
	// Form selects the body's form (FormJSON when zero); ContentType
	// overrides the Content-Type of a FormPlain body.
	Form        Form
	ContentType string
}

// Error implements error.
func (e *Error) Error() string {
	if e.Err != nil && e.Message == "" {
		return e.Err.Error()
	}
	return e.Message
}

// Unwrap returns the wrapped cause.
func (e *Error) Unwrap() error { return e.Err }

// HTTPStatus is the status the error is answered with.
func (e *Error) HTTPStatus() int {
	if e.Status != 0 {
		return e.Status
	}
	return e.Code.HTTPStatus()
}

// New returns an Error with a formatted message.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an Error with the given code whose message is err's text.
func Wrap(code Code, err error) *Error {
	return &Error{Code: code, Message: err.Error(), Err: err}
}

// Plain returns an error answered with status and msg as a text/plain
// body, as MLflow's scoring server answers an unsupported content type
// (415). code still drives logging and the Open Inference Protocol form.
func Plain(status int, code Code, msg string) *Error {
	return &Error{Code: code, Status: status, Message: msg, Form: FormPlain}
}

// Detail returns an error answered with status and FastAPI's
// {"detail": msg} body, as MLflow's scoring server answers an unknown path
// (404, "Not Found") or a wrong method (405, "Method Not Allowed").
func Detail(status int, code Code, msg string) *Error {
	return &Error{Code: code, Status: status, Message: msg, Form: FormDetail}
}

// Body is the JSON body of an MLflow error response. SQLState and
// ErrorClass are what MLflow 3.x adds to every MlflowException it
// serialises (derived from the code unless the raise site names a class).
type Body struct {
	ErrorCode  Code   `json:"error_code"`
	Message    string `json:"message"`
	SQLState   string `json:"sqlstate,omitempty"`
	ErrorClass Class  `json:"error_class,omitempty"`
	StackTrace string `json:"stack_trace,omitempty"`
}

// Body returns e's JSON body with the sqlstate and error_class MLflow
// would send for it.
func (e *Error) Body() Body {
	cl := e.Class
	if cl == "" {
		cl = e.Code.Class()
	}
	return Body{ErrorCode: e.Code, Message: e.Message, SQLState: sqlState(cl, e.Code), ErrorClass: cl}
}

// Coder is implemented by domain errors that know their MLflow code name
// (for example a store's "not found" error answers "RESOURCE_DOES_NOT_EXIST").
// Domain packages implement it without importing apierr.
type Coder interface {
	ErrorCode() string
}

// ClientMessager is implemented by domain errors whose text for the client
// differs from their Error, which may name what only the server's logs
// should (for example the folder of a local artifact store).
type ClientMessager interface {
	ClientMessage() string
}

// From converts any error to an *Error: an *Error in the chain is returned
// as it is, an error implementing Coder gets its code, context errors become
// DEADLINE_EXCEEDED or CANCELLED, and anything else is INTERNAL_ERROR. The
// message is the ClientMessage of a ClientMessager in the chain, else the
// error's text.
func From(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var c Coder
	if errors.As(err, &c) {
		msg := err.Error()
		var m ClientMessager
		if errors.As(err, &m) {
			msg = m.ClientMessage()
		}
		return &Error{Code: Code(c.ErrorCode()), Message: msg, Err: err}
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return &Error{Code: DeadlineExceeded, Message: err.Error(), Err: err}
	case errors.Is(err, context.Canceled):
		return &Error{Code: Cancelled, Message: err.Error(), Err: err}
	}
	return &Error{Code: InternalError, Message: err.Error(), Err: err}
}
