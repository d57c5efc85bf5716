package tracking

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/mlgate/mlgate/rest"
)

const apiPrefix = "/api/2.0/mlflow"

// restBackend talks to an MLflow-compatible tracking server over HTTP.
type restBackend struct {
	t *rest.Transport
}

// NewRESTBackend returns a Backend that calls the server behind t.
func NewRESTBackend(t *rest.Transport) Backend { return &restBackend{t: t} }

func (b *restBackend) post(ctx context.Context, path string, req, resp any) error {
	return b.t.Call(ctx, http.MethodPost, apiPrefix+path, req, resp)
}

func (b *restBackend) get(ctx context.Context, path string, q url.Values, resp any) error {
	return b.t.Call(ctx, http.MethodGet, apiPrefix+path, q, resp)
}

func notFound(err error) error {
	if rest.IsNotFound(err) {
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	return err
}

func (b *restBackend) CreateExperiment(ctx context.Context, name, loc string, tags []Tag) (string, error) {
	var resp struct {
		ExperimentID string `json:"experiment_id"`
	}
	err := b.post(ctx, "/experiments/create", map[string]any{
		"name": name, "artifact_location": loc, "tags": tags,
	}, &resp)
	return resp.ExperimentID, err
}

func (b *restBackend) GetExperiment(ctx context.Context, id string) (*Experiment, error) {
	var resp struct {
		Experiment *Experiment `json:"experiment"`
	}
	if err := b.get(ctx, "/experiments/get", url.Values{"experiment_id": {id}}, &resp); err != nil {
		return nil, notFound(err)
	}
	if resp.Experiment == nil {
		return nil, fmt.Errorf("experiment %q: %w", id, ErrNotFound)
	}
	return resp.Experiment, nil
}

func (b *restBackend) GetExperimentByName(ctx context.Context, name string) (*Experiment, error) {
	var resp struct {
		Experiment *Experiment `json:"experiment"`
	}
	if err := b.get(ctx, "/experiments/get-by-name", url.Values{"experiment_name": {name}}, &resp); err != nil {
		return nil, notFound(err)
	}
	if resp.Experiment == nil {
		return nil, fmt.Errorf("experiment %q: %w", name, ErrNotFound)
	}
	return resp.Experiment, nil
}

func (b *restBackend) SetExperimentTag(ctx context.Context, id, key, value string) error {
	return b.post(ctx, "/experiments/set-experiment-tag", map[string]string{
		"experiment_id": id, "key": key, "value": value,
	}, nil)
}

func (b *restBackend) CreateRun(ctx context.Context, req CreateRunRequest) (*Run, error) {
	body := map[string]any{
		"experiment_id": req.ExperimentID,
		"start_time":    req.StartTime,
		"tags":          req.Tags,
	}
	if req.UserID != "" {
		body["user_id"] = req.UserID
	}
	if req.RunName != "" {
		body["run_name"] = req.RunName
	}
	var resp struct {
		Run *Run `json:"run"`
	}
	if err := b.post(ctx, "/runs/create", body, &resp); err != nil {
		return nil, err
	}
	if resp.Run == nil {
		return nil, errors.New("runs/create: response has no run")
	}
	return resp.Run, nil
}

func (b *restBackend) GetRun(ctx context.Context, runID string) (*Run, error) {
	var resp struct {
		Run *Run `json:"run"`
	}
	if err := b.get(ctx, "/runs/get", url.Values{"run_id": {runID}, "run_uuid": {runID}}, &resp); err != nil {
		return nil, notFound(err)
	}
	if resp.Run == nil {
		return nil, fmt.Errorf("run %q: %w", runID, ErrNotFound)
	}
	return resp.Run, nil
}

func (b *restBackend) UpdateRun(ctx context.Context, req UpdateRunRequest) (*RunInfo, error) {
	body := map[string]any{"run_id": req.RunID, "run_uuid": req.RunID}
	if req.Status != "" {
		body["status"] = req.Status
	}
	if req.EndTime != 0 {
		body["end_time"] = req.EndTime
	}
	if req.RunName != "" {
		body["run_name"] = req.RunName
	}
	var resp struct {
		RunInfo *RunInfo `json:"run_info"`
	}
	if err := b.post(ctx, "/runs/update", body, &resp); err != nil {
		return nil, notFound(err)
	}
	return resp.RunInfo, nil
}

func (b *restBackend) DeleteRun(ctx context.Context, runID string) error {
	return notFound(b.post(ctx, "/runs/delete", map[string]string{"run_id": runID}, nil))
}

func (b *restBackend) SearchRuns(ctx context.Context, req SearchRunsRequest) ([]Run, string, error) {
	body := map[string]any{"experiment_ids": req.ExperimentIDs}
	if req.Filter != "" {
		body["filter"] = req.Filter
	}
	if req.MaxResults > 0 {
		body["max_results"] = req.MaxResults
	}
	if len(req.OrderBy) > 0 {
		body["order_by"] = req.OrderBy
	}
	if req.PageToken != "" {
		body["page_token"] = req.PageToken
	}
	var resp struct {
		Runs          []Run  `json:"runs"`
		NextPageToken string `json:"next_page_token"`
	}
	err := b.post(ctx, "/runs/search", body, &resp)
	return resp.Runs, resp.NextPageToken, err
}

func (b *restBackend) LogMetric(ctx context.Context, runID string, m Metric) error {
	return notFound(b.post(ctx, "/runs/log-metric", map[string]any{
		"run_id": runID, "run_uuid": runID, "key": m.Key, "value": m.Value,
		"timestamp": m.Timestamp, "step": m.Step,
	}, nil))
}

func (b *restBackend) LogParam(ctx context.Context, runID, key, value string) error {
	return notFound(b.post(ctx, "/runs/log-parameter", map[string]string{
		"run_id": runID, "run_uuid": runID, "key": key, "value": value,
	}, nil))
}

func (b *restBackend) SetTag(ctx context.Context, runID, key, value string) error {
	return notFound(b.post(ctx, "/runs/set-tag", map[string]string{
		"run_id": runID, "run_uuid": runID, "key": key, "value": value,
	}, nil))
}

func (b *restBackend) DeleteTag(ctx context.Context, runID, key string) error {
	return notFound(b.post(ctx, "/runs/delete-tag", map[string]string{"run_id": runID, "key": key}, nil))
}

func (b *restBackend) LogBatch(ctx context.Context, runID string, metrics []Metric, params []Param, tags []Tag) error {
	body := map[string]any{"run_id": runID}
	if len(metrics) > 0 {
		body["metrics"] = metrics
	}
	if len(params) > 0 {
		body["params"] = params
	}
	if len(tags) > 0 {
		body["tags"] = tags
	}
	return notFound(b.post(ctx, "/runs/log-batch", body, nil))
}

func (b *restBackend) GetMetricHistory(ctx context.Context, runID, key string) ([]Metric, error) {
	var out []Metric
	token := ""
	for {
		q := url.Values{"run_id": {runID}, "run_uuid": {runID}, "metric_key": {key}, "max_results": {strconv.Itoa(25000)}}
		if token != "" {
			q.Set("page_token", token)
		}
		var resp struct {
			Metrics       []Metric `json:"metrics"`
			NextPageToken string   `json:"next_page_token"`
		}
		if err := b.get(ctx, "/metrics/get-history", q, &resp); err != nil {
			return nil, notFound(err)
		}
		out = append(out, resp.Metrics...)
		if resp.NextPageToken == "" {
			return out, nil
		}
		token = resp.NextPageToken
	}
}

func (b *restBackend) ListArtifacts(ctx context.Context, runID, path string) ([]FileInfo, error) {
	var out []FileInfo
	token := ""
	for {
		q := url.Values{"run_id": {runID}, "run_uuid": {runID}}
		if path != "" {
			q.Set("path", path)
		}
		if token != "" {
			q.Set("page_token", token)
		}
		var resp struct {
			Files         []FileInfo `json:"files"`
			NextPageToken string     `json:"next_page_token"`
		}
		if err := b.get(ctx, "/artifacts/list", q, &resp); err != nil {
			return nil, notFound(err)
		}
		out = append(out, resp.Files...)
		if resp.NextPageToken == "" {
			return out, nil
		}
		token = resp.NextPageToken
	}
}

func (b *restBackend) Close() error { return nil }

var _ Backend = (*restBackend)(nil)
