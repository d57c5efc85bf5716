package artifacts

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path"
	"strings"
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
		es, err := repo.List(context.Background(), "dir")
		if err != nil {
			return
		}
		for _, e := range es {
			if checkRel(e.Path) != nil || !strings.HasPrefix(e.Path, "dir/") || path.Clean(e.Path) != e.Path {
				t.Fatalf("listing entry %q escapes its folder", e.Path)
			}
		}
	})
}
