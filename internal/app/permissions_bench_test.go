package app

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/mlgate/mlgate/internal/auth"
)

// BenchmarkBasicAuth is what basic-auth permissions add to mlgate server's
// whole handler, in process (no network): runs/get and runs/create by a
// non-admin holding MANAGE on the experiment (its creator) on a basic-auth
// server (its requests sharing one keep-alive connection, as a client's
// do), and the same calls on two servers with the security middleware
// alone, in lockstep (each iteration calls every server once, in random
// order, so that the machine's drift hits them alike). It reports each
// server's µs per call and the basic-auth server's throughput over the
// mean of the other two's, and the A/A ratio of those two.
func BenchmarkBasicAuth(b *testing.B) {
	for _, op := range []string{"runs-get", "runs-create"} {
		b.Run(op, func(b *testing.B) {
			sides := []*benchSide{newBenchSide(b, false), newBenchSide(b, true), newBenchSide(b, false)}
			b.ReportAllocs()
			for b.Loop() {
				for _, i := range rand.Perm(len(sides)) {
					sides[i].call(b, op)
				}
			}
			us := func(s *benchSide) float64 { return float64(s.busy.Microseconds()) / float64(b.N) }
			b.ReportMetric(us(sides[0]), "open-µs/op")
			b.ReportMetric(us(sides[1]), "basic-auth-µs/op")
			b.ReportMetric(2*us(sides[0])*us(sides[2])/(us(sides[0])+us(sides[2]))/us(sides[1]), "basic-auth/open")
			b.ReportMetric(us(sides[0])/us(sides[2]), "A/A")
		})
	}
}

// benchSide is one server of BenchmarkBasicAuth and the calls it takes.
type benchSide struct {
	h            http.Handler
	conn         context.Context // the keep-alive connection its requests share
	user, create string
	get          string
	busy         time.Duration
}

func newBenchSide(b *testing.B, perms bool) *benchSide {
	dir := b.TempDir()
	s, _, _ := startServer(b, func(o *ServerOptions) {
		if perms {
			o.AppName = "basic-auth"
			o.BasicAuth = auth.Config{DefaultPermission: "NO_PERMISSIONS", AdminUsername: "admin", AdminPassword: "admin-password-1",
				DatabaseURI: "sqlite:///" + filepath.Join(dir, "basic_auth.db"), BcryptCost: bcrypt.MinCost}
		}
	})
	sd := &benchSide{h: s.Handler(), conn: context.Background()}
	if s.http.ConnContext != nil {
		sd.conn = s.http.ConnContext(sd.conn, nil)
	}
	if perms {
		sd.do(b, "POST", "/api/2.0/mlflow/users/create", `{"username":"bench","password":"bench-password-1"}`, "admin:admin-password-1")
		sd.user = "bench:bench-password-1"
	}
	var exp struct {
		ID string `json:"experiment_id"`
	}
	if err := json.Unmarshal(sd.do(b, "POST", "/api/2.0/mlflow/experiments/create", `{"name":"bench"}`, sd.user), &exp); err != nil {
		b.Fatal(err)
	}
	sd.create = `{"experiment_id": "` + exp.ID + `", "start_time": 1700000000000}`
	var run struct {
		Run struct {
			Info struct {
				RunID string `json:"run_id"`
			} `json:"info"`
		} `json:"run"`
	}
	if err := json.Unmarshal(sd.do(b, "POST", "/api/2.0/mlflow/runs/create", sd.create, sd.user), &run); err != nil {
		b.Fatal(err)
	}
	sd.get = "/api/2.0/mlflow/runs/get?run_id=" + run.Run.Info.RunID
	return sd
}

func (sd *benchSide) do(b *testing.B, method, path, body, user string) []byte {
	r := httptest.NewRequestWithContext(sd.conn, method, path, strings.NewReader(body))
	r.Host = "127.0.0.1:5000"
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	if user != "" {
		r.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(user)))
	}
	w := httptest.NewRecorder()
	sd.h.ServeHTTP(w, r)
	if w.Code != 200 {
		b.Fatalf("%s %s: %d %s", method, path, w.Code, w.Body)
	}
	return w.Body.Bytes()
}

func (sd *benchSide) call(b *testing.B, op string) {
	t0 := time.Now()
	if op == "runs-get" {
		sd.do(b, "GET", sd.get, "", sd.user)
	} else {
		sd.do(b, "POST", "/api/2.0/mlflow/runs/create", sd.create, sd.user)
	}
	sd.busy += time.Since(t0)
}
