package artifacts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/mlgate/mlgate/rest"
)

// ProxyEndpoint is where a tracking server serves its artifact proxy.
const ProxyEndpoint = "/api/2.0/mlflow-artifacts/artifacts"

// proxyRepo is a folder behind a tracking server's artifact proxy.
type proxyRepo struct {
	uri  string
	t    *rest.Transport
	root string // path under the proxy, no leading or trailing slash
}

// openProxy opens an mlflow-artifacts: URI: without a host it goes to the
// tracking server of opts, with one to that host (same scheme as the
// tracking server).
func openProxy(uri string, u *url.URL, opts Options) (Repo, error) {
	t := opts.Tracking
	if u.Host != "" {
		cfg := rest.Config{}
		scheme := "http"
		if t != nil {
			cfg = t.Config()
			if strings.HasPrefix(t.BaseURL(), "https://") {
				scheme = "https"
			}
		}
		cfg.BaseURL = scheme + "://" + u.Host
		var err error
		if t, err = rest.New(cfg); err != nil {
			return nil, storeErr(uri, "open", "", err)
		}
	}
	if t == nil {
		return nil, storeErr(uri, "open", "", fmt.Errorf("%w: an mlflow-artifacts: URI needs a tracking server (set the tracking URI to an http(s) server)", ErrNotSupported))
	}
	return newProxyRepo(uri, t, u.Path)
}

// openHTTP opens an http(s) URL: one into an artifact proxy is a proxy
// repo; any other URL is a single file.
func openHTTP(uri string, u *url.URL, opts Options) (Repo, error) {
	cfg := rest.Config{}
	if opts.Tracking != nil {
		cfg = opts.Tracking.Config()
	}
	cfg.HTTPClient = nil
	base, tail, ok := strings.Cut(u.Path, ProxyEndpoint)
	if !ok {
		cfg.BaseURL = u.Scheme + "://" + u.Host
		t, err := rest.New(cfg)
		if err != nil {
			return nil, storeErr(uri, "open", "", err)
		}
		return &fileURLRepo{uri: uri, t: t}, nil
	}
	cfg.BaseURL = u.Scheme + "://" + u.Host + strings.TrimRight(base, "/")
	t, err := rest.New(cfg)
	if err != nil {
		return nil, storeErr(uri, "open", "", err)
	}
	return newProxyRepo(uri, t, tail)
}

func newProxyRepo(uri string, t *rest.Transport, p string) (Repo, error) {
	root := strings.Trim(p, "/")
	if err := checkRel(root); err != nil {
		return nil, storeErr(uri, "open", root, err)
	}
	return &proxyRepo{uri: uri, t: t, root: root}, nil
}

// mapRemote turns a transport error into the package's sentinels, keeping
// the server's message.
func mapRemote(ctx context.Context, err error) error {
	if err == nil || ctx.Err() != nil {
		return err
	}
	var re *rest.Error
	if !errors.As(err, &re) {
		return fmt.Errorf("%w: %w", ErrUnavailable, err) // connection refused, DNS, timeout
	}
	switch {
	case re.Code == "RESOURCE_DOES_NOT_EXIST" || re.Code == "NOT_FOUND" || re.StatusCode == http.StatusNotFound:
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	case re.StatusCode == http.StatusUnauthorized || re.StatusCode == http.StatusForbidden:
		return fmt.Errorf("%w: %w", ErrPermission, err)
	case re.StatusCode == http.StatusNotImplemented:
		return fmt.Errorf("%w: %w", ErrNotSupported, err)
	case re.StatusCode == http.StatusBadGateway || re.StatusCode == http.StatusServiceUnavailable || re.StatusCode == http.StatusGatewayTimeout:
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	case re.Code == "INVALID_PARAMETER_VALUE":
		return fmt.Errorf("%w: %w", ErrBadPath, err)
	}
	return err
}

func (r *proxyRepo) URI() string { return r.uri }

func (r *proxyRepo) fileURL(rel string) string {
	return r.t.BaseURL() + ProxyEndpoint + "/" + escapePath(joinKey(r.root, rel))
}

// List implements Repo.
func (r *proxyRepo) List(ctx context.Context, rel string) ([]Entry, error) {
	if err := checkRel(rel); err != nil {
		return nil, storeErr(r.uri, "list", rel, err)
	}
	var resp struct {
		Files []struct {
			Path     string          `json:"path"`
			IsDir    bool            `json:"is_dir"`
			FileSize json.RawMessage `json:"file_size"`
		} `json:"files"`
	}
	q := url.Values{}
	if p := joinKey(r.root, rel); p != "" {
		q.Set("path", p)
	}
	if err := r.t.Call(ctx, http.MethodGet, ProxyEndpoint, q, &resp); err != nil {
		return nil, storeErr(r.uri, "list", rel, mapRemote(ctx, err))
	}
	out := make([]Entry, 0, len(resp.Files))
	for _, f := range resp.Files {
		name := f.Path[strings.LastIndex(f.Path, "/")+1:]
		if name == "" || name == "." || name == ".." || checkRel(name) != nil {
			return nil, storeErr(r.uri, "list", rel, fmt.Errorf("the server listed a bad entry %q", f.Path))
		}
		size := int64(-1)
		if s := strings.Trim(string(f.FileSize), `"`); s != "" && s != "null" {
			if v, err := strconv.ParseInt(s, 10, 64); err == nil && v >= 0 {
				size = v
			}
		}
		out = append(out, Entry{Path: joinKey(rel, name), IsDir: f.IsDir, Size: size})
	}
	sortEntries(out)
	return out, nil
}

// Open implements Repo.
func (r *proxyRepo) Open(ctx context.Context, rel string) (io.ReadCloser, int64, error) {
	if err := checkRel(rel); err != nil {
		return nil, 0, storeErr(r.uri, "open", rel, err)
	}
	rc, size, err := get(ctx, r.t, r.fileURL(rel))
	return rc, size, storeErr(r.uri, "open", rel, err)
}

// Put implements Repo: one streamed PUT. The transport retries it only
// when body can be rewound.
func (r *proxyRepo) Put(ctx context.Context, rel string, body io.Reader, size int64) error {
	if err := checkRel(rel); err != nil {
		return storeErr(r.uri, "put", rel, err)
	}
	if rel == "" && r.root == "" {
		return storeErr(r.uri, "put", rel, badPath(rel))
	}
	t := r.t
	seeker, rewind := body.(io.Seeker)
	if !rewind {
		cfg := t.Config()
		cfg.MaxRetries = -1
		var err error
		if t, err = rest.New(cfg); err != nil {
			return storeErr(r.uri, "put", rel, err)
		}
	}
	target := r.fileURL(rel)
	start := int64(0)
	if rewind {
		var err error
		if start, err = seeker.Seek(0, io.SeekCurrent); err != nil {
			return storeErr(r.uri, "put", rel, err)
		}
	}
	res, err := t.Do(ctx, func(ctx context.Context) (*http.Request, error) {
		if rewind {
			if _, err := seeker.Seek(start, io.SeekStart); err != nil {
				return nil, err
			}
		}
		var rb io.Reader = io.NopCloser(body) // the client must not close the caller's reader
		if size == 0 {
			rb = http.NoBody
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPut, target, rb)
		if err != nil {
			return nil, err
		}
		req.ContentLength = size
		req.Header.Set("Content-Type", "application/octet-stream")
		return req, nil
	})
	if err != nil {
		return storeErr(r.uri, "put", rel, mapRemote(ctx, err))
	}
	_, _ = io.Copy(io.Discard, res.Body)
	return storeErr(r.uri, "put", rel, res.Body.Close())
}

// Delete implements Repo through the proxy's DELETE route; a missing path
// is not an error. The proxy's root itself is never deleted.
func (r *proxyRepo) Delete(ctx context.Context, rel string) error {
	if err := checkRel(rel); err != nil {
		return storeErr(r.uri, "delete", rel, err)
	}
	if rel == "" && r.root == "" {
		return storeErr(r.uri, "delete", rel, badPath(rel))
	}
	target := r.fileURL(rel)
	res, err := r.t.Do(ctx, func(ctx context.Context) (*http.Request, error) {
		return http.NewRequestWithContext(ctx, http.MethodDelete, target, nil)
	})
	err = mapRemote(ctx, err)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return storeErr(r.uri, "delete", rel, err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	return storeErr(r.uri, "delete", rel, res.Body.Close())
}

// get GETs a file and returns its body and Content-Length.
func get(ctx context.Context, t *rest.Transport, target string) (io.ReadCloser, int64, error) {
	res, err := t.Do(ctx, func(ctx context.Context) (*http.Request, error) {
		return http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	})
	if err != nil {
		return nil, 0, mapRemote(ctx, err)
	}
	return res.Body, res.ContentLength, nil
}

// escapePath escapes each segment of a slash path.
func escapePath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

// fileURLRepo is a single file at a plain http(s) URL: its root lists as
// empty and Open("") reads the file; it cannot be written.
type fileURLRepo struct {
	uri string
	t   *rest.Transport
}

func (r *fileURLRepo) URI() string { return r.uri }

// List implements Repo.
func (r *fileURLRepo) List(_ context.Context, rel string) ([]Entry, error) {
	return nil, storeErr(r.uri, "list", rel, checkRel(rel))
}

// Open implements Repo.
func (r *fileURLRepo) Open(ctx context.Context, rel string) (io.ReadCloser, int64, error) {
	if err := checkRel(rel); err != nil {
		return nil, 0, storeErr(r.uri, "open", rel, err)
	}
	if rel != "" {
		return nil, 0, storeErr(r.uri, "open", rel, fmt.Errorf("%w: the URL is a single file", ErrNotFound))
	}
	rc, size, err := get(ctx, r.t, r.uri)
	return rc, size, storeErr(r.uri, "open", rel, err)
}

// Put implements Repo.
func (r *fileURLRepo) Put(_ context.Context, rel string, _ io.Reader, _ int64) error {
	if err := checkRel(rel); err != nil {
		return storeErr(r.uri, "put", rel, err)
	}
	return storeErr(r.uri, "put", rel, fmt.Errorf("%w: a plain http(s) URL cannot be written", ErrNotSupported))
}

// Delete implements Repo.
func (r *fileURLRepo) Delete(_ context.Context, rel string) error {
	if err := checkRel(rel); err != nil {
		return storeErr(r.uri, "delete", rel, err)
	}
	return storeErr(r.uri, "delete", rel, fmt.Errorf("%w: a plain http(s) URL cannot be deleted", ErrNotSupported))
}

var (
	_ Repo = (*proxyRepo)(nil)
	_ Repo = (*fileURLRepo)(nil)
)
