// Package auth is mlgate server's optional authentication: HTTP Basic
// (what the MLflow client sends for MLFLOW_TRACKING_USERNAME and
// MLFLOW_TRACKING_PASSWORD) and Bearer tokens (MLFLOW_TRACKING_TOKEN),
// checked against a users file of bcrypt hashes, with read-only and
// read-write users. Failures answer MLflow's error JSON: 401
// UNAUTHENTICATED and 403 PERMISSION_DENIED.
//
// Users file, one entry per line ('#' starts a comment):
//
//	alice:$2a$10$...            read-write user (default)
//	bob:$2a$10$...:read         read-only user
//	token:ci:$2a$10$...:write   bearer token named "ci" (the hash is of the token)
//
// Successful checks are cached by a SHA-256 of the credentials so bcrypt
// runs once per credential, not once per request.
package auth

import (
	"bufio"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/gin-gonic/gin"
	"golang.org/x/crypto/bcrypt"

	"github.com/mlgate/mlgate/internal/apierr"
)

// Role is what a user may do.
type Role int

// The roles.
const (
	Read Role = iota + 1
	Write
)

type entry struct {
	hash []byte
	role Role
}

// Authenticator checks credentials against a users file.
type Authenticator struct {
	users  map[string]entry
	tokens map[string]entry
	cache  *cache[[32]byte, Role] // credentials that passed bcrypt
}

// Load reads a users file.
func Load(path string) (*Authenticator, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("auth users file: %w", err)
	}
	defer func() { _ = f.Close() }()
	return Parse(f)
}

// Parse reads users file content.
func Parse(r io.Reader) (*Authenticator, error) {
	a := &Authenticator{users: map[string]entry{}, tokens: map[string]entry{}, cache: newCache[[32]byte, Role](maxCredentials, 0)}
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		parts := strings.Split(line, ":")
		table := a.users
		if parts[0] == "token" && len(parts) >= 3 {
			table = a.tokens
			parts = parts[1:]
		}
		if len(parts) < 2 || len(parts) > 3 || parts[0] == "" {
			return nil, fmt.Errorf("auth users file line %d: want name:bcrypt-hash[:read|write]", n)
		}
		if _, err := bcrypt.Cost([]byte(parts[1])); err != nil {
			return nil, fmt.Errorf("auth users file line %d: %q is not a bcrypt hash", n, parts[0])
		}
		role := Write
		if len(parts) == 3 {
			switch parts[2] {
			case "read":
				role = Read
			case "write", "admin":
			default:
				return nil, fmt.Errorf("auth users file line %d: role %q is not read or write", n, parts[2])
			}
		}
		table[parts[0]] = entry{hash: []byte(parts[1]), role: role}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(a.users)+len(a.tokens) == 0 {
		return nil, fmt.Errorf("auth users file has no users")
	}
	return a, nil
}

// check returns the role of the credentials, or 0.
func (a *Authenticator) check(table map[string]entry, kind, name, secret string) Role {
	key := credKey(kind, name, secret)
	if role, ok, _ := a.cache.get(key); ok {
		return role
	}
	e, found := table[name]
	if !found {
		return 0
	}
	if bcrypt.CompareHashAndPassword(e.hash, []byte(secret)) != nil {
		return 0
	}
	a.cache.put(key, e.role, 0) // the file never changes: generation 0 forever
	return e.role
}

// credentials returns what follows an Authorization header's scheme when
// it is scheme, read as werkzeug (MLflow's server) reads it: the scheme in
// any case, spaces around the rest ignored.
func credentials(header, scheme string) (string, bool) {
	if len(header) <= len(scheme) || header[len(scheme)] != ' ' || !strings.EqualFold(header[:len(scheme)], scheme) {
		return "", false
	}
	return strings.TrimSpace(header[len(scheme)+1:]), true
}

// Authenticate returns the role for a request's Authorization header, or 0.
func (a *Authenticator) Authenticate(header string) Role {
	if raw, ok := credentials(header, "Basic"); ok {
		b, err := base64.StdEncoding.DecodeString(raw)
		if err != nil {
			return 0
		}
		user, pass, ok := strings.Cut(string(b), ":")
		if !ok {
			return 0
		}
		return a.check(a.users, "basic", user, pass)
	}
	if tok, ok := credentials(header, "Bearer"); ok {
		for name := range a.tokens {
			if r := a.check(a.tokens, "bearer", name, tok); r != 0 {
				return r
			}
		}
	}
	return 0
}

// Identify returns the name and role of a request's Authorization header
// (a user or a token name), or "" and 0.
func (a *Authenticator) Identify(header string) (string, Role) {
	role := a.Authenticate(header)
	if role == 0 {
		return "", 0
	}
	if raw, ok := credentials(header, "Basic"); ok {
		b, _ := base64.StdEncoding.DecodeString(raw)
		user, _, _ := strings.Cut(string(b), ":")
		return user, role
	}
	tok, _ := credentials(header, "Bearer")
	for name := range a.tokens {
		if a.check(a.tokens, "bearer", name, tok) != 0 {
			return name, role
		}
	}
	return "", role
}

// IsWrite reports whether a request changes state: any POST, PUT, PATCH
// or DELETE except the read-only searches MLflow sends as POST.
func IsWrite(method, path string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	for _, suffix := range []string{"/search", "/get-latest-versions"} {
		if strings.HasSuffix(path, suffix) {
			return false
		}
	}
	return true
}

// Middleware returns gin middleware that enforces authentication; paths
// in open are served without credentials.
func (a *Authenticator) Middleware(open ...string) gin.HandlerFunc {
	return func(c *gin.Context) {
		p := c.Request.URL.Path
		for _, o := range open {
			if subtle.ConstantTimeCompare([]byte(p), []byte(o)) == 1 {
				c.Next()
				return
			}
		}
		role := a.Authenticate(c.GetHeader("Authorization"))
		if role == 0 {
			c.Header("WWW-Authenticate", `Basic realm="mlflow"`)
			apierr.Write(c, nil, apierr.New(apierr.Unauthenticated, "You are not authenticated. Please see https://www.mlflow.org/docs/latest/auth/index.html#authenticating-to-mlflow on how to authenticate."))
			return
		}
		if role == Read && IsWrite(c.Request.Method, p) {
			apierr.Write(c, nil, apierr.New(apierr.PermissionDenied, "Permission denied: this user may only read."))
			return
		}
		c.Next()
	}
}
