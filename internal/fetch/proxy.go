package fetch

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/mlgate/mlgate/rest"
)

// proxyEndpoint is where the tracking server's artifact proxy lives.
const proxyEndpoint = "/api/2.0/mlflow-artifacts/artifacts"

// proxyRepo is a folder behind a tracking server's artifact proxy.
type proxyRepo struct {
	uri  string
	t    *rest.Transport
	root string // path under the proxy, no leading or trailing slash
}

func newProxyRepo(uri string, u *url.URL, opts Options) (Repo, error) {
	t := opts.Tracking
	if u.Host != "" {
		base := "http://" + u.Host
		if t != nil && strings.HasPrefix(t.BaseURL(), "https://") {
			base = "https://" + u.Host
		}
		cfg := rest.Config{}
		if t != nil {
			cfg = t.Config()
		}
		cfg.BaseURL = base
		var err error
		if t, err = rest.New(cfg); err != nil {
			return nil, err
		}
	}
	if t == nil {
		return nil, fmt.Errorf("artifact URI %q needs a tracking server (set the tracking URI to an http(s) server)", uri)
	}
	return &proxyRepo{uri: uri, t: t, root: strings.Trim(u.Path, "/")}, nil
}

// newHTTPRepo serves http(s) URIs: a URL into an artifact proxy becomes a
// proxyRepo; any other URL is a single file.
func newHTTPRepo(uri string, u *url.URL, opts Options) (Repo, error) {
	base, tail, ok := strings.Cut(u.Path, proxyEndpoint)
	if !ok {
		return &fileURLRepo{uri: uri, opts: opts}, nil
	}
	cfg := rest.Config{}
	if opts.Tracking != nil {
		cfg = opts.Tracking.Config()
	}
	cfg.BaseURL = u.Scheme + "://" + u.Host + strings.TrimRight(base, "/")
	cfg.HTTPClient = nil
	t, err := rest.New(cfg)
	if err != nil {
		return nil, err
	}
	return &proxyRepo{uri: uri, t: t, root: strings.Trim(tail, "/")}, nil
}

func (r *proxyRepo) URI() string { return r.uri }

func (r *proxyRepo) List(ctx context.Context, rel string) ([]Entry, error) {
	if err := safeRel(rel); err != nil {
		return nil, err
	}
	var resp struct {
		Files []struct {
			Path     string          `json:"path"`
			IsDir    bool            `json:"is_dir"`
			FileSize json.RawMessage `json:"file_size"`
		} `json:"files"`
	}
	q := url.Values{}
	if p := joinRel(r.root, rel); p != "" {
		q.Set("path", p)
	}
	if err := r.t.Call(ctx, http.MethodGet, proxyEndpoint, q, &resp); err != nil {
		return nil, fmt.Errorf("list %s: %w", joinRel(r.uri, rel), err)
	}
	out := make([]Entry, 0, len(resp.Files))
	for _, f := range resp.Files {
		name := f.Path
		if i := strings.LastIndex(name, "/"); i >= 0 {
			name = name[i+1:]
		}
		if name == "" || name == "." || name == ".." {
			return nil, fmt.Errorf("list %s: bad entry %q", r.uri, f.Path)
		}
		size := int64(-1)
		if s := strings.Trim(string(f.FileSize), `"`); s != "" && s != "null" {
			if v, err := strconv.ParseInt(s, 10, 64); err == nil {
				size = v
			}
		}
		out = append(out, Entry{Path: joinRel(rel, name), IsDir: f.IsDir, Size: size})
	}
	return out, nil
}

func (r *proxyRepo) fileURL(rel string) string {
	return r.t.BaseURL() + proxyEndpoint + "/" + escapePath(joinRel(r.root, rel))
}

func (r *proxyRepo) Open(ctx context.Context, rel string) (io.ReadCloser, int64, error) {
	if err := safeRel(rel); err != nil {
		return nil, 0, err
	}
	return openURL(ctx, r.t, r.fileURL(rel))
}

func (r *proxyRepo) Put(ctx context.Context, rel string, open func() (io.ReadCloser, error), size int64) error {
	if err := safeRel(rel); err != nil {
		return err
	}
	target := r.fileURL(rel)
	res, err := r.t.Do(ctx, func(ctx context.Context) (*http.Request, error) {
		body, err := open()
		if err != nil {
			return nil, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPut, target, body)
		if err != nil {
			_ = body.Close()
			return nil, err
		}
		req.ContentLength = size
		req.Header.Set("Content-Type", "application/octet-stream")
		return req, nil
	})
	if err != nil {
		return fmt.Errorf("upload %s: %w", joinRel(r.uri, rel), err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	return res.Body.Close()
}

// openURL GETs a file and returns its body and Content-Length.
func openURL(ctx context.Context, t *rest.Transport, target string) (io.ReadCloser, int64, error) {
	res, err := t.Do(ctx, func(ctx context.Context) (*http.Request, error) {
		return http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	})
	if err != nil {
		return nil, 0, err
	}
	return res.Body, res.ContentLength, nil
}

// fileURLRepo is a single file at a plain http(s) URL. Its root lists as
// empty and Open("") reads the file.
type fileURLRepo struct {
	uri  string
	opts Options
}

func (r *fileURLRepo) URI() string { return r.uri }

func (r *fileURLRepo) List(context.Context, string) ([]Entry, error) { return nil, nil }

func (r *fileURLRepo) Open(ctx context.Context, rel string) (io.ReadCloser, int64, error) {
	if rel != "" {
		return nil, 0, fmt.Errorf("%s is a single file: %w", r.uri, ErrNotSupported)
	}
	u, err := url.Parse(r.uri)
	if err != nil {
		return nil, 0, err
	}
	cfg := rest.Config{}
	if r.opts.Tracking != nil {
		cfg = r.opts.Tracking.Config()
	}
	cfg.BaseURL = u.Scheme + "://" + u.Host
	t, err := rest.New(cfg)
	if err != nil {
		return nil, 0, err
	}
	return openURL(ctx, t, r.uri)
}

func (r *fileURLRepo) Put(context.Context, string, func() (io.ReadCloser, error), int64) error {
	return fmt.Errorf("upload to %s: %w", r.uri, ErrNotSupported)
}

var (
	_ Repo = (*proxyRepo)(nil)
	_ Repo = (*fileURLRepo)(nil)
)
