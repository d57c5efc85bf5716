package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/mlgate/mlgate/pkgformat"
	"github.com/mlgate/mlgate/registry"
)

// resolver turns a models:/ URI into the version it names now (the
// ModelSource of `mlgate models serve` is one).
type resolver interface {
	Resolve(ctx context.Context, uri string) (*registry.Resolved, error)
}

// MovingURI reports whether uri is a models:/ URI whose version can
// change: an alias, a stage or latest.
func MovingURI(uri string) bool {
	u, err := pkgformat.ParseURI(uri)
	if err != nil {
		return false
	}
	switch u.Kind {
	case pkgformat.KindModelAlias, pkgformat.KindModelStage, pkgformat.KindModelLatest:
		return true
	}
	return false
}

// versionURI is the URI of one version of a registered model.
func versionURI(name, version string) string { return "models:/" + name + "/" + version }

// loadCurrent resolves the moving URI and serves the version it names,
// labelled with its number, beside the one being served (if any), then
// switches traffic to it: the old version closes after its last request.
func (s *Scoring) loadCurrent(ctx context.Context) (string, error) {
	res, err := s.resolver.Resolve(ctx, s.opts.ModelURI)
	if err != nil {
		return "", err
	}
	if res.Name == "" || res.Version == "" {
		return "", fmt.Errorf("%s resolved to no registered model version", s.opts.ModelURI)
	}
	if res.Version == s.served {
		return res.Version, nil
	}
	m, err := s.srv.LoadModel(ctx, versionURI(res.Name, res.Version))
	if err != nil {
		return "", err
	}
	m.Version = res.Version
	s.srv.Install(m)
	return res.Version, nil
}

// watch polls the registry every WatchInterval until ctx ends and switches
// to the version the URI names when it moves. A failed poll or load is
// logged and keeps the served version.
func (s *Scoring) watch(ctx context.Context) {
	t := time.NewTicker(s.opts.WatchInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		lctx, cancel := context.WithTimeout(ctx, s.opts.WatchTimeout)
		v, err := s.loadCurrent(lctx)
		cancel()
		switch {
		case err != nil && errors.Is(err, context.Canceled) && ctx.Err() != nil:
			return
		case err != nil:
			s.opts.Logger.Warn("following the model URI: keeping the served version",
				slog.String("model_uri", s.opts.ModelURI), slog.String("version", s.served), slog.String("error", err.Error()))
		case v != s.served:
			s.opts.Logger.Info("model version switched", slog.String("model_uri", s.opts.ModelURI),
				slog.String("from", s.served), slog.String("to", v))
			s.served = v
			s.switches.Inc()
		}
	}
}
