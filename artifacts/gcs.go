package artifacts

import (
	"context"
	"net/url"
)

// GCSOptions configure gcs stores (a placeholder until the backend lands).
type GCSOptions struct{}

func gcsFromEnv(func(string) string) GCSOptions { return GCSOptions{} }

func openGCS(_ context.Context, uri string, _ *url.URL, _ GCSOptions) (Repo, error) {
	return nil, storeErr(uri, "open", "", ErrNotSupported)
}
