package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/mlgate/mlgate/artifacts"
	"github.com/mlgate/mlgate/pkgformat"
	"github.com/mlgate/mlgate/registry"
	"github.com/mlgate/mlgate/rest"
	"github.com/mlgate/mlgate/tracking"
)

// ModelSourceOptions configure a ModelSource.
type ModelSourceOptions struct {
	// Tracking is the tracking configuration (tracking.FromEnv plus flags);
	// models:/ and runs:/ URIs are resolved against Tracking.TrackingURI,
	// which must be an http(s) server for them.
	Tracking tracking.Config
	// CacheDir is the download cache (default DefaultCacheDir()).
	CacheDir string
	// Concurrency bounds parallel file transfers (default 8).
	Concurrency int
	// Progress shows a progress bar when it is a terminal.
	Progress io.Writer
	// Logger receives progress lines and warnings.
	Logger *slog.Logger
}

// DefaultCacheDir returns $MLGATE_CACHE/models, else
// $XDG_CACHE_HOME/mlgate/models, else ~/.cache/mlgate/models.
func DefaultCacheDir(getenv func(string) string) string {
	if d := getenv("MLGATE_CACHE"); d != "" {
		return filepath.Join(d, "models")
	}
	if d := getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "mlgate", "models")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".cache", "mlgate", "models")
	}
	return filepath.Join(os.TempDir(), "mlgate-models")
}

// ModelSource resolves model URIs (models:/, runs:/, mlflow-artifacts:,
// http(s), s3:, file: and local folders) to a local folder, downloading
// remote ones into a verified cache. It implements serve.ModelSource and is
// safe for concurrent use.
type ModelSource struct {
	opts      ModelSourceOptions
	transport *rest.Transport // nil when the tracking URI is not http(s)
	reg       *registry.Client
	cache     *artifacts.Cache
}

// NewModelSource returns a ModelSource.
func NewModelSource(o ModelSourceOptions) (*ModelSource, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.CacheDir == "" {
		o.CacheDir = DefaultCacheDir(func(string) string { return "" })
	}
	s := &ModelSource{opts: o, cache: &artifacts.Cache{Dir: o.CacheDir}}
	uri := o.Tracking.TrackingURI
	if strings.HasPrefix(uri, "http://") || strings.HasPrefix(uri, "https://") {
		hc := o.Tracking.HTTP
		hc.BaseURL = uri
		if hc.Logger == nil {
			hc.Logger = o.Logger
		}
		t, err := rest.New(hc)
		if err != nil {
			return nil, err
		}
		s.transport = t
		s.reg = registry.NewClient(t)
	}
	return s, nil
}

// Resolve returns the artifact URI a model URI stands for.
func (s *ModelSource) Resolve(ctx context.Context, uri string) (*registry.Resolved, error) {
	if !registry.IsRemote(uri) {
		if _, err := pkgformat.ParseURI(uri); err != nil {
			return nil, err
		}
		return &registry.Resolved{URI: uri, ArtifactURI: uri}, nil
	}
	if s.reg == nil {
		return nil, fmt.Errorf("%s: resolving models:/ and runs:/ URIs needs an http(s) tracking server; set MLFLOW_TRACKING_URI or --tracking-uri (now %q)", uri, s.opts.Tracking.TrackingURI)
	}
	return s.reg.Resolve(ctx, uri)
}

// Fetch returns a local folder holding the model; remote models land in
// the cache, which is reused while the model's listing is unchanged.
func (s *ModelSource) Fetch(ctx context.Context, uri string) (string, error) {
	res, err := s.Resolve(ctx, uri)
	if err != nil {
		return "", err
	}
	return s.fetch(ctx, uri, res)
}

// fetch is Fetch of a URI already resolved to res.
func (s *ModelSource) fetch(ctx context.Context, uri string, res *registry.Resolved) (string, error) {
	u, err := pkgformat.ParseURI(res.ArtifactURI)
	if err != nil {
		return "", fmt.Errorf("%s resolved to %w", uri, err)
	}
	if u.Kind == pkgformat.KindLocal {
		st, err := os.Stat(u.Path)
		if err != nil {
			return "", fmt.Errorf("%s: %w", uri, err)
		}
		if st.IsDir() {
			return u.Path, nil
		}
	}
	opts := s.opts.Tracking.Artifacts
	opts.Tracking = s.transport
	repo, err := artifacts.Open(ctx, res.ArtifactURI, opts)
	if err != nil {
		return "", fmt.Errorf("%s: %w", uri, err)
	}
	dir, err := s.cache.Fetch(ctx, repo, "", s.downloadOptions())
	if err != nil {
		return "", fmt.Errorf("download %s (%s): %w", uri, res.ArtifactURI, err)
	}
	return dir, nil
}

func (s *ModelSource) downloadOptions() artifacts.DownloadOptions {
	return artifacts.DownloadOptions{Concurrency: s.opts.Concurrency, Logger: s.opts.Logger, Progress: s.opts.Progress}
}

// Download resolves uri once and writes its files into dst (which must not
// exist or be empty), through the cache, and returns what it resolved to.
// For registry URIs it also writes registered_model_meta as MLflow's client
// does.
func (s *ModelSource) Download(ctx context.Context, uri, dst string) (*registry.Resolved, error) {
	res, err := s.Resolve(ctx, uri)
	if err != nil {
		return nil, err
	}
	dir, err := s.fetch(ctx, uri, res)
	if err != nil {
		return nil, err
	}
	if err := artifacts.CopyTree(dir, dst); err != nil {
		return nil, fmt.Errorf("copy %s to %s: %w", uri, dst, err)
	}
	if res.Name != "" {
		if _, err := os.Stat(filepath.Join(dst, "MLmodel")); err == nil {
			meta, err := yaml.Marshal(map[string]string{"model_name": res.Name, "model_version": res.Version})
			if err == nil {
				err = os.WriteFile(filepath.Join(dst, "registered_model_meta"), meta, 0o644)
			}
			if err != nil {
				return nil, fmt.Errorf("write registered_model_meta: %w", err)
			}
		}
	}
	return res, nil
}

// RegisteredModelTags returns the tags of a registered model (what
// `models serve --follow-rollout` reads the rollout's state from).
func (s *ModelSource) RegisteredModelTags(ctx context.Context, name string) (map[string]string, error) {
	if s.reg == nil {
		return nil, fmt.Errorf("reading the tags of registered model %s needs an http(s) tracking server; set MLFLOW_TRACKING_URI or --tracking-uri (now %q)", name, s.opts.Tracking.TrackingURI)
	}
	rm, err := s.reg.GetRegisteredModel(ctx, name)
	if err != nil {
		return nil, err
	}
	tags := make(map[string]string, len(rm.Tags))
	for _, t := range rm.Tags {
		tags[t.Key] = t.Value
	}
	return tags, nil
}
