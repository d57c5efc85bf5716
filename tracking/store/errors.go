package store

import "github.com/mlgate/mlgate/internal/storeerr"

// Error is a store error carrying an MLflow error code name; errors.Is
// matches it with the sentinel of its code.
type Error = storeerr.Error

// Sentinels to compare store errors with errors.Is.
var (
	ErrNotFound = &Error{Code: storeerr.ResourceDoesNotExist, Message: "resource does not exist"}
	ErrInvalid  = &Error{Code: storeerr.InvalidParameterValue, Message: "invalid parameter value"}
	ErrExists   = &Error{Code: storeerr.ResourceAlreadyExists, Message: "resource already exists"}
	ErrState    = &Error{Code: storeerr.InvalidState, Message: "invalid state"}
)
