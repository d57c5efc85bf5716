package rollout

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/mlgate/mlgate/registry"
	"github.com/mlgate/mlgate/rest"
	"github.com/mlgate/mlgate/tracking"
)

// StaleAfter is how many analysis intervals without a heartbeat make a
// controller count as gone: its rollout may then be taken over.
const StaleAfter = 3

// DefaultInterval is the analysis interval when a rollout has no Spec.
const DefaultInterval = time.Minute

// Controller drives rollouts: it writes the state replicas follow, reads
// the figures they log to tracking and moves the alias. Every piece of
// state is in the registry, so a controller can stop at any point and
// another one (or the same one restarted) carries on.
type Controller struct {
	reg   *registry.Client
	trk   *tracking.Client
	owner string
	log   *slog.Logger
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
}

// Options configure a Controller; every field may be zero.
type Options struct {
	// Owner names this controller in the state (default host/pid/random).
	Owner  string
	Logger *slog.Logger
	// Now and Sleep are the clock (default the real one); Sleep returns
	// ctx's error when ctx ends first.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// New returns a controller over a registry and a tracking client.
func New(reg *registry.Client, trk *tracking.Client, o Options) *Controller {
	c := &Controller{reg: reg, trk: trk, owner: o.Owner, log: o.Logger, now: o.Now, sleep: o.Sleep}
	if c.owner == "" {
		host, _ := os.Hostname()
		c.owner = fmt.Sprintf("%s/%d/%s", host, os.Getpid(), randomID(3))
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.sleep == nil {
		c.sleep = sleepCtx
	}
	return c
}

// Owner is the name this controller writes into the states it drives.
func (c *Controller) Owner() string { return c.owner }

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// StartOptions describe a new rollout.
type StartOptions struct {
	Model string
	// Candidate is a version number or an alias naming one.
	Candidate string
	// Alias is the stable alias (default champion): the stable version is
	// the one it names now, and it moves to the candidate on promotion.
	Alias string
	// Steps are the candidate's weights, increasing, each 1-100.
	Steps []int
	// Shadow is the share of the stable's requests mirrored to the
	// candidate, 0-100.
	Shadow int
	// Interval is the analysis interval; Experiment is the replicas'
	// --log-experiment, where their serving runs are.
	Interval   time.Duration
	Experiment string
	// Prometheus, when set, is the base URL of a Prometheus server that
	// scrapes the replicas' /metrics: the figures are read from it
	// instead of the serving runs, and Experiment may be empty.
	Prometheus string
	// Settle is how long after a weight change the figures are not yet
	// counted: the replicas apply a change within their --watch-interval,
	// so a window starting at the change would mix the old split in.
	Settle     time.Duration
	Thresholds Thresholds
	// Force replaces a RUNNING rollout whose controller's heartbeat is
	// stale (never one with a fresh heartbeat).
	Force bool
}

func (o *StartOptions) validate() error {
	switch {
	case o.Model == "":
		return errors.New("the registered model name is required")
	case o.Candidate == "":
		return errors.New("the candidate (a version or an alias) is required")
	case o.Alias == "":
		return errors.New("the stable alias must not be empty")
	case len(o.Steps) == 0:
		return errors.New("at least one step is required (e.g. 5,25,50,100)")
	case o.Shadow < 0 || o.Shadow > 100:
		return fmt.Errorf("shadow share %d is not between 0 and 100", o.Shadow)
	case o.Interval < time.Millisecond:
		return fmt.Errorf("analysis interval %s is too short", o.Interval)
	case o.Experiment == "" && o.Prometheus == "":
		return errors.New("the serving experiment (the replicas' --log-experiment) or a --prometheus-url is required")
	case o.Settle < 0:
		return fmt.Errorf("settle time %s is negative", o.Settle)
	}
	if o.Prometheus != "" {
		if err := CheckPrometheusURL(o.Prometheus); err != nil {
			return err
		}
	}
	prev := 0
	for _, w := range o.Steps {
		if w < 0 || w > 100 {
			return fmt.Errorf("step weight %d is not between 0 and 100", w)
		}
		if w <= prev {
			return fmt.Errorf("steps %v must increase, each between 1 and 100", o.Steps)
		}
		prev = w
	}
	return o.Thresholds.Validate()
}

// Start begins a rollout: after checking everything it writes the Spec
// and then the State (weight Steps[0]), which replicas then follow. On
// any refusal nothing is written.
func (c *Controller) Start(ctx context.Context, o StartOptions) (*State, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	v, err := read(ctx, c.reg, o.Model)
	if err != nil {
		return nil, err
	}
	stable, ok := v.Aliases[o.Alias]
	if !ok {
		return nil, fmt.Errorf("registered model %q has no alias %q: point it at the stable version first", o.Model, o.Alias)
	}
	candidate, err := c.version(ctx, v, o.Candidate)
	if err != nil {
		return nil, err
	}
	if candidate == stable {
		return nil, fmt.Errorf("the candidate is version %s, which alias %q already names", candidate, o.Alias)
	}
	now := c.now()
	if st := v.State; st.Active() {
		age := now.Sub(time.UnixMilli(st.Heartbeat))
		if !c.stale(v, now) {
			return nil, fmt.Errorf("%s is in progress (heartbeat %s ago): abort it or wait for it to end", brief(st), age.Round(time.Second))
		}
		if !o.Force {
			return nil, fmt.Errorf("%s is RUNNING but its controller's heartbeat is %s old: --force replaces it", brief(st), age.Round(time.Second))
		}
	}
	st := &State{ID: now.UTC().Format("20060102T150405Z") + "-" + randomID(3), Stable: stable, Candidate: candidate,
		Alias: o.Alias, Weight: o.Steps[0], Shadow: o.Shadow, Steps: o.Steps, Status: Running,
		Heartbeat: now.UnixMilli(), Updated: now.UnixMilli()}
	if err := st.Validate(); err != nil {
		return nil, err
	}
	spec := Spec{ID: st.ID, Experiment: o.Experiment, Prometheus: o.Prometheus, IntervalMs: o.Interval.Milliseconds(), SettleMs: o.Settle.Milliseconds(), Thresholds: o.Thresholds}
	if err := writeJSON(ctx, c.reg, o.Model, SpecTag, spec); err != nil {
		return nil, err
	}
	if err := writeState(ctx, c.reg, o.Model, st); err != nil {
		return nil, err
	}
	back, err := read(ctx, c.reg, o.Model)
	if err != nil {
		return nil, err
	}
	if back.State == nil || back.State.ID != st.ID {
		return nil, fmt.Errorf("%w: started %s, read back %s", ErrConflict, brief(st), brief(back.State))
	}
	c.log.Info("rollout started", slog.String("model", o.Model), slog.String("rollout", st.ID),
		slog.String("stable", stable), slog.String("candidate", candidate), slog.Int("weight", st.Weight))
	return st, nil
}

// version resolves a version number or an alias of the model.
func (c *Controller) version(ctx context.Context, v *View, ref string) (string, error) {
	if !versionRE.MatchString(ref) {
		ver, ok := v.Aliases[ref]
		if !ok {
			return "", fmt.Errorf("registered model %q has no version or alias %q", v.Model, ref)
		}
		return ver, nil
	}
	mv, err := c.reg.GetModelVersion(ctx, v.Model, ref)
	if rest.IsNotFound(err) {
		return "", fmt.Errorf("registered model %q has no version %s", v.Model, ref)
	}
	if err != nil {
		return "", fmt.Errorf("registered model %q version %s: %w", v.Model, ref, err)
	}
	if mv.Status != "" && mv.Status != "READY" {
		return "", fmt.Errorf("registered model %q version %s is %s, not READY", v.Model, ref, mv.Status)
	}
	return mv.Version, nil
}

// interval is the analysis interval of the view's rollout.
func interval(v *View) time.Duration {
	if v.Spec != nil && v.Spec.IntervalMs > 0 {
		return v.Spec.Interval()
	}
	return DefaultInterval
}

// stale reports whether the rollout's heartbeat is older than StaleAfter
// intervals.
func (c *Controller) stale(v *View, now time.Time) bool {
	return now.Sub(time.UnixMilli(v.State.Heartbeat)) > StaleAfter*interval(v)
}

// Status reads a model's rollout.
func (c *Controller) Status(ctx context.Context, model string) (*View, error) {
	return read(ctx, c.reg, model)
}

// Promote moves the stable alias to the candidate now and ends the
// rollout as PROMOTED.
func (c *Controller) Promote(ctx context.Context, model string) (*State, error) {
	v, err := read(ctx, c.reg, model)
	if err != nil {
		return nil, err
	}
	if !v.State.Active() {
		return nil, fmt.Errorf("registered model %q has no running rollout (%s)", model, brief(v.State))
	}
	return c.promote(ctx, model, v.State.ID, "")
}

// promote moves the alias, then ends the rollout. owner, when set, must
// still own it.
func (c *Controller) promote(ctx context.Context, model, id, owner string) (*State, error) {
	v, err := read(ctx, c.reg, model)
	if err != nil {
		return nil, err
	}
	if err := check(v.State, id, owner); err != nil {
		return nil, err
	}
	if err := c.reg.SetRegisteredModelAlias(ctx, model, v.State.Alias, v.State.Candidate); err != nil {
		return nil, fmt.Errorf("move alias %q to version %s: %w", v.State.Alias, v.State.Candidate, err)
	}
	st, err := update(ctx, c.reg, model, func(s *State) error {
		s.Status, s.Weight, s.Step, s.Updated, s.Heartbeat = Promoted, 100, len(s.Steps)-1, c.now().UnixMilli(), c.now().UnixMilli()
		return nil
	})
	if err != nil {
		return nil, err
	}
	c.log.Info("rollout promoted", slog.String("model", model), slog.String("rollout", st.ID),
		slog.String("alias", st.Alias), slog.String("version", st.Candidate))
	return st, nil
}

// check reports why st is not the running rollout id owned by owner
// (any owner when owner is "").
func check(st *State, id, owner string) error {
	switch {
	case st == nil || st.ID != id:
		return fmt.Errorf("%w: rollout %s was replaced by %s", ErrConflict, id, brief(st))
	case !st.Active():
		return fmt.Errorf("%w: %s ended (%s)", ErrConflict, brief(st), st.Reason)
	case owner != "" && st.Owner != owner:
		return fmt.Errorf("%w: %s is now driven by %q", ErrConflict, brief(st), st.Owner)
	}
	return nil
}

// Abort stops a running rollout: weight 0, ABORTED, the alias untouched.
func (c *Controller) Abort(ctx context.Context, model, reason string) (*State, error) {
	if reason == "" {
		reason = "aborted by " + c.owner
	}
	st, err := update(ctx, c.reg, model, func(s *State) error {
		if !s.Active() {
			return fmt.Errorf("registered model %q has no running rollout (%s)", model, brief(s))
		}
		s.Status, s.Weight, s.Reason, s.Updated = Aborted, 0, reason, c.now().UnixMilli()
		return nil
	})
	if err != nil {
		return nil, err
	}
	c.log.Info("rollout aborted", slog.String("model", model), slog.String("rollout", st.ID), slog.String("reason", reason))
	return st, nil
}
