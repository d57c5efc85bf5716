package server

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/mlgate/mlgate/internal/apierr"
	"github.com/mlgate/mlgate/tracking/store"
)

// Prefixes are the API roots every endpoint is served under.
var Prefixes = []string{"/api/2.0", "/ajax-api/2.0"}

// Options configure the tracking API handlers.
type Options struct {
	Store  *store.Store
	Logger *slog.Logger
	// FilterExperiments, when set, keeps the experiment ids the caller may
	// read; runs/search searches only those (the permissions hook).
	FilterExperiments func(ctx context.Context, ids []string) []string
	// RunCreated, when set, is told the experiment of each run created
	// (the permissions hook keeps it: a run's first request then needs no
	// lookup to find the experiment its permission is checked on).
	RunCreated func(runID, experimentID string)
}

// API serves the tracking endpoints.
type API struct {
	st         *store.Store
	log        *slog.Logger
	filter     func(ctx context.Context, ids []string) []string
	runCreated func(runID, experimentID string)
}

// New returns the tracking API over a store.
func New(opts Options) *API {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &API{st: opts.Store, log: log, filter: opts.FilterExperiments, runCreated: opts.RunCreated}
}

// Route is one endpoint: method, path below the prefix and handler.
type Route struct {
	Method  string
	Path    string
	Handler apierr.HandlerFunc
}

// Routes lists every tracking endpoint (paths below /api/2.0).
func (a *API) Routes() []Route {
	g, p, pa, d := http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete
	h := reader.Handle
	return []Route{
		{p, "/mlflow/experiments/create", h(a.createExperiment)},
		{g, "/mlflow/experiments/get", h(a.getExperiment)},
		{g, "/mlflow/experiments/get-by-name", h(a.getExperimentByName)},
		{p, "/mlflow/experiments/search", h(a.searchExperiments)},
		{g, "/mlflow/experiments/search", h(a.searchExperiments)},
		{p, "/mlflow/experiments/update", h(a.updateExperiment)},
		{p, "/mlflow/experiments/delete", h(a.deleteExperiment)},
		{p, "/mlflow/experiments/restore", h(a.restoreExperiment)},
		{p, "/mlflow/experiments/set-experiment-tag", h(a.setExperimentTag)},
		{p, "/mlflow/experiments/delete-experiment-tag", h(a.deleteExperimentTag)},
		{p, "/mlflow/runs/create", h(a.createRun)},
		{p, "/mlflow/runs/update", h(a.updateRun)},
		{p, "/mlflow/runs/delete", h(a.deleteRun)},
		{p, "/mlflow/runs/restore", h(a.restoreRun)},
		{g, "/mlflow/runs/get", h(a.getRun)},
		{p, "/mlflow/runs/search", h(a.searchRuns)},
		{p, "/mlflow/runs/log-metric", h(a.logMetric)},
		{p, "/mlflow/runs/log-parameter", h(a.logParam)},
		{p, "/mlflow/runs/set-tag", h(a.setTag)},
		{p, "/mlflow/runs/delete-tag", h(a.deleteTag)},
		{p, "/mlflow/runs/log-batch", h(a.logBatch)},
		{p, "/mlflow/runs/log-model", h(a.logModel)},
		{p, "/mlflow/runs/log-inputs", h(a.logInputs)},
		{p, "/mlflow/runs/outputs", h(a.logOutputs)},
		{g, "/mlflow/metrics/get-history", h(a.getMetricHistory)},
		{g, "/mlflow/metrics/get-history-bulk", h(a.getMetricHistoryBulk)},
		{g, "/mlflow/metrics/get-history-bulk-interval", h(a.getMetricHistoryBulkInterval)},
		{p, "/mlflow/logged-models", h(a.createLoggedModel)},
		{p, "/mlflow/logged-models/search", h(a.searchLoggedModels)},
		{g, "/mlflow/logged-models/:model_id", h(a.getLoggedModel)},
		{pa, "/mlflow/logged-models/:model_id", h(a.finalizeLoggedModel)},
		{d, "/mlflow/logged-models/:model_id", h(a.deleteLoggedModel)},
		{pa, "/mlflow/logged-models/:model_id/tags", h(a.setLoggedModelTags)},
		{d, "/mlflow/logged-models/:model_id/tags/:tag_key", h(a.deleteLoggedModelTag)},
		{p, "/mlflow/logged-models/:model_id/params", h(a.logLoggedModelParams)},
	}
}

// Mount registers every route under each of Prefixes on r, wrapping
// handlers with apierr.Handle and the given middlewares.
func (a *API) Mount(r gin.IRouter, mw ...gin.HandlerFunc) {
	for _, prefix := range Prefixes {
		for _, rt := range a.Routes() {
			hs := append(append([]gin.HandlerFunc{}, mw...), apierr.Handle(a.log, rt.Handler))
			r.Handle(rt.Method, prefix+rt.Path, hs...)
		}
	}
}
