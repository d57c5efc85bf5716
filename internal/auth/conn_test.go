package auth

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gin-gonic/gin"
)

// oneConn serves e on loopback with a's ConnContext and returns a request
// function whose requests all travel on one keep-alive connection (the
// test fails when one opened another), answering status and body.
func oneConn(t *testing.T, a *App, e *gin.Engine) func(method, path, body, hdr string) (int, string) {
	t.Helper()
	var opened atomic.Int32
	srv := httptest.NewUnstartedServer(e)
	srv.Config.ConnContext = a.ConnContext
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			opened.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1, MaxIdleConnsPerHost: 1}}
	t.Cleanup(client.CloseIdleConnections)
	return func(method, path, body, hdr string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		req.Header.Set("Authorization", hdr)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if n := opened.Load(); n != 1 {
			t.Fatalf("%d connections opened, want 1", n)
		}
		return resp.StatusCode, string(b)
	}
}

// TestConnectionSignInIsPerHeader: a connection remembers the header of its
// last sign-in, and only that exact header: another user's header, or the
// same user's with a wrong password, on the same connection is checked in
// full; the remembered one is answered without the store.
func TestConnectionSignInIsPerHeader(t *testing.T) {
	d := openDB(t)
	a, st, e := permApp(t, d)
	send := oneConn(t, a, e)
	ctx := context.Background()
	for _, name := range []string{"bob", "carol"} {
		if _, err := st.CreateUser(ctx, name, name+"-password-1", false); err != nil {
			t.Fatal(err)
		}
	}
	who := func(hdr string) (int, string) {
		code, body := send("GET", "/api/2.0/mlflow/users/current", "", hdr)
		var out struct {
			User struct{ Username string } `json:"user"`
		}
		_ = json.Unmarshal([]byte(body), &out)
		return code, out.User.Username
	}
	bob, carol := basicHeader("bob", "bob-password-1"), basicHeader("carol", "carol-password-1")
	for i, s := range []struct {
		hdr, want string
		code      int
	}{
		{bob, "bob", 200},
		{bob, "bob", 200},
		{carol, "carol", 200},
		{bob, "bob", 200},
		{basicHeader("bob", "bob-password-2"), "", 401},
		{"basic " + strings.TrimPrefix(bob, "Basic "), "bob", 200}, // another header, the same user
		{carol, "carol", 200},
		{bob, "bob", 200},
		{"", "", 401},
		{bob, "bob", 200},
	} {
		if code, name := who(s.hdr); code != s.code || name != s.want {
			t.Fatalf("step %d: %d %q, want %d %q", i, code, name, s.code, s.want)
		}
	}
	// With the store gone, only the connection's remembered sign-in passes
	// (the credentials cache's entries are dropped without a user change).
	a.creds.mu.Lock()
	a.creds.m = map[[32]byte]cached[*User]{}
	a.creds.mu.Unlock()
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if code, name := who(bob); code != 200 || name != "bob" {
		t.Fatalf("the remembered sign-in: %d %q", code, name)
	}
	if code, _ := who(carol); code != 401 {
		t.Fatalf("another header without the store: %d, want 401", code)
	}
}

// TestChangesSeenOnOneConnection runs the change sequences of the cache
// tests on one keep-alive connection: its remembered sign-in never
// outlives what the credentials cache would answer.
func TestChangesSeenOnOneConnection(t *testing.T) {
	t.Run("this server", func(t *testing.T) {
		a, _, e := permApp(t, openDB(t))
		send := oneConn(t, a, e)
		revokeSequence(t, func(method, path, body, hdr string) int {
			code, _ := send(method, path, body, hdr)
			return code
		})
	})
	t.Run("another server", func(t *testing.T) {
		otherServerSequence(t, func(t *testing.T, a *App, e *gin.Engine) func(method, path, body, hdr string) int {
			send := oneConn(t, a, e)
			return func(method, path, body, hdr string) int {
				code, _ := send(method, path, body, hdr)
				return code
			}
		})
	})
}

// FuzzSignIn: whatever two headers a connection carries in turn, each
// signs in the user (or no one) it signs in without a connection.
func FuzzSignIn(f *testing.F) {
	a, st, _ := permApp(f, openDB(f))
	if _, err := st.CreateUser(context.Background(), "bob", "bob-password-1", false); err != nil {
		f.Fatal(err)
	}
	admin, bob := basicHeader("admin", "admin-password-1"), basicHeader("bob", "bob-password-1")
	for _, seed := range [][2]string{{admin, admin}, {admin, bob}, {bob, "basic " + bob[6:]}, {bob, basicHeader("bob", "x")},
		{admin, "Basic  " + admin[6:]}, {"Basic", admin}, {"Bearer x", ""}} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, h1, h2 string) {
		ctx := a.ConnContext(context.Background(), nil)
		for _, h := range []string{h1, h2, h1} {
			u, ok := a.authenticate(ctx, h)
			want, wantOK := a.authenticate(context.Background(), h)
			if ok != wantOK || (ok && u.Username != want.Username) {
				t.Fatalf("%q on a connection: %v %v; alone: %v %v", h, u, ok, want, wantOK)
			}
		}
	})
}
