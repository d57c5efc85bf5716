package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/mlgate/mlgate/pkgformat"
	"github.com/mlgate/mlgate/registry"
	"github.com/mlgate/mlgate/serve"
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

// registryURI reports whether uri names a registered model version
// through the registry (a version, an alias, a stage or latest).
func registryURI(uri string) bool {
	u, err := pkgformat.ParseURI(uri)
	if err != nil {
		return false
	}
	switch u.Kind {
	case pkgformat.KindModelVersion, pkgformat.KindModelAlias, pkgformat.KindModelStage, pkgformat.KindModelLatest:
		return true
	}
	return false
}

// versionURI is the URI of one version of a registered model.
func versionURI(name, version string) string { return "models:/" + name + "/" + version }

// target is a model URI the server serves: the main model or the canary.
type target struct {
	role    string // "model" or "canary", for logs
	uri     string
	served  string // the version being served ("" before the first load)
	install func(*serve.Model) error
	backoff loadBackoff
}

// errRetryLater is load's answer for a version that failed to load and
// whose next try is not due yet.
var errRetryLater = errors.New("the version failed to load; its next try is not due yet")

// loadBackoff spaces out the tries of a version that failed to load (its
// files missing, a broken model): each failure doubles the wait, from one
// poll interval up to maxLoadBackoff, so that a broken version neither
// hammers the artifact store nor fills the log at every poll. Any other
// version is tried at once.
type loadBackoff struct {
	version  string
	failures int
	next     time.Time
}

// maxLoadBackoff caps the wait between two tries of a failing version
// (unless the poll interval is longer).
const maxLoadBackoff = 10 * time.Minute

// due reports whether version may be tried at now.
func (b *loadBackoff) due(version string, now time.Time) bool {
	return version != b.version || !now.Before(b.next)
}

// failed records a failure of version at now and returns the wait before
// its next try.
func (b *loadBackoff) failed(version string, now time.Time, interval time.Duration) time.Duration {
	if version != b.version {
		*b = loadBackoff{version: version}
	}
	b.failures++
	d := interval << min(b.failures-1, 16)
	if d > maxLoadBackoff || d <= 0 {
		d = max(maxLoadBackoff, interval)
	}
	b.next = now.Add(d)
	return d
}

// load resolves t's URI to the version it names and switches t to it
// (see switchTo). It reports whether it switched.
func (s *Scoring) load(ctx context.Context, t *target) (bool, error) {
	res, err := s.resolver.Resolve(ctx, t.uri)
	if err != nil {
		return false, err
	}
	if res.Name == "" || res.Version == "" {
		return false, fmt.Errorf("%s resolved to no registered model version", t.uri)
	}
	return s.switchTo(ctx, t, res.Name, res.Version)
}

// switchTo makes t serve version of the registered model name: when that
// is not the version served, it is loaded beside the one being served
// (warm-up included) and installed: traffic switches at once and the old
// model closes after its last request. A version that fails to load is
// retried with a growing wait (see loadBackoff). It reports whether it
// switched.
func (s *Scoring) switchTo(ctx context.Context, t *target, name, version string) (bool, error) {
	if version == t.served {
		return false, nil
	}
	now := time.Now()
	if !t.backoff.due(version, now) {
		return false, errRetryLater
	}
	if err := s.install(ctx, t, name, version); err != nil {
		wait := t.backoff.failed(version, now, s.opts.WatchInterval)
		return false, fmt.Errorf("version %s: %w (next try in %s)", version, err, wait)
	}
	t.backoff = loadBackoff{}
	t.served = version
	return true, nil
}

// install loads a version of the registered model name and installs it as t.
func (s *Scoring) install(ctx context.Context, t *target, name, version string) error {
	m, err := s.srv.LoadModel(ctx, versionURI(name, version))
	if err != nil {
		return err
	}
	m.Version = version
	if err := t.install(m); err != nil {
		_ = m.Predictor.Close()
		return err
	}
	return nil
}

// switchFunc tries to switch a target within ctx and reports whether it did.
type switchFunc func(ctx context.Context) (bool, error)

// watch polls the registry every WatchInterval until ctx ends and
// switches each moving target to the version its URI names when it moves
// or, when following a rollout, applies the rollout's state (see
// pollRollout; once at once, then every interval). A failed poll or load
// is logged and keeps the served version (a version that failed to load
// is retried with a growing wait, see loadBackoff); onSwitch, when set,
// is told each switch (role and new version).
func (s *Scoring) watch(ctx context.Context, targets []*target, onSwitch func(ctx context.Context, role, version string)) {
	t := time.NewTicker(s.opts.WatchInterval)
	defer t.Stop()
	if s.rollout != nil && !s.pollRollout(ctx, onSwitch) {
		return
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if s.rollout != nil {
			if !s.pollRollout(ctx, onSwitch) {
				return
			}
			continue
		}
		for _, tg := range targets {
			if !s.step(ctx, tg, func(lctx context.Context) (bool, error) { return s.load(lctx, tg) }, onSwitch) {
				return
			}
		}
	}
}

// step runs one try to switch tg, bounded by WatchTimeout, and logs its
// outcome; it reports false when ctx ended.
func (s *Scoring) step(ctx context.Context, tg *target, try switchFunc, onSwitch func(ctx context.Context, role, version string)) bool {
	from := tg.served
	lctx, cancel := context.WithTimeout(ctx, s.opts.WatchTimeout)
	switched, err := try(lctx)
	cancel()
	switch {
	case err != nil && errors.Is(err, context.Canceled) && ctx.Err() != nil:
		return false
	case errors.Is(err, errRetryLater):
	case err != nil:
		s.opts.Logger.Warn("following the model URI: keeping the served version", slog.String("role", tg.role),
			slog.String("model_uri", tg.uri), slog.String("version", tg.served), slog.String("error", err.Error()))
	case switched:
		s.switched(ctx, tg, from, onSwitch)
	}
	return true
}

// switched logs and counts a switch of tg from version from.
func (s *Scoring) switched(ctx context.Context, tg *target, from string, onSwitch func(ctx context.Context, role, version string)) {
	s.opts.Logger.Info("model version switched", slog.String("role", tg.role), slog.String("model_uri", tg.uri),
		slog.String("from", from), slog.String("to", tg.served))
	s.switches.Inc()
	if onSwitch != nil {
		onSwitch(ctx, tg.role, tg.served)
	}
}
