package tracking

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/mlgate/mlgate/artifacts"
	"github.com/mlgate/mlgate/rest"
)

// Client is MLflow's tracking client on explicit run ids: the operations of
// the fluent API without the active-run state. It is safe for use by many
// goroutines. Close flushes the asynchronous metric logger.
type Client struct {
	uri       string
	backend   Backend
	transport *rest.Transport // nil for the embedded backend
	log       *slog.Logger
	repoOpts  artifacts.Options
	artDest   string

	artURIs sync.Map // run id → artifact URI

	asyncOnce sync.Once
	async     *asyncLogger
}

// NewClient returns a client for cfg.TrackingURI (DefaultTrackingURI when
// empty).
func NewClient(cfg Config) (*Client, error) {
	uri := cfg.TrackingURI
	if uri == "" {
		uri = DefaultTrackingURI
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Client{uri: uri, log: log, artDest: cfg.ArtifactsDestination}
	u, err := url.Parse(uri)
	if err != nil {
		return nil, fmt.Errorf("tracking URI %q: %w", uri, err)
	}
	switch u.Scheme {
	case "http", "https":
		hc := cfg.HTTP
		hc.BaseURL = uri
		if hc.Logger == nil {
			hc.Logger = log
		}
		t, err := rest.New(hc)
		if err != nil {
			return nil, err
		}
		c.transport = t
		c.backend = NewRESTBackend(t)
		c.repoOpts = cfg.Artifacts
		c.repoOpts.Tracking = t
	default:
		c.repoOpts = cfg.Artifacts
		b, err := openEmbedded(uri, cfg)
		if err != nil {
			return nil, err
		}
		c.backend = b
	}
	return c, nil
}

// NewClientWithBackend returns a client over any Backend (for example one
// built around a store the caller already has open).
func NewClientWithBackend(uri string, b Backend, logger *slog.Logger) *Client {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Client{uri: uri, backend: b, log: logger}
}

// TrackingURI returns the URI the client talks to.
func (c *Client) TrackingURI() string { return c.uri }

// Transport returns the HTTP transport, or nil for an embedded backend.
func (c *Client) Transport() *rest.Transport { return c.transport }

// Backend returns the backend calls go to.
func (c *Client) Backend() Backend { return c.backend }

// Close flushes pending asynchronous metrics and releases the backend.
func (c *Client) Close(ctx context.Context) error {
	var err error
	if c.async != nil {
		err = c.async.close(ctx)
	}
	return errors.Join(err, c.backend.Close())
}

// ExperimentOption configures CreateExperiment.
type ExperimentOption func(*experimentOpts)

type experimentOpts struct {
	artifactLocation string
	tags             []Tag
}

// WithArtifactLocation sets a new experiment's artifact location.
func WithArtifactLocation(loc string) ExperimentOption {
	return func(o *experimentOpts) { o.artifactLocation = loc }
}

// WithExperimentTags sets tags on a new experiment.
func WithExperimentTags(tags map[string]string) ExperimentOption {
	return func(o *experimentOpts) { o.tags = append(o.tags, mapTags(tags)...) }
}

// CreateExperiment creates an experiment and returns its id.
func (c *Client) CreateExperiment(ctx context.Context, name string, opts ...ExperimentOption) (string, error) {
	if err := validateExperimentName(name); err != nil {
		return "", err
	}
	var o experimentOpts
	for _, f := range opts {
		f(&o)
	}
	if strings.HasPrefix(o.artifactLocation, "runs:") {
		return "", invalidf("artifact location cannot be a runs:/ URI")
	}
	return c.backend.CreateExperiment(ctx, name, o.artifactLocation, o.tags)
}

// GetExperiment returns an experiment by id.
func (c *Client) GetExperiment(ctx context.Context, id string) (*Experiment, error) {
	if err := validateExperimentID(id); err != nil {
		return nil, err
	}
	return c.backend.GetExperiment(ctx, id)
}

// GetExperimentByName returns an experiment by name; the error wraps
// ErrNotFound when there is none.
func (c *Client) GetExperimentByName(ctx context.Context, name string) (*Experiment, error) {
	if err := validateExperimentName(name); err != nil {
		return nil, err
	}
	return c.backend.GetExperimentByName(ctx, name)
}

// RunOption configures StartRun and CreateRun.
type RunOption func(*runOpts)

type runOpts struct {
	runID, runName, experimentID, parentRunID, description string
	nested                                                 bool
	tags                                                   []Tag
	startTime                                              int64
}

// WithRunName names the run.
func WithRunName(name string) RunOption { return func(o *runOpts) { o.runName = name } }

// WithRunTags adds tags to the run.
func WithRunTags(tags map[string]string) RunOption {
	return func(o *runOpts) { o.tags = append(o.tags, mapTags(tags)...) }
}

// WithRunID resumes an existing run (fluent StartRun only).
func WithRunID(id string) RunOption { return func(o *runOpts) { o.runID = id } }

// WithExperimentID starts the run in that experiment (fluent StartRun only).
func WithExperimentID(id string) RunOption { return func(o *runOpts) { o.experimentID = id } }

// Nested allows starting a run while another is active; the active run
// becomes its parent (fluent StartRun only).
func Nested() RunOption { return func(o *runOpts) { o.nested = true } }

// WithParentRunID sets mlflow.parentRunId.
func WithParentRunID(id string) RunOption { return func(o *runOpts) { o.parentRunID = id } }

// WithDescription sets the run's description (tag mlflow.note.content).
func WithDescription(d string) RunOption { return func(o *runOpts) { o.description = d } }

// WithStartTime sets the start time (ms since the epoch; default now).
func WithStartTime(ms int64) RunOption { return func(o *runOpts) { o.startTime = ms } }

// CreateRun creates a run in an experiment with the given options (name,
// tags, parent, description, start time). It adds no system tags.
func (c *Client) CreateRun(ctx context.Context, experimentID string, opts ...RunOption) (*Run, error) {
	var o runOpts
	for _, f := range opts {
		f(&o)
	}
	return c.createRun(ctx, experimentID, o, "")
}

func (c *Client) createRun(ctx context.Context, experimentID string, o runOpts, user string) (*Run, error) {
	if err := validateExperimentID(experimentID); err != nil {
		return nil, err
	}
	tags := append([]Tag(nil), o.tags...)
	if o.description != "" {
		tags = setTag(tags, TagNote, o.description)
	}
	if o.parentRunID != "" {
		tags = setTag(tags, TagParentRunID, o.parentRunID)
	}
	if o.runName != "" {
		tags = setTag(tags, TagRunName, o.runName)
	}
	for _, t := range tags {
		if err := validateTag(t.Key, t.Value); err != nil {
			return nil, err
		}
	}
	if u, ok := find(tags, TagUser); ok {
		user = u
	}
	if user == "" {
		user = "unknown"
	}
	start := o.startTime
	if start == 0 {
		start = nowMillis()
	}
	return c.backend.CreateRun(ctx, CreateRunRequest{
		ExperimentID: experimentID, UserID: user, RunName: o.runName, StartTime: start, Tags: tags,
	})
}

// GetRun returns a run with its latest metrics, params and tags.
func (c *Client) GetRun(ctx context.Context, runID string) (*Run, error) {
	if err := validateRunID(runID); err != nil {
		return nil, err
	}
	return c.backend.GetRun(ctx, runID)
}

// SetTerminated ends a run with a status (FINISHED when empty); pending
// asynchronous metrics of the run are flushed first.
func (c *Client) SetTerminated(ctx context.Context, runID string, status RunStatus) error {
	if err := validateRunID(runID); err != nil {
		return err
	}
	if status == "" {
		status = StatusFinished
	}
	if !status.Valid() {
		return invalidf("invalid run status %q", status)
	}
	if err := c.Flush(ctx); err != nil {
		return err
	}
	_, err := c.backend.UpdateRun(ctx, UpdateRunRequest{RunID: runID, Status: status, EndTime: nowMillis()})
	return err
}

// UpdateRun changes a run's status or name.
func (c *Client) UpdateRun(ctx context.Context, runID string, status RunStatus, name string) (*RunInfo, error) {
	if err := validateRunID(runID); err != nil {
		return nil, err
	}
	if status != "" && !status.Valid() {
		return nil, invalidf("invalid run status %q", status)
	}
	return c.backend.UpdateRun(ctx, UpdateRunRequest{RunID: runID, Status: status, RunName: name})
}

// DeleteRun marks a run deleted.
func (c *Client) DeleteRun(ctx context.Context, runID string) error {
	if err := validateRunID(runID); err != nil {
		return err
	}
	return c.backend.DeleteRun(ctx, runID)
}

// SearchRuns returns one page of runs and the next page token.
func (c *Client) SearchRuns(ctx context.Context, req SearchRunsRequest) ([]Run, string, error) {
	for _, id := range req.ExperimentIDs {
		if err := validateExperimentID(id); err != nil {
			return nil, "", err
		}
	}
	return c.backend.SearchRuns(ctx, req)
}

// LogParam logs a parameter; value is formatted with fmt.Sprint.
func (c *Client) LogParam(ctx context.Context, runID, key string, value any) error {
	v := fmt.Sprint(value)
	if err := validateRunID(runID); err != nil {
		return err
	}
	if err := validateParam(key, v); err != nil {
		return err
	}
	return c.backend.LogParam(ctx, runID, key, v)
}

// LogParams logs parameters in batches.
func (c *Client) LogParams(ctx context.Context, runID string, params map[string]any) error {
	ps := make([]Param, 0, len(params))
	for k, v := range params {
		ps = append(ps, Param{Key: k, Value: fmt.Sprint(v)})
	}
	sortTags(ps)
	return c.LogBatch(ctx, runID, nil, ps, nil)
}

// MetricOption sets a metric's step or timestamp.
type MetricOption func(*Metric)

// WithStep sets the metric's step (default 0).
func WithStep(step int64) MetricOption { return func(m *Metric) { m.Step = Int64(step) } }

// WithTimestamp sets the metric's timestamp in ms (default now).
func WithTimestamp(ms int64) MetricOption { return func(m *Metric) { m.Timestamp = Int64(ms) } }

func newMetric(key string, value float64, opts []MetricOption) Metric {
	m := Metric{Key: key, Value: Float(value), Timestamp: Int64(nowMillis())}
	for _, f := range opts {
		f(&m)
	}
	return m
}

// LogMetric logs one metric value.
func (c *Client) LogMetric(ctx context.Context, runID, key string, value float64, opts ...MetricOption) error {
	if err := validateRunID(runID); err != nil {
		return err
	}
	m := newMetric(key, value, opts)
	if err := validateMetric(m); err != nil {
		return err
	}
	return c.backend.LogMetric(ctx, runID, m)
}

// LogMetrics logs several metrics with the same step and timestamp.
func (c *Client) LogMetrics(ctx context.Context, runID string, metrics map[string]float64, opts ...MetricOption) error {
	ms := make([]Metric, 0, len(metrics))
	for k, v := range metrics {
		ms = append(ms, newMetric(k, v, opts))
	}
	return c.LogBatch(ctx, runID, ms, nil, nil)
}

// SetTag sets a run tag; value is formatted with fmt.Sprint.
func (c *Client) SetTag(ctx context.Context, runID, key string, value any) error {
	v := fmt.Sprint(value)
	if err := validateRunID(runID); err != nil {
		return err
	}
	if err := validateTag(key, v); err != nil {
		return err
	}
	return c.backend.SetTag(ctx, runID, key, v)
}

// SetTags sets run tags in batches.
func (c *Client) SetTags(ctx context.Context, runID string, tags map[string]any) error {
	ts := make([]Tag, 0, len(tags))
	for k, v := range tags {
		ts = append(ts, Tag{Key: k, Value: fmt.Sprint(v)})
	}
	sortTags(ts)
	return c.LogBatch(ctx, runID, nil, nil, ts)
}

// DeleteTag removes a run tag.
func (c *Client) DeleteTag(ctx context.Context, runID, key string) error {
	if err := validateRunID(runID); err != nil {
		return err
	}
	if err := ValidateKey("tag", key); err != nil {
		return err
	}
	return c.backend.DeleteTag(ctx, runID, key)
}

// LogBatch logs metrics, params and tags, split into requests within
// MLflow's limits (1000 metrics, 100 params, 100 tags, 1000 entities).
func (c *Client) LogBatch(ctx context.Context, runID string, metrics []Metric, params []Param, tags []Tag) error {
	if err := validateRunID(runID); err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, p := range params {
		if err := validateParam(p.Key, p.Value); err != nil {
			return err
		}
		if seen[p.Key] {
			return invalidf("duplicate parameter key %q in one batch", p.Key)
		}
		seen[p.Key] = true
	}
	for _, t := range tags {
		if err := validateTag(t.Key, t.Value); err != nil {
			return err
		}
	}
	for _, m := range metrics {
		if err := validateMetric(m); err != nil {
			return err
		}
	}
	// Params and tags first, in chunks of 100, then metrics in chunks of
	// 1000, as MLflow's client does.
	for len(params) > 0 || len(tags) > 0 {
		np, nt := min(len(params), MaxBatchParams), min(len(tags), MaxBatchTags)
		if err := c.backend.LogBatch(ctx, runID, nil, params[:np], tags[:nt]); err != nil {
			return err
		}
		params, tags = params[np:], tags[nt:]
	}
	for len(metrics) > 0 {
		n := min(len(metrics), MaxBatchMetrics)
		if err := c.backend.LogBatch(ctx, runID, metrics[:n], nil, nil); err != nil {
			return err
		}
		metrics = metrics[n:]
	}
	return nil
}

// GetMetricHistory returns every logged value of a metric.
func (c *Client) GetMetricHistory(ctx context.Context, runID, key string) ([]Metric, error) {
	if err := validateRunID(runID); err != nil {
		return nil, err
	}
	if err := ValidateKey("metric", key); err != nil {
		return nil, err
	}
	return c.backend.GetMetricHistory(ctx, runID, key)
}

// Tag names MLflow sets itself.
const (
	TagUser        = "mlflow.user"
	TagSourceName  = "mlflow.source.name"
	TagSourceType  = "mlflow.source.type"
	TagRunName     = "mlflow.runName"
	TagParentRunID = "mlflow.parentRunId"
	TagNote        = "mlflow.note.content"
)

func mapTags(m map[string]string) []Tag {
	out := make([]Tag, 0, len(m))
	for k, v := range m {
		out = append(out, Tag{Key: k, Value: v})
	}
	sortTags(out)
	return out
}

func sortTags(ts []Tag) { sort.Slice(ts, func(i, j int) bool { return ts[i].Key < ts[j].Key }) }

func setTag(tags []Tag, k, v string) []Tag {
	for i := range tags {
		if tags[i].Key == k {
			tags[i].Value = v
			return tags
		}
	}
	return append(tags, Tag{Key: k, Value: v})
}

func nowMillis() int64 { return time.Now().UnixMilli() }

func isAlreadyExists(err error) bool {
	var coded interface{ ErrorCode() string }
	if errors.As(err, &coded) {
		c := coded.ErrorCode()
		return c == "RESOURCE_ALREADY_EXISTS" || c == "ALREADY_EXISTS"
	}
	return false
}
