package server

import (
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
}

// API serves the tracking endpoints.
type API struct {
	st  *store.Store
	log *slog.Logger
}

// New returns the tracking API over a store.
func New(opts Options) *API {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &API{st: opts.Store, log: log}
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
	return []Route{
		{p, "/mlflow/experiments/create", a.createExperiment},
		{g, "/mlflow/experiments/get", a.getExperiment},
		{g, "/mlflow/experiments/get-by-name", a.getExperimentByName},
		{p, "/mlflow/experiments/search", a.searchExperiments},
		{g, "/mlflow/experiments/search", a.searchExperiments},
		{p, "/mlflow/experiments/update", a.updateExperiment},
		{p, "/mlflow/experiments/delete", a.deleteExperiment},
		{p, "/mlflow/experiments/restore", a.restoreExperiment},
		{p, "/mlflow/experiments/set-experiment-tag", a.setExperimentTag},
		{p, "/mlflow/experiments/delete-experiment-tag", a.deleteExperimentTag},
		{p, "/mlflow/runs/create", a.createRun},
		{p, "/mlflow/runs/update", a.updateRun},
		{p, "/mlflow/runs/delete", a.deleteRun},
		{p, "/mlflow/runs/restore", a.restoreRun},
		{g, "/mlflow/runs/get", a.getRun},
		{p, "/mlflow/runs/search", a.searchRuns},
		{p, "/mlflow/runs/log-metric", a.logMetric},
		{p, "/mlflow/runs/log-parameter", a.logParam},
		{p, "/mlflow/runs/set-tag", a.setTag},
		{p, "/mlflow/runs/delete-tag", a.deleteTag},
		{p, "/mlflow/runs/log-batch", a.logBatch},
		{p, "/mlflow/runs/log-model", a.logModel},
		{p, "/mlflow/runs/log-inputs", a.logInputs},
		{p, "/mlflow/runs/outputs", a.logOutputs},
		{g, "/mlflow/metrics/get-history", a.getMetricHistory},
		{g, "/mlflow/metrics/get-history-bulk", a.getMetricHistoryBulk},
		{g, "/mlflow/metrics/get-history-bulk-interval", a.getMetricHistoryBulkInterval},
		{p, "/mlflow/logged-models", a.createLoggedModel},
		{p, "/mlflow/logged-models/search", a.searchLoggedModels},
		{g, "/mlflow/logged-models/:model_id", a.getLoggedModel},
		{pa, "/mlflow/logged-models/:model_id", a.finalizeLoggedModel},
		{d, "/mlflow/logged-models/:model_id", a.deleteLoggedModel},
		{pa, "/mlflow/logged-models/:model_id/tags", a.setLoggedModelTags},
		{d, "/mlflow/logged-models/:model_id/tags/:tag_key", a.deleteLoggedModelTag},
		{p, "/mlflow/logged-models/:model_id/params", a.logLoggedModelParams},
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
