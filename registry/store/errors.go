package store

import "github.com/mlgate/mlgate/internal/storeerr"

// MLflow error code names the store returns.
const (
	CodeInvalidParameterValue = storeerr.InvalidParameterValue
	CodeResourceDoesNotExist  = storeerr.ResourceDoesNotExist
	CodeResourceAlreadyExists = storeerr.ResourceAlreadyExists
	CodeInternalError         = storeerr.InternalError
)

// Error is a registry error with an MLflow error code; errors.Is matches it
// with the sentinel of its code.
type Error = storeerr.Error

// Sentinels for errors.Is; they match any error of their code.
var (
	ErrNotFound      = &Error{Code: CodeResourceDoesNotExist}
	ErrAlreadyExists = &Error{Code: CodeResourceAlreadyExists}
	ErrInvalid       = &Error{Code: CodeInvalidParameterValue}
)
