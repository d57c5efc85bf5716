package artifacts

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// Sentinels a *StoreError matches with errors.Is.
var (
	// ErrNotFound: the file, folder, bucket or container does not exist.
	ErrNotFound = errors.New("artifact not found")
	// ErrBadPath: a path that is not a safe relative path.
	ErrBadPath = errors.New("invalid artifact path")
	// ErrPermission: the store refused the credentials.
	ErrPermission = errors.New("access denied")
	// ErrUnauthenticated: the store did not recognize the credentials (an
	// unknown key, a wrong secret); it matches ErrPermission too.
	ErrUnauthenticated = fmt.Errorf("%w: credentials not recognized", ErrPermission)
	// ErrUnavailable: the store could not be reached.
	ErrUnavailable = errors.New("artifact store unavailable")
	// ErrNotSupported: the scheme or the operation is not supported.
	ErrNotSupported = errors.New("not supported")
)

// StoreError is a failure of one operation on one store.
type StoreError struct {
	Store string // the repo's root URI
	Op    string // list, open, put or delete
	Path  string // the relative path
	Err   error  // the cause; wraps one of the sentinels when it is known
}

// Error names the store, the operation and the path.
func (e *StoreError) Error() string {
	return fmt.Sprintf("artifact store %s: %s %q: %v", e.Store, e.Op, e.Path, e.Err)
}

// Unwrap returns the cause.
func (e *StoreError) Unwrap() error { return e.Err }

// ClientMessage is the error's text for an API client (internal/apierr
// answers it; Error stays for logs): a missing artifact is MLflow's "No
// such artifact: 'path'", the path relative to the store. A store that is
// a folder of this machine is not named, nor is its folder in the cause:
// its absolute path would tell clients the server's file system layout.
func (e *StoreError) ClientMessage() string {
	if errors.Is(e.Err, ErrNotFound) {
		return fmt.Sprintf("No such artifact: '%s'", e.Path)
	}
	if !localStore(e.Store) {
		return e.Error()
	}
	cause := strings.ReplaceAll(e.Err.Error(), e.Store, "<artifact root>")
	return fmt.Sprintf("artifact store: %s %q: %s", e.Op, e.Path, cause)
}

// localStore reports whether a store URI is a folder of this machine.
func localStore(uri string) bool {
	return strings.HasPrefix(uri, "/") || strings.HasPrefix(uri, "file:") || filepath.IsAbs(uri) || !strings.Contains(uri, "://")
}

// ErrorCode is the MLflow error code name for the cause (internal/apierr
// reads it).
func (e *StoreError) ErrorCode() string {
	switch {
	case errors.Is(e.Err, ErrNotFound):
		return "RESOURCE_DOES_NOT_EXIST"
	case errors.Is(e.Err, ErrBadPath):
		return "INVALID_PARAMETER_VALUE"
	case errors.Is(e.Err, ErrUnauthenticated):
		return "UNAUTHENTICATED"
	case errors.Is(e.Err, ErrPermission):
		return "PERMISSION_DENIED"
	case errors.Is(e.Err, ErrUnavailable):
		return "TEMPORARILY_UNAVAILABLE"
	case errors.Is(e.Err, ErrNotSupported):
		return "NOT_IMPLEMENTED"
	}
	return "INTERNAL_ERROR"
}

// storeErr wraps err (nil stays nil; a *StoreError is kept as it is).
func storeErr(store, op, rel string, err error) error {
	if err == nil {
		return nil
	}
	var se *StoreError
	if errors.As(err, &se) {
		return err
	}
	return &StoreError{Store: store, Op: op, Path: rel, Err: err}
}
