package rollout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/mlgate/mlgate/registry"
	"github.com/mlgate/mlgate/rest"
)

// SpecTag is the registered-model tag holding the analysis settings of
// the rollout (Spec), written by start before the state, so that any
// controller can drive it from the registry alone.
const SpecTag = "mlgate.rollout.analysis"

// ReportTag is the registered-model tag holding the last analysis
// (Report), rewritten by the controller every interval.
const ReportTag = "mlgate.rollout.last_analysis"

// Spec is how a rollout is judged: where the figures are, how often, and
// the thresholds.
type Spec struct {
	ID         string `json:"id"`         // the rollout it belongs to (State.ID)
	Experiment string `json:"experiment"` // the replicas' --log-experiment
	// Prometheus is the Prometheus server the figures are read from
	// instead of the serving runs ("" = the runs).
	Prometheus string `json:"prometheus_url,omitempty"`
	IntervalMs int64  `json:"interval_ms"`
	// SettleMs: figures from the first SettleMs after a weight change are
	// not judged (StartOptions.Settle).
	SettleMs int64 `json:"settle_ms,omitempty"`
	Thresholds
}

// Interval is the analysis interval.
func (s *Spec) Interval() time.Duration { return time.Duration(s.IntervalMs) * time.Millisecond }

// Settle is the time after a weight change whose figures are not judged.
func (s *Spec) Settle() time.Duration { return time.Duration(s.SettleMs) * time.Millisecond }

// Report is one analysis: the window, the figures and the decision.
type Report struct {
	ID        string  `json:"id"` // the rollout (State.ID)
	Time      int64   `json:"time_ms"`
	From      int64   `json:"from_ms"` // the window (From, Time]
	Step      int     `json:"step"`
	Weight    int     `json:"weight"`
	Runs      int     `json:"runs"` // serving runs read (with Prometheus: replicas scraped)
	Stable    Figures `json:"stable"`
	Candidate Figures `json:"candidate"`
	Decision
}

// View is what the registry holds about a model's rollout.
type View struct {
	Model   string            `json:"model"`
	State   *State            `json:"state"`         // nil when the model never had a rollout
	Spec    *Spec             `json:"analysis"`      // nil when absent or of another rollout
	Report  *Report           `json:"last_analysis"` // nil when absent or of another rollout
	Aliases map[string]string `json:"aliases"`
}

// ErrNoModel is returned when the registered model does not exist.
var ErrNoModel = errors.New("no such registered model")

// read reads the model's rollout tags and aliases.
func read(ctx context.Context, reg *registry.Client, model string) (*View, error) {
	rm, err := reg.GetRegisteredModel(ctx, model)
	if rest.IsNotFound(err) {
		return nil, fmt.Errorf("registered model %q: %w", model, ErrNoModel)
	}
	if err != nil {
		return nil, fmt.Errorf("registered model %q: %w", model, err)
	}
	tags := make(map[string]string, len(rm.Tags))
	for _, t := range rm.Tags {
		tags[t.Key] = t.Value
	}
	v := &View{Model: model, Aliases: map[string]string{}}
	for _, a := range rm.Aliases {
		v.Aliases[a.Alias] = a.Version
	}
	st, err := FromTags(tags)
	switch {
	case errors.Is(err, ErrNoRollout):
		return v, nil
	case err != nil:
		return nil, fmt.Errorf("registered model %q: %w", model, err)
	}
	v.State = st
	var spec Spec
	if s, ok := tags[SpecTag]; ok && json.Unmarshal([]byte(s), &spec) == nil && spec.ID == st.ID {
		v.Spec = &spec
	}
	var rep Report
	if s, ok := tags[ReportTag]; ok && json.Unmarshal([]byte(s), &rep) == nil && rep.ID == st.ID {
		v.Report = &rep
	}
	return v, nil
}

// writeState stores st in the model's TagKey tag.
func writeState(ctx context.Context, reg *registry.Client, model string, st *State) error {
	v, err := st.Encode()
	if err != nil {
		return err
	}
	return reg.SetRegisteredModelTag(ctx, model, TagKey, v)
}

// writeJSON stores v as JSON in a tag of the model.
func writeJSON(ctx context.Context, reg *registry.Client, model, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return reg.SetRegisteredModelTag(ctx, model, key, string(b))
}

// ErrConflict is returned when the rollout changed under a controller
// (another controller, or a person's promote or abort).
var ErrConflict = errors.New("the rollout changed under this controller")

// update reads the rollout, lets change check and modify it, writes it and
// reads it back to confirm the write was not overtaken. The registry has
// no compare-and-set: reading just before and after the write keeps the
// window for a lost update to one round trip.
func update(ctx context.Context, reg *registry.Client, model string, change func(*State) error) (*State, error) {
	v, err := read(ctx, reg, model)
	if err != nil {
		return nil, err
	}
	if v.State == nil {
		return nil, fmt.Errorf("registered model %q has no rollout", model)
	}
	st := *v.State
	st.Steps = append([]int(nil), v.State.Steps...)
	if err := change(&st); err != nil {
		return nil, err
	}
	if err := writeState(ctx, reg, model, &st); err != nil {
		return nil, err
	}
	back, err := read(ctx, reg, model)
	if err != nil {
		return nil, err
	}
	if b := back.State; b == nil || b.ID != st.ID || b.Owner != st.Owner || b.Status != st.Status ||
		b.Step != st.Step || b.Weight != st.Weight || b.Heartbeat != st.Heartbeat {
		return nil, fmt.Errorf("%w: wrote %s, read back %s", ErrConflict, brief(&st), brief(b))
	}
	return &st, nil
}

// brief is a one-line description of a state for errors and logs.
func brief(s *State) string {
	if s == nil {
		return "no rollout"
	}
	return fmt.Sprintf("rollout %s (%s→%s, %s, weight %d, owner %q)", s.ID, s.Stable, s.Candidate, s.Status, s.Weight, s.Owner)
}
