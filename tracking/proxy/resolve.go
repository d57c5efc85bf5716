package proxy

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"

	"github.com/mlgate/mlgate/artifacts"
)

// Resolver turns an artifact URI stored on a run, experiment or model
// version into a Repo rooted at that URI. It is safe for concurrent use.
type Resolver struct {
	// Proxy is the --artifacts-destination repo behind mlflow-artifacts:
	// URIs; nil when artifact serving is off.
	Proxy artifacts.Repo
	// Options reach the other stores (artifacts.FromEnv).
	Options artifacts.Options

	buckets sync.Map // scheme://[user@]host of a bucket store → artifacts.Repo
}

// ErrNoProxy is returned for an mlflow-artifacts: URI when serving is off.
var ErrNoProxy = errors.New("artifact serving is disabled (--no-serve-artifacts)")

// errNotServed is returned for URIs the server does not read for clients.
var errNotServed = fmt.Errorf("%w: the server does not read artifacts at plain http(s) URLs", artifacts.ErrNotSupported)

// Resolve returns the Repo rooted at uri.
func (r *Resolver) Resolve(ctx context.Context, uri string) (artifacts.Repo, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return nil, fmt.Errorf("%w: artifact URI %q: %w", artifacts.ErrBadPath, uri, err)
	}
	switch scheme := strings.ToLower(u.Scheme); scheme {
	case "mlflow-artifacts":
		return r.proxySub(u.Path)
	case "http", "https":
		_, tail, ok := strings.Cut(u.Path, artifacts.ProxyEndpoint)
		if !ok {
			return nil, errNotServed
		}
		return r.proxySub(tail)
	case "s3", "gs", "wasbs", "abfss":
		// One client per bucket or container, shared by every run in it.
		p, err := artifacts.CleanPath(strings.TrimPrefix(u.Path, "/"))
		if err != nil {
			return nil, err
		}
		base := (&url.URL{Scheme: scheme, User: u.User, Host: u.Host}).String()
		repo, ok := r.buckets.Load(base)
		if !ok {
			opened, err := artifacts.Open(ctx, base, r.Options)
			if err != nil {
				return nil, err
			}
			repo, _ = r.buckets.LoadOrStore(base, opened)
		}
		return artifacts.Sub(repo.(artifacts.Repo), p)
	}
	opts := r.Options
	opts.Tracking = nil // the server never calls out to a tracking server
	return artifacts.Open(ctx, uri, opts)
}

func (r *Resolver) proxySub(p string) (artifacts.Repo, error) {
	if r.Proxy == nil {
		return nil, ErrNoProxy
	}
	c, err := artifacts.CleanPath(strings.TrimPrefix(p, "/"))
	if err != nil {
		return nil, err
	}
	return artifacts.Sub(r.Proxy, c)
}
