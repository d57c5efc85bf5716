package store

import "fmt"

// MLflow error code names the store returns.
const (
	CodeInvalidParameterValue = "INVALID_PARAMETER_VALUE"
	CodeResourceDoesNotExist  = "RESOURCE_DOES_NOT_EXIST"
	CodeResourceAlreadyExists = "RESOURCE_ALREADY_EXISTS"
	CodeInternalError         = "INTERNAL_ERROR"
)

// Error is a registry error with an MLflow error code.
type Error struct {
	Code    string
	Message string
}

// Error implements error.
func (e *Error) Error() string { return e.Message }

// ErrorCode returns the MLflow error code name (internal/apierr reads it).
func (e *Error) ErrorCode() string { return e.Code }

// Is reports whether target is an *Error with the same code, so that
// errors.Is(err, ErrNotFound) works.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Message == "" && t.Code == e.Code
}

// Sentinels for errors.Is; they match any error of their code.
var (
	ErrNotFound      = &Error{Code: CodeResourceDoesNotExist}
	ErrAlreadyExists = &Error{Code: CodeResourceAlreadyExists}
	ErrInvalid       = &Error{Code: CodeInvalidParameterValue}
)

func invalidf(format string, args ...any) error {
	return &Error{Code: CodeInvalidParameterValue, Message: fmt.Sprintf(format, args...)}
}

func notFoundf(format string, args ...any) error {
	return &Error{Code: CodeResourceDoesNotExist, Message: fmt.Sprintf(format, args...)}
}

func existsf(format string, args ...any) error {
	return &Error{Code: CodeResourceAlreadyExists, Message: fmt.Sprintf(format, args...)}
}
