package artifacts

import (
	"context"
	"testing"

	"github.com/mlgate/mlgate/rest"
)

// FuzzProxyListing serves arbitrary listing bodies from an artifact proxy
// and checks that accepted entries stay inside the listed folder.
func FuzzProxyListing(f *testing.F) {
	f.Add([]byte(`{"files":[{"path":"a","is_dir":false,"file_size":3},{"path":"d","is_dir":true}]}`))
	f.Add([]byte(`{"files":[{"path":"../../etc/passwd","file_size":"12"}]}`))
	f.Add([]byte(`{}`))
	fuzzListing(f, func(url string) (Repo, error) {
		tr, err := rest.New(rest.Config{BaseURL: url, MaxRetries: -1})
		if err != nil {
			return nil, err
		}
		return Open(context.Background(), "mlflow-artifacts:/root", Options{Tracking: tr})
	})
}
