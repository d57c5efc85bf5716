package app

import (
	"encoding/base64"
	"net/http"
	"strings"

	"github.com/mlgate/mlgate/internal/auth"
	"github.com/mlgate/mlgate/ui"
)

// uiOptions tell the web UI who is signed in: with --auth basic the
// request has passed the auth middleware, so its credentials are valid.
func uiOptions(a *auth.Authenticator) ui.Options {
	if a == nil {
		return ui.Options{}
	}
	return ui.Options{CurrentUser: func(r *http.Request) ui.User {
		h := r.Header.Get("Authorization")
		role := a.Authenticate(h)
		name := "token"
		if b, ok := strings.CutPrefix(h, "Basic "); ok {
			if raw, err := base64.StdEncoding.DecodeString(b); err == nil {
				name, _, _ = strings.Cut(string(raw), ":")
			}
		}
		return ui.User{Username: name, IsAdmin: role == auth.Write, CanWrite: role == auth.Write}
	}}
}
