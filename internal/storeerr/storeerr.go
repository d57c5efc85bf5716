// Package storeerr is the error type of mlgate's stores (tracking and model
// registry): a message that carries its MLflow error code name.
//
// Stores return *Error values; internal/apierr reads the code through
// ErrorCode and answers with the code's HTTP status. Sentinels of the same
// type let callers test the kind with errors.Is. It imports only the
// standard library.
package storeerr

import "fmt"

// MLflow error code names the stores return.
const (
	InvalidParameterValue = "INVALID_PARAMETER_VALUE"
	ResourceDoesNotExist  = "RESOURCE_DOES_NOT_EXIST"
	ResourceAlreadyExists = "RESOURCE_ALREADY_EXISTS"
	InvalidState          = "INVALID_STATE"
	InternalError         = "INTERNAL_ERROR"
)

// Error is a store error carrying an MLflow error code name.
type Error struct {
	Code    string
	Message string
}

// Error implements error.
func (e *Error) Error() string { return e.Message }

// ErrorCode returns the MLflow error code name (apierr.Coder).
func (e *Error) ErrorCode() string { return e.Code }

// Is matches another *Error with the same code, so that errors.Is(err,
// ErrNotFound) holds for every not-found error whatever its message.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// New returns an *Error with the code and a formatted message.
func New(code, format string, args ...any) error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalidf returns an INVALID_PARAMETER_VALUE error.
func Invalidf(format string, args ...any) error {
	return New(InvalidParameterValue, format, args...)
}

// NotFoundf returns a RESOURCE_DOES_NOT_EXIST error.
func NotFoundf(format string, args ...any) error {
	return New(ResourceDoesNotExist, format, args...)
}

// Existsf returns a RESOURCE_ALREADY_EXISTS error.
func Existsf(format string, args ...any) error {
	return New(ResourceAlreadyExists, format, args...)
}
