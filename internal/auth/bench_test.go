package auth

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/gin-gonic/gin"
	"golang.org/x/crypto/bcrypt"

	"github.com/mlgate/mlgate/internal/db"
)

// BenchmarkPermissionCheck is what the basic-auth middleware adds to one
// request of a non-admin holding a grant: a log-batch of 100 metrics (the
// body is read to find run_id), a runs/get and a runs/create, each against
// the same engine without the middleware, and with it on requests that
// share a keep-alive connection (its sign-in remembered).
func BenchmarkPermissionCheck(b *testing.B) {
	ctx := context.Background()
	d, err := db.Open(ctx, "sqlite:///"+filepath.Join(b.TempDir(), "auth.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = d.Close() }()
	st, err := OpenStore(ctx, d)
	if err != nil {
		b.Fatal(err)
	}
	cfg := Config{DefaultPermission: "NO_PERMISSIONS", AdminUsername: "admin", AdminPassword: "admin-password-1", BcryptCost: bcrypt.MinCost}
	a, err := NewApp(ctx, st, cfg, Lookups{RunExperiment: func(context.Context, string) (string, error) { return "1", nil }}, nil)
	if err != nil {
		b.Fatal(err)
	}
	u, err := st.CreateUser(ctx, "bench", "bench-password", false)
	if err != nil {
		b.Fatal(err)
	}
	if err := st.Grant(ctx, u, Experiment, "1", "MANAGE"); err != nil {
		b.Fatal(err)
	}
	var metrics bytes.Buffer
	for i := 0; i < 100; i++ {
		if i > 0 {
			metrics.WriteByte(',')
		}
		fmt.Fprintf(&metrics, `{"key":"m%d","value":%d.5,"timestamp":1700000000000,"step":%d}`, i, i, i)
	}
	batch := []byte(`{"run_id":"0123456789abcdef0123456789abcdef","metrics":[` + metrics.String() + `]}`)
	gin.SetMode(gin.ReleaseMode)
	engine := func(on bool) *gin.Engine {
		e := gin.New()
		if on {
			e.Use(a.Middleware())
		}
		e.POST("/api/2.0/mlflow/runs/log-batch", func(c *gin.Context) {
			_, _ = io.Copy(io.Discard, c.Request.Body)
			c.JSON(200, gin.H{})
		})
		e.POST("/api/2.0/mlflow/runs/create", func(c *gin.Context) {
			_, _ = io.Copy(io.Discard, c.Request.Body)
			c.JSON(200, gin.H{"run": gin.H{}})
		})
		e.GET("/api/2.0/mlflow/runs/get", func(c *gin.Context) { c.JSON(200, gin.H{"run": gin.H{}}) })
		return e
	}
	hdr := "Basic " + base64.StdEncoding.EncodeToString([]byte("bench:bench-password"))
	for _, op := range []struct {
		name, method, path string
		body               []byte
	}{
		{"log-batch", http.MethodPost, "/api/2.0/mlflow/runs/log-batch", batch},
		{"runs-get", http.MethodGet, "/api/2.0/mlflow/runs/get?run_id=0123456789abcdef0123456789abcdef", nil},
		{"runs-create", http.MethodPost, "/api/2.0/mlflow/runs/create", []byte(`{"experiment_id":"1","start_time":1700000000000}`)},
	} {
		for _, v := range []struct {
			name    string
			on      bool
			connCtx context.Context // the connection the requests share, if any
		}{{"permissions=false", false, ctx}, {"permissions=true", true, ctx}, {"permissions=true/one-connection", true, a.ConnContext(ctx, nil)}} {
			e := engine(v.on)
			b.Run(op.name+"/"+v.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					req := httptest.NewRequestWithContext(v.connCtx, op.method, op.path, bytes.NewReader(op.body))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("Authorization", hdr)
					w := httptest.NewRecorder()
					e.ServeHTTP(w, req)
					if w.Code != 200 {
						b.Fatalf("%d %s", w.Code, w.Body)
					}
				}
			})
		}
	}
}
