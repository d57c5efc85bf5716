package tracking

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mlgate/mlgate/internal/db"
	"github.com/mlgate/mlgate/tracking/store"
)

// EmbeddedArtifactRoot is the artifact root of experiments created by the
// embedded backend: the same as `mlgate server`'s default, so that a server
// started later on the same store serves the artifacts (from
// Config.ArtifactsDestination, default ./mlartifacts).
const EmbeddedArtifactRoot = "mlflow-artifacts:/"

// embeddedBackend writes straight into the SQL store `mlgate server` uses.
type embeddedBackend struct {
	db *db.DB
	s  *store.Store
}

// openEmbedded opens the embedded store for a sqlite:/// or postgresql://
// tracking URI.
func openEmbedded(uri string, _ Config) (Backend, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	d, err := db.Open(ctx, uri)
	if err != nil {
		return nil, fmt.Errorf("tracking URI %q: %w", uri, err)
	}
	s, err := store.Open(ctx, d, store.Options{DefaultArtifactRoot: EmbeddedArtifactRoot})
	if err != nil {
		_ = d.Close()
		return nil, fmt.Errorf("tracking URI %q: %w", uri, err)
	}
	return &embeddedBackend{db: d, s: s}, nil
}

// NewEmbeddedBackend returns a Backend over a store the caller owns (Close
// does not close it).
func NewEmbeddedBackend(s *store.Store) Backend { return &embeddedBackend{s: s} }

func storeErr(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	return err
}

func toStoreTags(ts []Tag) []store.Tag {
	out := make([]store.Tag, len(ts))
	for i, t := range ts {
		out[i] = store.Tag{Key: t.Key, Value: t.Value}
	}
	return out
}

func fromStoreTags(ts []store.Tag) []Tag {
	out := make([]Tag, len(ts))
	for i, t := range ts {
		out[i] = Tag{Key: t.Key, Value: t.Value}
	}
	return out
}

func fromStoreMetric(m store.Metric) Metric {
	return Metric{Key: m.Key, Value: Float(m.Value), Timestamp: Int64(m.Timestamp), Step: Int64(m.Step)}
}

func fromStoreExperiment(e *store.Experiment) *Experiment {
	return &Experiment{
		ExperimentID: e.ID, Name: e.Name, ArtifactLocation: e.ArtifactLocation, LifecycleStage: e.LifecycleStage,
		CreationTime: Int64(e.CreationTime), LastUpdateTime: Int64(e.LastUpdateTime), Tags: fromStoreTags(e.Tags),
	}
}

func fromStoreInfo(i *store.RunInfo) RunInfo {
	return RunInfo{
		RunID: i.RunID, RunUUID: i.RunID, RunName: i.RunName, ExperimentID: i.ExperimentID, UserID: i.UserID,
		Status: RunStatus(i.Status), StartTime: Int64(i.StartTime), EndTime: Int64(i.EndTime),
		ArtifactURI: i.ArtifactURI, LifecycleStage: i.LifecycleStage,
	}
}

func fromStoreRun(r *store.Run) *Run {
	out := &Run{Info: fromStoreInfo(&r.Info)}
	for _, m := range r.Data.Metrics {
		out.Data.Metrics = append(out.Data.Metrics, fromStoreMetric(m))
	}
	for _, p := range r.Data.Params {
		out.Data.Params = append(out.Data.Params, Param{Key: p.Key, Value: p.Value})
	}
	out.Data.Tags = fromStoreTags(r.Data.Tags)
	return out
}

func (b *embeddedBackend) CreateExperiment(ctx context.Context, name, loc string, tags []Tag) (string, error) {
	return b.s.CreateExperiment(ctx, name, loc, toStoreTags(tags))
}

func (b *embeddedBackend) GetExperiment(ctx context.Context, id string) (*Experiment, error) {
	e, err := b.s.GetExperiment(ctx, id)
	if err != nil {
		return nil, storeErr(err)
	}
	return fromStoreExperiment(e), nil
}

func (b *embeddedBackend) GetExperimentByName(ctx context.Context, name string) (*Experiment, error) {
	e, err := b.s.GetExperimentByName(ctx, name)
	if err != nil {
		return nil, storeErr(err)
	}
	return fromStoreExperiment(e), nil
}

func (b *embeddedBackend) SetExperimentTag(ctx context.Context, id, key, value string) error {
	return storeErr(b.s.SetExperimentTag(ctx, id, store.Tag{Key: key, Value: value}))
}

func (b *embeddedBackend) CreateRun(ctx context.Context, req CreateRunRequest) (*Run, error) {
	r, err := b.s.CreateRun(ctx, store.CreateRunInput{
		ExperimentID: req.ExperimentID, UserID: req.UserID, RunName: req.RunName, StartTime: req.StartTime, Tags: toStoreTags(req.Tags),
	})
	if err != nil {
		return nil, storeErr(err)
	}
	return fromStoreRun(r), nil
}

func (b *embeddedBackend) GetRun(ctx context.Context, runID string) (*Run, error) {
	r, err := b.s.GetRun(ctx, runID)
	if err != nil {
		return nil, storeErr(err)
	}
	return fromStoreRun(r), nil
}

func (b *embeddedBackend) UpdateRun(ctx context.Context, req UpdateRunRequest) (*RunInfo, error) {
	in := store.UpdateRunInput{RunID: req.RunID, Status: string(req.Status), RunName: req.RunName}
	if req.EndTime != 0 {
		end := req.EndTime
		in.EndTime = &end
	}
	i, err := b.s.UpdateRun(ctx, in)
	if err != nil {
		return nil, storeErr(err)
	}
	info := fromStoreInfo(i)
	return &info, nil
}

func (b *embeddedBackend) DeleteRun(ctx context.Context, runID string) error {
	return storeErr(b.s.DeleteRun(ctx, runID))
}

func (b *embeddedBackend) SearchRuns(ctx context.Context, req SearchRunsRequest) ([]Run, string, error) {
	rs, next, err := b.s.SearchRuns(ctx, store.SearchRunsInput{
		ExperimentIDs: req.ExperimentIDs, Filter: req.Filter, MaxResults: req.MaxResults, OrderBy: req.OrderBy, PageToken: req.PageToken,
	})
	if err != nil {
		return nil, "", storeErr(err)
	}
	out := make([]Run, len(rs))
	for i, r := range rs {
		out[i] = *fromStoreRun(r)
	}
	return out, next, nil
}

func toStoreMetric(m Metric) store.Metric {
	return store.Metric{Key: m.Key, Value: float64(m.Value), Timestamp: int64(m.Timestamp), Step: int64(m.Step)}
}

func (b *embeddedBackend) LogMetric(ctx context.Context, runID string, m Metric) error {
	return storeErr(b.s.LogMetric(ctx, runID, toStoreMetric(m)))
}

func (b *embeddedBackend) LogParam(ctx context.Context, runID, key, value string) error {
	return storeErr(b.s.LogParam(ctx, runID, store.Param{Key: key, Value: value}))
}

func (b *embeddedBackend) SetTag(ctx context.Context, runID, key, value string) error {
	return storeErr(b.s.SetTag(ctx, runID, store.Tag{Key: key, Value: value}))
}

func (b *embeddedBackend) DeleteTag(ctx context.Context, runID, key string) error {
	return storeErr(b.s.DeleteTag(ctx, runID, key))
}

func (b *embeddedBackend) LogBatch(ctx context.Context, runID string, metrics []Metric, params []Param, tags []Tag) error {
	ms := make([]store.Metric, len(metrics))
	for i, m := range metrics {
		ms[i] = toStoreMetric(m)
	}
	ps := make([]store.Param, len(params))
	for i, p := range params {
		ps[i] = store.Param{Key: p.Key, Value: p.Value}
	}
	return storeErr(b.s.LogBatch(ctx, runID, ms, ps, toStoreTags(tags)))
}

func (b *embeddedBackend) GetMetricHistory(ctx context.Context, runID, key string) ([]Metric, error) {
	var out []Metric
	page := store.Page{}
	for {
		ms, next, err := b.s.GetMetricHistory(ctx, runID, key, page)
		if err != nil {
			return nil, storeErr(err)
		}
		for _, m := range ms {
			out = append(out, fromStoreMetric(m))
		}
		if next == "" {
			return out, nil
		}
		page.Token = next
	}
}

// ListArtifacts is served by Client through the artifact repository.
func (b *embeddedBackend) ListArtifacts(context.Context, string, string) ([]FileInfo, error) {
	return nil, errors.New("embedded backend: list artifacts through the client")
}

func (b *embeddedBackend) Close() error {
	if b.db == nil {
		return nil
	}
	return errors.Join(b.s.Close(), b.db.Close())
}

var _ Backend = (*embeddedBackend)(nil)
