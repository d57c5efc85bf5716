package rollout

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// ErrRolledBack is returned (wrapped, with the reason) by Run when the
// analysis found a breach and the rollout was rolled back.
var ErrRolledBack = errors.New("rolled back")

// ErrOwned is returned by Run when another live controller drives the
// rollout.
var ErrOwned = errors.New("another controller drives this rollout")

// Run drives the model's running rollout to its end: every analysis
// interval it writes a heartbeat, judges the window's figures, and
// advances a step when they hold; after the last step it moves the alias
// (PROMOTED). On a breach it sets the weight to 0 (ROLLED_BACK), tags the
// candidate version with RejectedTag and returns an error wrapping
// ErrRolledBack. It resumes a rollout from the registry alone, and takes
// over one whose controller's heartbeat is stale (or any with force).
// When ctx ends it returns ctx's error and the rollout stays RUNNING for
// a later Run.
func (c *Controller) Run(ctx context.Context, model string, force bool) (*State, error) {
	st, iv, err := c.claim(ctx, model, force)
	if err != nil || !st.Active() {
		return st, err
	}
	for {
		if err := c.sleep(ctx, iv); err != nil {
			c.log.Info("controller stopping; the rollout stays RUNNING for a later run", slog.String("model", model), slog.String("rollout", st.ID))
			return st, err
		}
		done, next, err := c.tick(ctx, model, st)
		if err != nil && ctx.Err() != nil {
			return st, ctx.Err()
		}
		if err != nil || done {
			return next, err
		}
		st = next
	}
}

// claim makes c the owner of the model's running rollout and returns it
// with its analysis interval. A rollout that already ended is returned
// as it is (an error unless PROMOTED).
func (c *Controller) claim(ctx context.Context, model string, force bool) (*State, time.Duration, error) {
	v, err := read(ctx, c.reg, model)
	if err != nil {
		return nil, 0, err
	}
	switch st := v.State; {
	case st == nil:
		return nil, 0, fmt.Errorf("registered model %q has no rollout: start one first", model)
	case st.Status == Promoted:
		return st, 0, nil
	case !st.Active():
		return st, 0, fmt.Errorf("%s already ended: %s", brief(st), st.Reason)
	case v.Spec == nil:
		return nil, 0, fmt.Errorf("%s has no analysis settings (tag %s): start it with `mlgate rollout start`", brief(st), SpecTag)
	case st.Owner != "" && st.Owner != c.owner && !force && !c.stale(v, c.now()):
		return nil, 0, fmt.Errorf("%w: %s has a heartbeat %s old (stale after %d intervals); --force takes it over",
			ErrOwned, brief(st), c.now().Sub(time.UnixMilli(st.Heartbeat)).Round(time.Millisecond), StaleAfter)
	}
	prev := v.State.Owner
	st, err := update(ctx, c.reg, model, func(s *State) error {
		if err := check(s, v.State.ID, prev); err != nil {
			return err
		}
		s.Owner, s.Heartbeat = c.owner, c.now().UnixMilli()
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	c.log.Info("controller drives the rollout", slog.String("model", model), slog.String("rollout", st.ID),
		slog.String("owner", c.owner), slog.String("previous_owner", prev), slog.Int("weight", st.Weight))
	return st, interval(v), nil
}

// tick is one analysis: it judges the last interval and acts. done
// reports that the rollout ended (next is then its final state).
func (c *Controller) tick(ctx context.Context, model string, st *State) (done bool, next *State, err error) {
	now := c.now() // the window ends when the interval did, not after the reads
	v, err := read(ctx, c.reg, model)
	if err != nil {
		c.log.Warn("registry unreachable; retrying next interval", slog.String("model", model), slog.String("error", err.Error()))
		return false, st, nil
	}
	if err := check(v.State, st.ID, c.owner); err != nil {
		if v.State != nil && v.State.ID == st.ID && v.State.Status == Promoted {
			return true, v.State, nil
		}
		return true, v.State, err
	}
	st, spec := v.State, v.Spec
	if spec == nil {
		return true, st, fmt.Errorf("%s lost its analysis settings (tag %s)", brief(st), SpecTag)
	}
	settled := st.Updated + spec.Settle().Milliseconds()
	from := max(now.Add(-spec.Interval()).UnixMilli(), settled)
	rep := Report{ID: st.ID, Time: now.UnixMilli(), From: from, Step: st.Step, Weight: st.Weight}
	var (
		figs map[string]Figures
		runs int
		ferr error
	)
	if from < now.UnixMilli() {
		if spec.Prometheus != "" {
			figs, runs, ferr = promWindow(ctx, spec.Prometheus, model, time.UnixMilli(from), now, st.Stable, st.Candidate)
		} else {
			figs, runs, ferr = Window(ctx, c.trk, spec.Experiment, model, time.UnixMilli(from), now, st.Stable, st.Candidate)
		}
	}
	switch {
	case from >= now.UnixMilli():
		rep.From = now.UnixMilli()
		rep.Decision = Decision{Wait, fmt.Sprintf("settling: weight %d%% set %s ago; figures count from %s after a change (--settle)",
			st.Weight, now.Sub(time.UnixMilli(st.Updated)).Round(time.Millisecond), spec.Settle())}
	case ferr != nil:
		rep.Decision = Decision{Wait, "figures unavailable: " + ferr.Error()}
	case runs == 0 && spec.Prometheus != "":
		rep.Decision = Decision{Wait, errNoSeries(spec.Prometheus, model)}
	case runs == 0:
		rep.Decision = Decision{Wait, fmt.Sprintf("no serving run tagged %s = %s in experiment %q: are the replicas started with --follow-rollout --log-experiment %s?",
			RunModelTag, model, spec.Experiment, spec.Experiment)}
	default:
		rep.Runs, rep.Stable, rep.Candidate = runs, figs[st.Stable], figs[st.Candidate]
		rep.Decision = Analyze(rep.Stable, rep.Candidate, spec.Thresholds)
	}
	c.log.Info("analysis", slog.String("model", model), slog.String("rollout", st.ID), slog.Int("weight", st.Weight),
		slog.String("verdict", string(rep.Verdict)), slog.String("reason", rep.Reason), slog.Int("runs", runs))
	if rep.Verdict == Breach { // the traffic stops first, the report follows
		final, err := c.rollback(ctx, model, st, rep.Reason)
		c.record(ctx, model, rep)
		return true, final, err
	}
	c.record(ctx, model, rep)
	switch {
	case rep.Verdict == Pass && st.Step >= len(st.Steps)-1:
		final, err := c.promote(ctx, model, st.ID, c.owner)
		return true, final, err
	}
	next, err = update(ctx, c.reg, model, func(s *State) error {
		if err := check(s, st.ID, c.owner); err != nil {
			return err
		}
		if rep.Verdict == Pass {
			s.Step++
			s.Weight, s.Updated = s.Steps[s.Step], now.UnixMilli()
		}
		s.Heartbeat = now.UnixMilli()
		return nil
	})
	if errors.Is(err, ErrConflict) {
		return true, nil, err
	}
	if err != nil {
		c.log.Warn("could not write the heartbeat; retrying next interval", slog.String("model", model), slog.String("error", err.Error()))
		return false, st, nil
	}
	if next.Step != st.Step {
		c.log.Info("rollout advanced", slog.String("model", model), slog.String("rollout", st.ID), slog.Int("weight", next.Weight))
	}
	return false, next, nil
}

// record writes an analysis's report to the registered model's ReportTag.
func (c *Controller) record(ctx context.Context, model string, rep Report) {
	if err := writeJSON(ctx, c.reg, model, ReportTag, rep); err != nil {
		c.log.Warn("could not record the analysis", slog.String("model", model), slog.String("error", err.Error()))
	}
}

// rollback stops the candidate's traffic and tags it with the reason.
func (c *Controller) rollback(ctx context.Context, model string, st *State, reason string) (*State, error) {
	final, err := update(ctx, c.reg, model, func(s *State) error {
		if err := check(s, st.ID, c.owner); err != nil {
			return err
		}
		s.Status, s.Weight, s.Shadow, s.Reason, s.Updated = Failed, 0, 0, reason, c.now().UnixMilli()
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("roll back after %q: %w", reason, err)
	}
	c.log.Warn("rollout rolled back", slog.String("model", model), slog.String("rollout", final.ID),
		slog.String("candidate", final.Candidate), slog.String("reason", reason))
	if err := c.reg.SetModelVersionTag(ctx, model, final.Candidate, RejectedTag, reason); err != nil {
		return final, fmt.Errorf("%w: %s (and tagging version %s failed: %w)", ErrRolledBack, reason, final.Candidate, err)
	}
	return final, fmt.Errorf("%w: version %s: %s", ErrRolledBack, final.Candidate, reason)
}
