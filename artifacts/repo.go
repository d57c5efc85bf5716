package artifacts

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/mlgate/mlgate/rest"
)

// Entry is one file or folder of a listing. Path is relative to the repo
// root and uses forward slashes. Size is -1 when the store does not say.
type Entry struct {
	Path  string
	IsDir bool
	Size  int64
}

// Repo is an artifact store rooted at one URI. Paths are relative to the
// root ("" is the root itself). Implementations are safe for concurrent use.
type Repo interface {
	// URI is the root URI.
	URI() string
	// List returns the entries directly under rel, sorted by path. A
	// missing folder or a file path lists as empty.
	List(ctx context.Context, rel string) ([]Entry, error)
	// Open streams a file and returns its size (-1 when unknown);
	// ErrNotFound when it does not exist.
	Open(ctx context.Context, rel string) (io.ReadCloser, int64, error)
	// Put stores r at rel, streaming it; size is -1 when unknown. When r
	// is also an io.Seeker a backend may retry. A failed Put leaves no
	// partial file at rel.
	Put(ctx context.Context, rel string, r io.Reader, size int64) error
	// Delete removes a file or a folder tree; a missing path is not an
	// error.
	Delete(ctx context.Context, rel string) error
}

// Options tell Open how to reach each kind of store. The zero value reaches
// local folders only; FromEnv fills the rest from MLflow's environment
// variables.
type Options struct {
	// Tracking is the transport to the tracking server: mlflow-artifacts:
	// URIs without a host, and http(s) proxy URLs on its host, use it.
	Tracking *rest.Transport
	S3       S3Options
	GCS      GCSOptions
	Azure    AzureOptions
}

// FromEnv reads the options MLflow reads from its environment variables
// (MLFLOW_S3_ENDPOINT_URL, AZURE_STORAGE_CONNECTION_STRING, ...).
func FromEnv(getenv func(string) string) Options {
	return Options{S3: s3FromEnv(getenv), GCS: gcsFromEnv(getenv), Azure: azureFromEnv(getenv)}
}

// Open returns the Repo rooted at an artifact URI.
func Open(ctx context.Context, uri string, opts Options) (Repo, error) {
	u, err := url.Parse(uri)
	if err != nil || len(u.Scheme) <= 1 { // not a URL, or a Windows drive letter
		return openLocal(uri)
	}
	switch strings.ToLower(u.Scheme) {
	case "file":
		return openLocal(u.Path)
	case "mlflow-artifacts":
		return openProxy(uri, u, opts)
	case "http", "https":
		return openHTTP(uri, u, opts)
	case "s3":
		return openS3(ctx, uri, u, opts.S3)
	case "gs":
		return openGCS(ctx, uri, u, opts.GCS)
	case "wasbs", "abfss":
		return openAzure(ctx, uri, u, opts.Azure)
	case "runs", "models":
		return nil, fmt.Errorf("artifact URI %q must be resolved against the tracking server first: %w", uri, ErrNotSupported)
	}
	return nil, fmt.Errorf("artifact URI %q: scheme %q: %w", uri, u.Scheme, ErrNotSupported)
}

// RangeOpener is implemented by stores that can read part of a file.
// Download uses it to fetch a large file in parallel ranges.
type RangeOpener interface {
	// OpenRange streams n bytes of rel from offset off.
	OpenRange(ctx context.Context, rel string, off, n int64) (io.ReadCloser, error)
}
