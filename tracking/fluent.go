package tracking

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
)

// The fluent API keeps process-wide state like MLflow's module-level
// functions: the tracking URI, the chosen experiment and a stack of active
// runs (MLflow's stack is per thread; Go has no goroutine identity, so the
// stack is per process and guarded by a mutex). Programs that log from
// several goroutines into different runs should use a Client.
type fluentState struct {
	mu         sync.Mutex
	cfg        Config
	configured bool
	uri        string // SetTrackingURI; overrides cfg.TrackingURI
	client     *Client
	expID      string // SetExperiment
	stack      []*Run
	lastRunID  string
	resumeUsed bool // cfg.RunID is consumed by the first StartRun
}

var fluent fluentState

// Configure sets the fluent API's configuration (for example
// FromEnv(os.Getenv) with changes). Without a call, the first fluent call
// uses FromEnv(os.Getenv). It drops the current client, experiment and runs.
func Configure(cfg Config) {
	fluent.mu.Lock()
	defer fluent.mu.Unlock()
	fluent.cfg, fluent.configured = cfg, true
	fluent.uri, fluent.client, fluent.expID = "", nil, ""
	fluent.stack, fluent.lastRunID, fluent.resumeUsed = nil, "", false
}

func (f *fluentState) ensureConfigured() {
	if !f.configured {
		f.cfg, f.configured = FromEnv(os.Getenv), true
	}
}

// SetTrackingURI sets the tracking server or store the fluent API uses.
func SetTrackingURI(uri string) {
	fluent.mu.Lock()
	defer fluent.mu.Unlock()
	fluent.ensureConfigured()
	fluent.uri, fluent.client = uri, nil
}

// GetTrackingURI returns the fluent API's tracking URI: SetTrackingURI's,
// else MLFLOW_TRACKING_URI, else DefaultTrackingURI.
func GetTrackingURI() string {
	fluent.mu.Lock()
	defer fluent.mu.Unlock()
	return fluent.trackingURI()
}

func (f *fluentState) trackingURI() string {
	f.ensureConfigured()
	switch {
	case f.uri != "":
		return f.uri
	case f.cfg.TrackingURI != "":
		return f.cfg.TrackingURI
	}
	return DefaultTrackingURI
}

// DefaultClient returns the Client behind the fluent API.
func DefaultClient() (*Client, error) {
	fluent.mu.Lock()
	defer fluent.mu.Unlock()
	return fluent.getClient()
}

func (f *fluentState) getClient() (*Client, error) {
	if f.client != nil {
		return f.client, nil
	}
	cfg := f.cfg
	cfg.TrackingURI = f.trackingURI()
	c, err := NewClient(cfg)
	if err != nil {
		return nil, err
	}
	f.client = c
	return c, nil
}

// CreateExperiment creates an experiment and returns its id.
func CreateExperiment(ctx context.Context, name string, opts ...ExperimentOption) (string, error) {
	c, err := DefaultClient()
	if err != nil {
		return "", err
	}
	return c.CreateExperiment(ctx, name, opts...)
}

// SetExperiment makes the named experiment the active one, creating it when
// it does not exist. A deleted experiment is refused.
func SetExperiment(ctx context.Context, name string) (*Experiment, error) {
	fluent.mu.Lock()
	defer fluent.mu.Unlock()
	c, err := fluent.getClient()
	if err != nil {
		return nil, err
	}
	exp, err := getOrCreateExperiment(ctx, c, name)
	if err != nil {
		return nil, err
	}
	fluent.expID = exp.ExperimentID
	return exp, nil
}

// SetExperimentByID makes an existing experiment the active one.
func SetExperimentByID(ctx context.Context, id string) (*Experiment, error) {
	fluent.mu.Lock()
	defer fluent.mu.Unlock()
	c, err := fluent.getClient()
	if err != nil {
		return nil, err
	}
	exp, err := c.GetExperiment(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("set experiment %q: %w", id, err)
	}
	if exp.LifecycleStage == "deleted" {
		return nil, invalidf("cannot set a deleted experiment %q as the active experiment; restore it first", id)
	}
	fluent.expID = exp.ExperimentID
	return exp, nil
}

func getOrCreateExperiment(ctx context.Context, c *Client, name string) (*Experiment, error) {
	exp, err := c.GetExperimentByName(ctx, name)
	if errors.Is(err, ErrNotFound) {
		id, cerr := c.CreateExperiment(ctx, name)
		if cerr != nil && !isAlreadyExists(cerr) {
			return nil, fmt.Errorf("create experiment %q: %w", name, cerr)
		}
		if cerr == nil {
			return c.GetExperiment(ctx, id)
		}
		exp, err = c.GetExperimentByName(ctx, name) // lost a creation race
	}
	if err != nil {
		return nil, fmt.Errorf("experiment %q: %w", name, err)
	}
	if exp.LifecycleStage == "deleted" {
		return nil, invalidf("cannot set a deleted experiment %q as the active experiment; restore it first", name)
	}
	return exp, nil
}

// resolveExperiment picks the experiment for a new run (MLflow's order).
func (f *fluentState) resolveExperiment(ctx context.Context, c *Client) (string, error) {
	if f.expID != "" {
		return f.expID, nil
	}
	if f.cfg.ExperimentName != "" {
		exp, err := getOrCreateExperiment(ctx, c, f.cfg.ExperimentName)
		if err != nil {
			return "", err
		}
		if f.cfg.ExperimentID != "" && f.cfg.ExperimentID != exp.ExperimentID {
			return "", invalidf("MLFLOW_EXPERIMENT_NAME %q is experiment %s but MLFLOW_EXPERIMENT_ID is %s",
				f.cfg.ExperimentName, exp.ExperimentID, f.cfg.ExperimentID)
		}
		return exp.ExperimentID, nil
	}
	if f.cfg.ExperimentID != "" {
		if _, err := c.GetExperiment(ctx, f.cfg.ExperimentID); err != nil {
			return "", fmt.Errorf("MLFLOW_EXPERIMENT_ID %s: %w", f.cfg.ExperimentID, err)
		}
		return f.cfg.ExperimentID, nil
	}
	return "0", nil
}

// StartRun starts a new run (or resumes one with WithRunID or MLFLOW_RUN_ID)
// and makes it the active run. With a run already active it fails unless
// Nested() is given, in which case the active run becomes the parent.
func StartRun(ctx context.Context, opts ...RunOption) (*Run, error) {
	fluent.mu.Lock()
	defer fluent.mu.Unlock()
	return fluent.startRun(ctx, opts...)
}

func (f *fluentState) startRun(ctx context.Context, opts ...RunOption) (*Run, error) {
	var o runOpts
	for _, fn := range opts {
		fn(&o)
	}
	f.ensureConfigured()
	if len(f.stack) > 0 && !o.nested {
		return nil, fmt.Errorf("run with UUID %s is already active; end it with EndRun first, or start a nested run with Nested()",
			f.stack[len(f.stack)-1].Info.RunID)
	}
	c, err := f.getClient()
	if err != nil {
		return nil, err
	}
	resumeID := o.runID
	if resumeID == "" && !f.resumeUsed && f.cfg.RunID != "" {
		resumeID = f.cfg.RunID
		f.resumeUsed = true
	}
	var run *Run
	if resumeID != "" {
		run, err = f.resumeRun(ctx, c, resumeID, o)
	} else {
		run, err = f.newRun(ctx, c, o)
	}
	if err != nil {
		return nil, err
	}
	f.stack = append(f.stack, run)
	f.lastRunID = run.Info.RunID
	return run, nil
}

func (f *fluentState) resumeRun(ctx context.Context, c *Client, id string, o runOpts) (*Run, error) {
	run, err := c.GetRun(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("resume run %s: %w", id, err)
	}
	if run.Info.LifecycleStage == "deleted" {
		return nil, invalidf("cannot start run with ID %s because it is in the deleted state", id)
	}
	if exp := o.experimentID; exp == "" && f.expID != "" && f.expID != run.Info.ExperimentID {
		return nil, invalidf("run %s belongs to experiment %s, not the active experiment %s", id, run.Info.ExperimentID, f.expID)
	}
	if _, err := c.backend.UpdateRun(ctx, UpdateRunRequest{RunID: id, Status: StatusRunning}); err != nil {
		return nil, err
	}
	tags := o.tags
	if o.runName != "" {
		tags = setTag(tags, TagRunName, o.runName)
	}
	if len(tags) > 0 {
		if err := c.LogBatch(ctx, id, nil, nil, tags); err != nil {
			return nil, err
		}
	}
	return c.GetRun(ctx, id)
}

func (f *fluentState) newRun(ctx context.Context, c *Client, o runOpts) (*Run, error) {
	if len(f.stack) > 0 {
		top := f.stack[len(f.stack)-1].Info.RunID
		if o.parentRunID != "" && o.parentRunID != top {
			return nil, invalidf("parent run %s is not the active run %s", o.parentRunID, top)
		}
		o.parentRunID = top
	}
	expID := o.experimentID
	if expID == "" {
		var err error
		if expID, err = f.resolveExperiment(ctx, c); err != nil {
			return nil, err
		}
	}
	// System tags first, so that user tags override them.
	sys := []Tag{{Key: TagSourceType, Value: "LOCAL"}}
	if f.cfg.User != "" {
		sys = append(sys, Tag{Key: TagUser, Value: f.cfg.User})
	}
	if f.cfg.SourceName != "" {
		sys = append(sys, Tag{Key: TagSourceName, Value: f.cfg.SourceName})
	}
	for _, t := range o.tags {
		sys = setTag(sys, t.Key, t.Value)
	}
	o.tags = sys
	return c.createRun(ctx, expID, o, f.cfg.User)
}

// EndRun ends the active run with a status (FINISHED by default) after
// flushing its asynchronous metrics. Without an active run it does nothing.
func EndRun(ctx context.Context, status ...RunStatus) error {
	fluent.mu.Lock()
	defer fluent.mu.Unlock()
	if len(fluent.stack) == 0 {
		return nil
	}
	st := StatusFinished
	if len(status) > 0 && status[0] != "" {
		st = status[0]
	}
	c, err := fluent.getClient()
	if err != nil {
		return err
	}
	run := fluent.stack[len(fluent.stack)-1]
	if err := c.SetTerminated(ctx, run.Info.RunID, st); err != nil {
		return err
	}
	fluent.stack = fluent.stack[:len(fluent.stack)-1]
	fluent.lastRunID = run.Info.RunID
	return nil
}

// RunFunc starts a run, calls fn with it and ends it FINISHED, or FAILED
// when fn returns an error or panics (MLflow's `with start_run():`).
func RunFunc(ctx context.Context, fn func(ctx context.Context, run *Run) error, opts ...RunOption) (err error) {
	run, err := StartRun(ctx, opts...)
	if err != nil {
		return err
	}
	defer func() {
		if p := recover(); p != nil {
			_ = EndRun(context.WithoutCancel(ctx), StatusFailed)
			panic(p)
		}
		st := StatusFinished
		if err != nil {
			st = StatusFailed
		}
		err = errors.Join(err, EndRun(context.WithoutCancel(ctx), st))
	}()
	return fn(ctx, run)
}

// ActiveRun returns the active run as it was when started, or nil.
func ActiveRun() *Run {
	fluent.mu.Lock()
	defer fluent.mu.Unlock()
	if len(fluent.stack) == 0 {
		return nil
	}
	return fluent.stack[len(fluent.stack)-1]
}

// LastActiveRun returns the active run, else the most recently ended one
// (fetched fresh from the server), else nil.
func LastActiveRun(ctx context.Context) (*Run, error) {
	fluent.mu.Lock()
	defer fluent.mu.Unlock()
	if n := len(fluent.stack); n > 0 {
		return fluent.stack[n-1], nil
	}
	if fluent.lastRunID == "" {
		return nil, nil
	}
	c, err := fluent.getClient()
	if err != nil {
		return nil, err
	}
	return c.GetRun(ctx, fluent.lastRunID)
}

// activeRunID returns the active run's id, starting a run if none is active
// (as MLflow's logging functions do).
func activeRunID(ctx context.Context) (*Client, string, bool, error) {
	fluent.mu.Lock()
	defer fluent.mu.Unlock()
	if len(fluent.stack) == 0 {
		if _, err := fluent.startRun(ctx); err != nil {
			return nil, "", false, err
		}
	}
	c, err := fluent.getClient()
	if err != nil {
		return nil, "", false, err
	}
	return c, fluent.stack[len(fluent.stack)-1].Info.RunID, fluent.cfg.AsyncLogging, nil
}

// LogParam logs a parameter of the active run.
func LogParam(ctx context.Context, key string, value any) error {
	c, id, _, err := activeRunID(ctx)
	if err != nil {
		return err
	}
	return c.LogParam(ctx, id, key, value)
}

// LogParams logs parameters of the active run.
func LogParams(ctx context.Context, params map[string]any) error {
	c, id, _, err := activeRunID(ctx)
	if err != nil {
		return err
	}
	return c.LogParams(ctx, id, params)
}

// LogMetric logs a metric of the active run (asynchronously when the
// configuration asks for async logging).
func LogMetric(ctx context.Context, key string, value float64, opts ...MetricOption) error {
	c, id, async, err := activeRunID(ctx)
	if err != nil {
		return err
	}
	if async {
		return c.LogMetricAsync(ctx, id, key, value, opts...)
	}
	return c.LogMetric(ctx, id, key, value, opts...)
}

// LogMetrics logs metrics of the active run with one step and timestamp.
func LogMetrics(ctx context.Context, metrics map[string]float64, opts ...MetricOption) error {
	c, id, async, err := activeRunID(ctx)
	if err != nil {
		return err
	}
	if async {
		for k, v := range metrics {
			if err := c.LogMetricAsync(ctx, id, k, v, opts...); err != nil {
				return err
			}
		}
		return nil
	}
	return c.LogMetrics(ctx, id, metrics, opts...)
}

// SetTag sets a tag on the active run.
func SetTag(ctx context.Context, key string, value any) error {
	c, id, _, err := activeRunID(ctx)
	if err != nil {
		return err
	}
	return c.SetTag(ctx, id, key, value)
}

// SetTags sets tags on the active run.
func SetTags(ctx context.Context, tags map[string]any) error {
	c, id, _, err := activeRunID(ctx)
	if err != nil {
		return err
	}
	return c.SetTags(ctx, id, tags)
}

// DeleteTag removes a tag from the active run.
func DeleteTag(ctx context.Context, key string) error {
	c, id, _, err := activeRunID(ctx)
	if err != nil {
		return err
	}
	return c.DeleteTag(ctx, id, key)
}

// LogArtifact uploads a local file into the active run's artifacts under
// artifactPath ("" for the root).
func LogArtifact(ctx context.Context, localPath, artifactPath string) error {
	c, id, _, err := activeRunID(ctx)
	if err != nil {
		return err
	}
	return c.LogArtifact(ctx, id, localPath, artifactPath)
}

// LogArtifacts uploads a local folder's contents into the active run's
// artifacts under artifactPath.
func LogArtifacts(ctx context.Context, localDir, artifactPath string) error {
	c, id, _, err := activeRunID(ctx)
	if err != nil {
		return err
	}
	return c.LogArtifacts(ctx, id, localDir, artifactPath)
}

// GetArtifactURI returns the active run's artifact URI, or that of a path
// inside it.
func GetArtifactURI(ctx context.Context, artifactPath string) (string, error) {
	c, id, _, err := activeRunID(ctx)
	if err != nil {
		return "", err
	}
	return c.GetArtifactURI(ctx, id, artifactPath)
}
