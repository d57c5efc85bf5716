package artifacts

import (
	"context"
	"net/url"
)

// S3Options configure s3 stores (a placeholder until the backend lands).
type S3Options struct{}

func s3FromEnv(func(string) string) S3Options { return S3Options{} }

func openS3(_ context.Context, uri string, _ *url.URL, _ S3Options) (Repo, error) {
	return nil, storeErr(uri, "open", "", ErrNotSupported)
}
