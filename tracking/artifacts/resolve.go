package artifacts

import (
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
)

// Resolver turns an artifact URI stored on a run, experiment or model
// version into a Repo rooted at that URI.
type Resolver struct {
	// Proxy is the --artifacts-destination repo behind mlflow-artifacts:
	// URIs; nil when artifact serving is off.
	Proxy Repo
	// S3 opens an S3 repo for a bucket and key prefix; nil when S3 is not
	// configured.
	S3 func(bucket, prefix string) (Repo, error)
}

// ErrNoProxy is returned for an mlflow-artifacts: URI when serving is off.
var ErrNoProxy = fmt.Errorf("artifact serving is disabled (--no-serve-artifacts)")

const proxyMarker = "/api/2.0/mlflow-artifacts/artifacts"

// Resolve returns the Repo rooted at uri.
func (r *Resolver) Resolve(uri string) (Repo, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return nil, badPath(uri)
	}
	switch strings.ToLower(u.Scheme) {
	case "mlflow-artifacts":
		return r.proxySub(u.Path)
	case "http", "https":
		i := strings.Index(u.Path, proxyMarker)
		if i < 0 {
			return nil, fmt.Errorf("%w: cannot serve artifacts of %s", ErrBadPath, uri)
		}
		return r.proxySub(u.Path[i+len(proxyMarker):])
	case "s3":
		if r.S3 == nil {
			return nil, fmt.Errorf("s3 artifact root %s but no S3 configuration", uri)
		}
		p, err := CleanPath(strings.TrimPrefix(u.Path, "/"))
		if err != nil {
			return nil, err
		}
		return r.S3(u.Host, p)
	case "file":
		return NewLocal(filepath.FromSlash(u.Path)), nil
	case "":
		return NewLocal(uri), nil
	}
	return nil, fmt.Errorf("%w: unsupported artifact URI scheme in %s", ErrBadPath, uri)
}

func (r *Resolver) proxySub(p string) (Repo, error) {
	if r.Proxy == nil {
		return nil, ErrNoProxy
	}
	c, err := CleanPath(strings.TrimPrefix(p, "/"))
	if err != nil {
		return nil, err
	}
	return Sub(r.Proxy, c), nil
}
