package fetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/mlgate/mlgate/rest"
)

// Entry is one file or folder of an artifact listing. Path is relative to the
// repository root and uses forward slashes. Size is -1 when unknown.
type Entry struct {
	Path  string
	IsDir bool
	Size  int64
}

// Repo is an artifact store rooted at one URI. Implementations are safe for
// concurrent use.
type Repo interface {
	// URI is the root URI.
	URI() string
	// List returns the entries directly under rel ("" is the root). A
	// missing folder or a file path lists as empty.
	List(ctx context.Context, rel string) ([]Entry, error)
	// Open streams a file; size is -1 when the store does not say.
	Open(ctx context.Context, rel string) (rc io.ReadCloser, size int64, err error)
	// Put writes a file; open is called once per attempt.
	Put(ctx context.Context, rel string, open func() (io.ReadCloser, error), size int64) error
}

// ErrNotSupported is returned for operations a scheme cannot do.
var ErrNotSupported = errors.New("not supported")

// Options tell OpenRepo how to reach remote stores.
type Options struct {
	// Tracking is the transport to the tracking server; mlflow-artifacts:
	// URIs without a host, and http(s) proxy URLs on the same host, use it.
	Tracking *rest.Transport
	// S3 configures s3: URIs.
	S3 S3Config
}

// OpenRepo returns the Repo for an artifact URI.
func OpenRepo(uri string, opts Options) (Repo, error) {
	u, err := url.Parse(uri)
	if err != nil {
		// Not a URL (for example a path with a '%'): a local path.
		return newLocalRepo(uri), nil //nolint:nilerr // unparsable URIs are paths
	}
	if len(u.Scheme) <= 1 { // a one-letter scheme is a Windows drive
		return newLocalRepo(uri), nil
	}
	switch u.Scheme {
	case "file":
		return newLocalRepo(u.Path), nil
	case "mlflow-artifacts":
		return newProxyRepo(uri, u, opts)
	case "http", "https":
		return newHTTPRepo(uri, u, opts)
	case "s3":
		return newS3Repo(uri, u, opts.S3)
	case "runs", "models":
		return nil, fmt.Errorf("artifact URI %q must be resolved against the tracking server first", uri)
	default:
		return nil, fmt.Errorf("artifact URI %q: scheme %q: %w", uri, u.Scheme, ErrNotSupported)
	}
}

// joinRel joins slash paths, dropping empty parts.
func joinRel(parts ...string) string {
	var out []string
	for _, p := range parts {
		p = strings.Trim(p, "/")
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, "/")
}

// escapePath escapes each segment of a slash path.
func escapePath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

// safeRel rejects relative paths that would escape a root.
func safeRel(rel string) error {
	for _, s := range strings.Split(rel, "/") {
		if s == ".." {
			return fmt.Errorf("artifact path %q escapes its root", rel)
		}
	}
	if strings.ContainsRune(rel, 0) || strings.HasPrefix(rel, "/") {
		return fmt.Errorf("artifact path %q is not relative", rel)
	}
	return nil
}
