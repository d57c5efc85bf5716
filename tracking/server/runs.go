package server

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/mlgate/mlgate/internal/wire"
	"github.com/mlgate/mlgate/tracking/store"
)

type runIDReq struct {
	RunID   string `json:"run_id"`
	RunUUID string `json:"run_uuid"`
}

func (r runIDReq) id() (string, error) {
	id := r.RunID
	if id == "" {
		id = r.RunUUID
	}
	if id == "" {
		return "", wire.Missing("run_id")
	}
	return id, nil
}

func (a *API) createRun(c *gin.Context, rq *wire.Request) (any, error) {
	var req struct {
		ExperimentID any        `json:"experiment_id"`
		UserID       string     `json:"user_id"`
		RunName      string     `json:"run_name"`
		StartTime    wire.Int64 `json:"start_time"`
		Tags         []wTag     `json:"tags"`
	}
	if err := rq.Bind(&req); err != nil {
		return nil, err
	}
	r, err := a.st.CreateRun(c.Request.Context(), store.CreateRunInput{
		ExperimentID: idString(req.ExperimentID), UserID: req.UserID, RunName: req.RunName,
		StartTime: req.StartTime.V, Tags: tagsIn(req.Tags),
	})
	if err != nil {
		return nil, err
	}
	if a.runCreated != nil {
		a.runCreated(r.Info.RunID, r.Info.ExperimentID)
	}
	return gin.H{"run": runOut(r)}, nil
}

var statusNames = map[string]string{
	"RUNNING": store.StatusRunning, "1": store.StatusRunning,
	"SCHEDULED": store.StatusScheduled, "2": store.StatusScheduled,
	"FINISHED": store.StatusFinished, "3": store.StatusFinished,
	"FAILED": store.StatusFailed, "4": store.StatusFailed,
	"KILLED": store.StatusKilled, "5": store.StatusKilled,
}

func (a *API) updateRun(c *gin.Context, rq *wire.Request) (any, error) {
	var req struct {
		runIDReq
		Status  enumString `json:"status"`
		EndTime wire.Int64 `json:"end_time"`
		RunName string     `json:"run_name"`
	}
	if err := rq.Bind(&req); err != nil {
		return nil, err
	}
	id, err := req.id()
	if err != nil {
		return nil, err
	}
	in := store.UpdateRunInput{RunID: id, RunName: req.RunName}
	// A status that names no RunStatus is left out, as MLflow's proto
	// parsing leaves it unset: the run keeps its status.
	if st, found := statusNames[strings.ToUpper(string(req.Status))]; found {
		in.Status = st
	}
	if req.EndTime.Set {
		in.EndTime = &req.EndTime.V
	}
	info, err := a.st.UpdateRun(c.Request.Context(), in)
	if err != nil {
		return nil, err
	}
	return gin.H{"run_info": runInfoOut(info)}, nil
}

func (a *API) deleteRun(c *gin.Context, rq *wire.Request) (any, error) {
	var req runIDReq
	if err := rq.Bind(&req); err != nil {
		return nil, err
	}
	id, err := req.id()
	if err != nil {
		return nil, err
	}
	if err := a.st.DeleteRun(c.Request.Context(), id); err != nil {
		return nil, err
	}
	return nil, nil
}

func (a *API) restoreRun(c *gin.Context, rq *wire.Request) (any, error) {
	var req runIDReq
	if err := rq.Bind(&req); err != nil {
		return nil, err
	}
	id, err := req.id()
	if err != nil {
		return nil, err
	}
	if err := a.st.RestoreRun(c.Request.Context(), id); err != nil {
		return nil, err
	}
	return nil, nil
}

func (a *API) getRun(c *gin.Context, rq *wire.Request) (any, error) {
	var req runIDReq
	if err := rq.Bind(&req); err != nil {
		return nil, err
	}
	id, err := req.id()
	if err != nil {
		return nil, err
	}
	r, err := a.st.GetRun(c.Request.Context(), id)
	if err != nil {
		return nil, err
	}
	return gin.H{"run": runOut(r)}, nil
}

func (a *API) searchRuns(c *gin.Context, rq *wire.Request) (any, error) {
	var req struct {
		ExperimentIDs []any      `json:"experiment_ids"`
		Filter        string     `json:"filter"`
		RunViewType   enumString `json:"run_view_type"`
		MaxResults    wire.Int64 `json:"max_results"`
		OrderBy       []string   `json:"order_by"`
		PageToken     string     `json:"page_token"`
	}
	if err := rq.Bind(&req, "experiment_ids", "order_by"); err != nil {
		return nil, err
	}
	vt, err := parseViewType(string(req.RunViewType))
	if err != nil {
		return nil, err
	}
	in := store.SearchRunsInput{Filter: req.Filter, ViewType: vt, OrderBy: req.OrderBy, PageToken: req.PageToken}
	if req.MaxResults.Set {
		if req.MaxResults.V > store.MaxSearchResults {
			return nil, rq.Misfit("max_results") // MLflow's schema check: its type error text
		}
		if err := store.CheckMaxResults(int(req.MaxResults.V)); err != nil {
			return nil, err
		}
		in.MaxResults = int(req.MaxResults.V)
	}
	for _, e := range req.ExperimentIDs {
		in.ExperimentIDs = append(in.ExperimentIDs, idString(e))
	}
	if a.filter != nil {
		in.ExperimentIDs = a.filter(c.Request.Context(), in.ExperimentIDs)
	}
	runs, next, err := a.st.SearchRuns(c.Request.Context(), in)
	if err != nil {
		return nil, err
	}
	writeSearchRuns(c, runs, next)
	return nil, nil
}

type wMetricIn struct {
	Key           string     `json:"key"`
	Value         wire.Float `json:"value"`
	Timestamp     wire.Int64 `json:"timestamp"`
	Step          wire.Int64 `json:"step"`
	ModelID       string     `json:"model_id"`
	DatasetName   string     `json:"dataset_name"`
	DatasetDigest string     `json:"dataset_digest"`
}

func (m wMetricIn) toStore(prefix string) (store.Metric, error) {
	if m.Key == "" {
		return store.Metric{}, wire.Missing(prefix + "key")
	}
	if !m.Value.Set {
		return store.Metric{}, wire.Missing(prefix + "value")
	}
	if !m.Timestamp.Set {
		return store.Metric{}, wire.Missing(prefix + "timestamp")
	}
	return store.Metric{Key: m.Key, Value: m.Value.V, Timestamp: m.Timestamp.V, Step: m.Step.V,
		ModelID: m.ModelID, DatasetName: m.DatasetName, DatasetDigest: m.DatasetDigest}, nil
}

func (a *API) logMetric(c *gin.Context, rq *wire.Request) (any, error) {
	var req struct {
		runIDReq
		wMetricIn
	}
	if err := rq.Bind(&req); err != nil {
		return nil, err
	}
	id, err := req.id()
	if err != nil {
		return nil, err
	}
	m, err := req.toStore("")
	if err != nil {
		return nil, err
	}
	if err := a.st.LogMetric(c.Request.Context(), id, m); err != nil {
		return nil, err
	}
	return nil, nil
}

func (a *API) logParam(c *gin.Context, rq *wire.Request) (any, error) {
	var req struct {
		runIDReq
		Key   string `json:"key"`
		Value string `json:"value"`
	}
	if err := rq.Bind(&req); err != nil {
		return nil, err
	}
	id, err := req.id()
	if err != nil {
		return nil, err
	}
	if req.Key == "" {
		return nil, wire.Missing("key")
	}
	if err := a.st.LogParam(c.Request.Context(), id, store.Param{Key: req.Key, Value: req.Value}); err != nil {
		return nil, err
	}
	return nil, nil
}

func (a *API) setTag(c *gin.Context, rq *wire.Request) (any, error) {
	var req struct {
		runIDReq
		Key   string `json:"key"`
		Value string `json:"value"`
	}
	if err := rq.Bind(&req); err != nil {
		return nil, err
	}
	id, err := req.id()
	if err != nil {
		return nil, err
	}
	if req.Key == "" {
		return nil, wire.Missing("key")
	}
	if err := a.st.SetTag(c.Request.Context(), id, store.Tag{Key: req.Key, Value: req.Value}); err != nil {
		return nil, err
	}
	return nil, nil
}

func (a *API) deleteTag(c *gin.Context, rq *wire.Request) (any, error) {
	var req struct {
		runIDReq
		Key string `json:"key"`
	}
	if err := rq.Bind(&req); err != nil {
		return nil, err
	}
	id, err := req.id()
	if err != nil {
		return nil, err
	}
	if req.Key == "" {
		return nil, wire.Missing("key")
	}
	if err := a.st.DeleteTag(c.Request.Context(), id, req.Key); err != nil {
		return nil, err
	}
	return nil, nil
}

func (a *API) logBatch(c *gin.Context, rq *wire.Request) (any, error) {
	var req struct {
		runIDReq
		Metrics []wMetricIn `json:"metrics"`
		Params  []wTag      `json:"params"`
		Tags    []wTag      `json:"tags"`
	}
	if err := rq.Bind(&req); err != nil {
		return nil, err
	}
	id, err := req.id()
	if err != nil {
		return nil, err
	}
	metrics := make([]store.Metric, 0, len(req.Metrics))
	for i, m := range req.Metrics {
		sm, err := m.toStore(fmt.Sprintf("metrics[%d].", i))
		if err != nil {
			return nil, err
		}
		metrics = append(metrics, sm)
	}
	params := make([]store.Param, len(req.Params))
	for i, p := range req.Params {
		if p.Key == "" {
			return nil, wire.Missing(fmt.Sprintf("params[%d].key", i))
		}
		params[i] = store.Param(p)
	}
	for i, t := range req.Tags {
		if t.Key == "" {
			return nil, wire.Missing(fmt.Sprintf("tags[%d].key", i))
		}
	}
	if err := a.st.LogBatch(c.Request.Context(), id, metrics, params, tagsIn(req.Tags)); err != nil {
		return nil, err
	}
	return nil, nil
}

func (a *API) logModel(c *gin.Context, rq *wire.Request) (any, error) {
	var req struct {
		runIDReq
		ModelJSON string `json:"model_json"`
	}
	if err := rq.Bind(&req); err != nil {
		return nil, err
	}
	id, err := req.id()
	if err != nil {
		return nil, err
	}
	if req.ModelJSON == "" {
		return nil, wire.Missing("model_json")
	}
	if err := a.st.LogModel(c.Request.Context(), id, req.ModelJSON); err != nil {
		return nil, err
	}
	return nil, nil
}

func (a *API) logInputs(c *gin.Context, rq *wire.Request) (any, error) {
	var req struct {
		runIDReq
		Datasets []wDatasetInput `json:"datasets"`
		Models   []wModelInput   `json:"models"`
	}
	if err := rq.Bind(&req); err != nil {
		return nil, err
	}
	id, err := req.id()
	if err != nil {
		return nil, err
	}
	ds := make([]store.DatasetInput, len(req.Datasets))
	for i, d := range req.Datasets {
		ds[i] = store.DatasetInput{Tags: tagsIn(d.Tags), Dataset: store.Dataset(d.Dataset)}
	}
	ms := make([]store.ModelInput, len(req.Models))
	for i, m := range req.Models {
		ms[i] = store.ModelInput(m)
	}
	if err := a.st.LogInputs(c.Request.Context(), id, ds, ms); err != nil {
		return nil, err
	}
	return nil, nil
}

func (a *API) logOutputs(c *gin.Context, rq *wire.Request) (any, error) {
	var req struct {
		runIDReq
		Models []struct {
			ModelID string     `json:"model_id"`
			Step    wire.Int64 `json:"step"`
		} `json:"models"`
	}
	if err := rq.Bind(&req); err != nil {
		return nil, err
	}
	id, err := req.id()
	if err != nil {
		return nil, err
	}
	if len(req.Models) == 0 {
		return nil, wire.Missing("models")
	}
	out := make([]store.ModelOutput, len(req.Models))
	for i, m := range req.Models {
		out[i] = store.ModelOutput{ModelID: m.ModelID, Step: m.Step.V}
	}
	if err := a.st.LogOutputs(c.Request.Context(), id, out); err != nil {
		return nil, err
	}
	return nil, nil
}

func (a *API) getMetricHistory(c *gin.Context, rq *wire.Request) (any, error) {
	var req struct {
		runIDReq
		MetricKey  string     `json:"metric_key"`
		PageToken  string     `json:"page_token"`
		MaxResults wire.Int64 `json:"max_results"`
	}
	if err := rq.Bind(&req); err != nil {
		return nil, err
	}
	id, err := req.id()
	if err != nil {
		return nil, err
	}
	if req.MetricKey == "" {
		return nil, wire.Missing("metric_key")
	}
	if req.MaxResults.Set && req.MaxResults.V <= 0 {
		return nil, wire.NotPositive("max_results", req.MaxResults.V)
	}
	if err := store.ValidateRunID(id); err != nil {
		return nil, nil //nolint:nilerr // MLflow reads the history of any id: none
	}
	ms, next, err := a.st.GetMetricHistory(c.Request.Context(), id, req.MetricKey, store.Page{MaxResults: int(req.MaxResults.V), Token: req.PageToken})
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil // MLflow answers an unknown run's history with {}
	}
	if err != nil {
		return nil, err
	}
	writeMetrics(c, ms, next, false)
	return nil, nil
}

func (a *API) getMetricHistoryBulk(c *gin.Context, rq *wire.Request) (any, error) {
	var req struct {
		RunIDs     []string   `json:"run_id"`
		MetricKey  string     `json:"metric_key"`
		MaxResults wire.Int64 `json:"max_results"`
	}
	if err := rq.Bind(&req, "run_id"); err != nil {
		return nil, err
	}
	ms, err := a.st.GetMetricHistoryBulk(c.Request.Context(), req.RunIDs, req.MetricKey, int(req.MaxResults.V))
	if err != nil {
		return nil, err
	}
	writeMetrics(c, ms, "", true)
	return nil, nil
}

func (a *API) getMetricHistoryBulkInterval(c *gin.Context, rq *wire.Request) (any, error) {
	var req struct {
		RunIDs     []string   `json:"run_ids"`
		MetricKey  string     `json:"metric_key"`
		StartStep  wire.Int64 `json:"start_step"`
		EndStep    wire.Int64 `json:"end_step"`
		MaxResults wire.Int64 `json:"max_results"`
	}
	if err := rq.Bind(&req, "run_ids"); err != nil {
		return nil, err
	}
	var start, end *int64
	if req.StartStep.Set {
		start = &req.StartStep.V
	}
	if req.EndStep.Set {
		end = &req.EndStep.V
	}
	if req.MaxResults.Set {
		if err := wire.InRange(req.MaxResults.V, 1, 2500, "max_results must be between 1 and 2500."); err != nil {
			return nil, err
		}
	}
	ms, err := a.st.GetMetricHistoryBulkInterval(c.Request.Context(), req.RunIDs, req.MetricKey, start, end, int(req.MaxResults.V))
	if err != nil {
		return nil, err
	}
	writeMetrics(c, ms, "", true)
	return nil, nil
}
