package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/mlgate/mlgate/rollout"
)

// tagReader reads the tags of a registered model (ModelSource is one).
type tagReader interface {
	RegisteredModelTags(ctx context.Context, name string) (map[string]string, error)
}

// rolloutFollower is what `models serve --follow-rollout` keeps between
// two polls of the registered model's rollout tag (rollout.TagKey).
type rolloutFollower struct {
	name string // the registered model
	tags tagReader
	// problem is the last problem logged, so that one that lasts is
	// logged once; applied describes the split applied last.
	problem string
	applied string
}

// report logs a problem with the rollout tag once while it lasts.
func (f *rolloutFollower) report(log *slog.Logger, msg string, err error) {
	if err.Error() == f.problem {
		log.Debug(msg, slog.String("model", f.name), slog.String("error", err.Error()))
		return
	}
	f.problem = err.Error()
	log.Warn(msg, slog.String("model", f.name), slog.String("error", err.Error()))
}

// pollRollout reads the rollout's state from the registered model's tags
// and applies it: while it is active the stable version is the main
// model and the candidate the canary with the state's weight and shadow
// share; otherwise the model URI's alias (or stage) alone is served, as
// without a rollout. A tag that cannot be read or parsed is logged and
// changes nothing. It reports false when ctx ended.
func (s *Scoring) pollRollout(ctx context.Context, onSwitch func(ctx context.Context, role, version string)) bool {
	f := s.rollout
	rctx, cancel := context.WithTimeout(ctx, s.opts.WatchTimeout)
	tags, err := f.tags.RegisteredModelTags(rctx, f.name)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return false
		}
		f.report(s.opts.Logger, "reading the rollout state: keeping what is served", err)
		return true
	}
	st, err := rollout.FromTags(tags)
	if err != nil && !errors.Is(err, rollout.ErrNoRollout) {
		f.report(s.opts.Logger, "the rollout state is not valid: keeping what is served", err)
		return true
	}
	f.problem = ""
	if st.Active() {
		return s.applyRollout(ctx, st, onSwitch)
	}
	return s.endRollout(ctx, onSwitch)
}

// applyRollout serves an active rollout: the stable version as the main
// model, the candidate beside it with its weight and shadow share. Until
// the candidate is loaded (a failed load is retried with the watcher's
// backoff) the stable version takes every request.
func (s *Scoring) applyRollout(ctx context.Context, st *rollout.State, onSwitch func(ctx context.Context, role, version string)) bool {
	f := s.rollout
	if !s.step(ctx, s.main, func(lctx context.Context) (bool, error) {
		return s.switchTo(lctx, s.main, f.name, st.Stable)
	}, onSwitch) {
		return false
	}
	if s.canary.served != "" && s.canary.served != st.Candidate {
		_ = s.srv.SetShadow(0)
		s.srv.RemoveCanary() // the candidate of an earlier rollout
		s.canary.served = ""
	}
	if !s.step(ctx, s.canary, func(lctx context.Context) (bool, error) {
		return s.switchTo(lctx, s.canary, f.name, st.Candidate)
	}, onSwitch) {
		return false
	}
	weight, shadow := st.Weight, st.Shadow
	if s.canary.served != st.Candidate {
		weight, shadow = 0, 0
	}
	_ = s.srv.SetCanaryPercent(weight) // validated by rollout.Parse
	_ = s.srv.SetShadow(shadow)
	split := fmt.Sprintf("%s %s:%s %d%% shadow %d%%", st.ID, st.Stable, s.canary.served, weight, shadow)
	if split != f.applied {
		f.applied = split
		s.opts.Logger.Info("following the rollout", slog.String("model", f.name), slog.String("rollout", st.ID),
			slog.String("stable", st.Stable), slog.String("candidate", st.Candidate),
			slog.Bool("candidate_loaded", s.canary.served == st.Candidate), slog.Int("weight", weight), slog.Int("shadow", shadow))
	}
	return true
}

// endRollout goes back to serving the alias alone. A candidate the alias
// now names (the rollout was promoted) becomes the main model as it is
// loaded; any other is removed.
func (s *Scoring) endRollout(ctx context.Context, onSwitch func(ctx context.Context, role, version string)) bool {
	f := s.rollout
	_ = s.srv.SetShadow(0)
	if s.canary.served != "" {
		_ = s.srv.SetCanaryPercent(0)
		rctx, cancel := context.WithTimeout(ctx, s.opts.WatchTimeout)
		res, err := s.resolver.Resolve(rctx, s.main.uri)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return false
			}
			f.report(s.opts.Logger, "the rollout ended but its alias cannot be resolved: keeping the stable version", err)
			return true
		}
		if res.Version == s.canary.served && s.srv.PromoteCanary() {
			from := s.main.served
			s.main.served, s.main.backoff = res.Version, loadBackoff{}
			s.canary.served = ""
			s.switched(ctx, s.main, from, onSwitch)
		} else {
			s.srv.RemoveCanary()
			s.canary.served = ""
		}
	}
	if f.applied != "" {
		f.applied = ""
		s.opts.Logger.Info("the rollout is over: serving the model URI alone", slog.String("model", f.name),
			slog.String("model_uri", s.main.uri))
	}
	return s.step(ctx, s.main, func(lctx context.Context) (bool, error) { return s.load(lctx, s.main) }, onSwitch)
}
