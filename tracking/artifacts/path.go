package artifacts

import (
	"errors"
	"fmt"
	"net/url"
	"path"
	"strings"
)

// ErrBadPath is returned for a path that is not a safe relative path.
var ErrBadPath = errors.New("invalid artifact path")

// ErrNotFound is returned for an artifact that does not exist.
var ErrNotFound = errors.New("artifact not found")

// pathError is a bad path with its MLflow code.
type pathError struct{ msg string }

func (e *pathError) Error() string        { return e.msg }
func (e *pathError) ErrorCode() string    { return "INVALID_PARAMETER_VALUE" }
func (e *pathError) Is(target error) bool { return target == ErrBadPath }

type notFoundError struct{ msg string }

func (e *notFoundError) Error() string        { return e.msg }
func (e *notFoundError) ErrorCode() string    { return "RESOURCE_DOES_NOT_EXIST" }
func (e *notFoundError) Is(target error) bool { return target == ErrNotFound }

func badPath(p string) error {
	return &pathError{msg: fmt.Sprintf("Invalid path: %q. Paths must be relative, without '..', '\\' or encoded forms of them.", p)}
}

// CleanPath validates a request path and returns it cleaned, relative and
// slash-separated ("" for the root). It decodes percent-encoding up to
// several times so that encoded and double-encoded traversals are caught.
func CleanPath(p string) (string, error) {
	decoded := p
	for i := 0; i < 4; i++ {
		if strings.ContainsAny(decoded, "\\\x00") {
			return "", badPath(p)
		}
		if hasTraversal(decoded) {
			return "", badPath(p)
		}
		next, err := url.PathUnescape(decoded)
		if err != nil || next == decoded {
			break
		}
		decoded = next
	}
	if strings.Contains(p, "%") && decoded != p {
		// An encoded separator or dot segment would change meaning later.
		if strings.ContainsAny(decoded, "\\\x00") || hasTraversal(decoded) {
			return "", badPath(p)
		}
	}
	if strings.HasPrefix(p, "/") || len(p) >= 2 && p[1] == ':' {
		return "", badPath(p)
	}
	c := path.Clean("/" + p)[1:]
	return c, nil
}

func hasTraversal(p string) bool {
	if strings.HasPrefix(p, "/") || strings.HasPrefix(p, "~") {
		return true
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == ".." {
			return true
		}
	}
	return false
}

// Join joins a cleaned prefix and a cleaned relative path.
func Join(prefix, rel string) string {
	switch {
	case prefix == "":
		return rel
	case rel == "":
		return prefix
	}
	return strings.TrimSuffix(prefix, "/") + "/" + rel
}
