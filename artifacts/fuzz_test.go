package artifacts

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/mlgate/mlgate/rest"
)

// FuzzProxyListing serves arbitrary listing bodies from an artifact proxy
// and checks that accepted entries stay inside the listed folder.
func FuzzProxyListing(f *testing.F) {
	f.Add([]byte(`{"files":[{"path":"a","is_dir":false,"file_size":3},{"path":"d","is_dir":true}]}`))
	f.Add([]byte(`{"files":[{"path":"../../etc/passwd","file_size":"12"}]}`))
	f.Add([]byte(`{}`))
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(body) }))
	defer srv.Close()
	tr, err := rest.New(rest.Config{BaseURL: srv.URL, MaxRetries: -1})
	if err != nil {
		f.Fatal(err)
	}
	repo, err := Open(context.Background(), "mlflow-artifacts:/root", Options{Tracking: tr})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		body = b
		if es, err := repo.List(context.Background(), "dir"); err == nil {
			checkInside(t, es, "dir")
		}
	})
}
