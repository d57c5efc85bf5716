package store

import "fmt"

// Error is a store error carrying an MLflow error code name.
type Error struct {
	Code    string
	Message string
}

// Error implements error.
func (e *Error) Error() string { return e.Message }

// ErrorCode returns the MLflow error code name (apierr.Coder).
func (e *Error) ErrorCode() string { return e.Code }

// Is matches another *Error with the same code, so errors.Is(err,
// ErrNotFound) works for every not-found error.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Sentinels to compare store errors with errors.Is.
var (
	ErrNotFound = &Error{Code: "RESOURCE_DOES_NOT_EXIST", Message: "resource does not exist"}
	ErrInvalid  = &Error{Code: "INVALID_PARAMETER_VALUE", Message: "invalid parameter value"}
	ErrExists   = &Error{Code: "RESOURCE_ALREADY_EXISTS", Message: "resource already exists"}
	ErrState    = &Error{Code: "INVALID_STATE", Message: "invalid state"}
)

func notFoundf(format string, args ...any) error {
	return &Error{Code: ErrNotFound.Code, Message: fmt.Sprintf(format, args...)}
}

func invalidf(format string, args ...any) error {
	return &Error{Code: ErrInvalid.Code, Message: fmt.Sprintf(format, args...)}
}

func existsf(format string, args ...any) error {
	return &Error{Code: ErrExists.Code, Message: fmt.Sprintf(format, args...)}
}
