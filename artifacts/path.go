package artifacts

import (
	"fmt"
	"net/url"
	"path"
	"strings"
)

// CleanPath validates a path from a request and returns it cleaned,
// relative and slash-separated ("" for the root). It decodes
// percent-encoding up to several times so that encoded and double-encoded
// traversals are caught; the error wraps ErrBadPath.
func CleanPath(p string) (string, error) {
	decoded := p
	for range 4 {
		if strings.ContainsAny(decoded, "\\\x00") || hasTraversal(decoded) {
			return "", badPath(p)
		}
		next, err := url.PathUnescape(decoded)
		if err != nil || next == decoded {
			break
		}
		decoded = next
	}
	if strings.HasPrefix(p, "/") || len(p) >= 2 && p[1] == ':' {
		return "", badPath(p)
	}
	return path.Clean("/" + p)[1:], nil
}

// checkRel refuses a relative path that CleanPath would refuse or change;
// every backend calls it before a path reaches a disk or a bucket.
func checkRel(rel string) error {
	c, err := CleanPath(rel)
	if err != nil {
		return err
	}
	if c != rel {
		return badPath(rel)
	}
	return nil
}

func badPath(p string) error {
	return fmt.Errorf("%w: %q: paths must be relative, without '..', '\\' or encoded forms of them", ErrBadPath, p)
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

// joinKey joins a key prefix and a checked relative path with one slash.
func joinKey(prefix, rel string) string {
	prefix = strings.Trim(prefix, "/")
	switch {
	case prefix == "":
		return rel
	case rel == "":
		return prefix
	}
	return prefix + "/" + rel
}
