package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/mlgate/mlgate/internal/apierr"
	"github.com/mlgate/mlgate/registry/store"
)

// Options are what Mount needs.
type Options struct {
	// Store is the registry store (required).
	Store *store.Store
	// Logger receives request errors; nil discards them.
	Logger *slog.Logger
	// Registerer receives the registry metrics; nil leaves them unregistered.
	Registerer prometheus.Registerer
	// SourceRegex, when set, must match every model version source
	// (MLflow's MLFLOW_CREATE_MODEL_VERSION_SOURCE_VALIDATION_REGEX).
	SourceRegex *regexp.Regexp
	// WebhookAllowedSchemes are the URL schemes webhooks may use (default
	// https only, like MLFLOW_WEBHOOK_ALLOWED_SCHEMES).
	WebhookAllowedSchemes []string
	// WebhookAllowPrivateIPs lets webhooks reach loopback, private and
	// link-local addresses (MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS); by default
	// such URLs are refused and the delivery dialer refuses such peers.
	WebhookAllowPrivateIPs bool
	// WebhookClient delivers webhooks; nil builds one whose dialer enforces
	// WebhookAllowPrivateIPs, with a 30 s per-attempt timeout.
	WebhookClient *http.Client
	// WebhookBackoff is the first retry delay of a failed delivery
	// (doubling, capped at a minute); default 1 s.
	WebhookBackoff time.Duration
	// Deliveries, when set, tracks webhook events not yet delivered, for
	// the server's shutdown to wait on.
	Deliveries *Deliveries
	// FilterModels, when set, keeps the registered model names the caller
	// may read (the basic-auth app): registered-models/search thins its
	// page to them and fills it back up as MLflow does.
	FilterModels func(ctx context.Context, names []string) []string
}

type handlers struct {
	st       *store.Store
	log      *slog.Logger
	srcRegex *regexp.Regexp
	hooks    *deliverer
	// webhookSchemes are the allowed webhook URL schemes.
	webhookSchemes      []string
	webhookAllowPrivate bool
	requests            *prometheus.CounterVec
	duration            *prometheus.HistogramVec
	filterModels        func(ctx context.Context, names []string) []string
}

// Prefixes under which MLflow serves every registry endpoint.
var Prefixes = []string{"/api/2.0/mlflow", "/ajax-api/2.0/mlflow"}

// Mount adds the registry REST API to r: every endpoint under each of
// Prefixes, and the change-poll endpoints under /api/2.0/mlgate and
// /ajax-api/2.0/mlgate.
func Mount(r gin.IRouter, opts Options) error {
	if opts.Store == nil {
		return errors.New("registry server: nil store")
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	f := promauto.With(opts.Registerer)
	h := &handlers{
		st: opts.Store, log: log, srcRegex: opts.SourceRegex,
		requests: f.NewCounterVec(prometheus.CounterOpts{
			Name: "mlgate_registry_requests_total",
			Help: "Model registry API requests by operation and HTTP status.",
		}, []string{"operation", "status"}),
		duration: f.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "mlgate_registry_request_duration_seconds",
			Help:    "Model registry API request latency by operation.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"operation"}),
		webhookSchemes:      opts.WebhookAllowedSchemes,
		webhookAllowPrivate: opts.WebhookAllowPrivateIPs,
		filterModels:        opts.FilterModels,
	}
	client := opts.WebhookClient
	if client == nil {
		client = webhookHTTPClient(opts.WebhookAllowPrivateIPs)
	}
	backoff := opts.WebhookBackoff
	if backoff <= 0 {
		backoff = time.Second
	}
	track := opts.Deliveries
	if track == nil {
		track = &Deliveries{}
	}
	h.hooks = &deliverer{st: opts.Store, log: log, client: client, backoff: backoff, sem: make(chan struct{}, webhookWorkers), track: track,
		delivered: f.NewCounterVec(prometheus.CounterOpts{
			Name: "mlgate_registry_webhook_deliveries_total",
			Help: "Registry webhook deliveries by result (success, failure, dropped).",
		}, []string{"result"})}
	rd := reader.Handle
	routes := []struct {
		methods []string
		path    string
		op      string
		fn      apierr.HandlerFunc
	}{
		{[]string{http.MethodPost}, "/registered-models/create", "create_registered_model", rd(h.createRegisteredModel)},
		{[]string{http.MethodGet}, "/registered-models/get", "get_registered_model", rd(h.getRegisteredModel)},
		{[]string{http.MethodPost}, "/registered-models/rename", "rename_registered_model", rd(h.renameRegisteredModel)},
		{[]string{http.MethodPatch}, "/registered-models/update", "update_registered_model", rd(h.updateRegisteredModel)},
		{[]string{http.MethodDelete}, "/registered-models/delete", "delete_registered_model", rd(h.deleteRegisteredModel)},
		{[]string{http.MethodGet}, "/registered-models/search", "search_registered_models", rd(h.searchRegisteredModels)},
		{[]string{http.MethodPost, http.MethodGet}, "/registered-models/get-latest-versions", "get_latest_versions", rd(h.getLatestVersions)},
		{[]string{http.MethodPost}, "/registered-models/set-tag", "set_registered_model_tag", rd(h.setRegisteredModelTag)},
		{[]string{http.MethodDelete}, "/registered-models/delete-tag", "delete_registered_model_tag", rd(h.deleteRegisteredModelTag)},
		{[]string{http.MethodPost}, "/registered-models/alias", "set_registered_model_alias", rd(h.setAlias)},
		{[]string{http.MethodDelete}, "/registered-models/alias", "delete_registered_model_alias", rd(h.deleteAlias)},
		{[]string{http.MethodGet}, "/registered-models/alias", "get_model_version_by_alias", rd(h.getByAlias)},
		{[]string{http.MethodPost}, "/model-versions/create", "create_model_version", rd(h.createModelVersion)},
		{[]string{http.MethodGet}, "/model-versions/get", "get_model_version", rd(h.getModelVersion)},
		{[]string{http.MethodPatch}, "/model-versions/update", "update_model_version", rd(h.updateModelVersion)},
		{[]string{http.MethodDelete}, "/model-versions/delete", "delete_model_version", rd(h.deleteModelVersion)},
		{[]string{http.MethodGet}, "/model-versions/search", "search_model_versions", rd(h.searchModelVersions)},
		{[]string{http.MethodPost}, "/model-versions/transition-stage", "transition_model_version_stage", rd(h.transitionStage)},
		{[]string{http.MethodGet}, "/model-versions/get-download-uri", "get_model_version_download_uri", rd(h.getDownloadURI)},
		{[]string{http.MethodPost}, "/model-versions/set-tag", "set_model_version_tag", rd(h.setModelVersionTag)},
		{[]string{http.MethodDelete}, "/model-versions/delete-tag", "delete_model_version_tag", rd(h.deleteModelVersionTag)},
		{[]string{http.MethodPost}, "/webhooks", "create_webhook", rd(h.createWebhook)},
		{[]string{http.MethodGet}, "/webhooks", "list_webhooks", rd(h.listWebhooks)},
		{[]string{http.MethodGet}, "/webhooks/:webhook_id", "get_webhook", rd(h.getWebhook)},
		{[]string{http.MethodPatch}, "/webhooks/:webhook_id", "update_webhook", rd(h.updateWebhook)},
		{[]string{http.MethodDelete}, "/webhooks/:webhook_id", "delete_webhook", rd(h.deleteWebhook)},
		{[]string{http.MethodPost}, "/webhooks/:webhook_id/test", "test_webhook", rd(h.testWebhook)},
	}
	for _, prefix := range Prefixes {
		for _, rt := range routes {
			for _, m := range rt.methods {
				r.Handle(m, prefix+rt.path, h.wrap(rt.op, rt.fn))
			}
		}
	}
	for _, prefix := range []string{"/api/2.0/mlgate", "/ajax-api/2.0/mlgate"} {
		r.GET(prefix+"/registered-models/changes", h.wrap("registered_model_changes", h.modelChanges))
		r.GET(prefix+"/registry/changes", h.wrap("registry_changes", h.registryChanges))
	}
	return nil
}

// wrap renders errors through apierr and records the operation metrics.
func (h *handlers) wrap(op string, fn apierr.HandlerFunc) gin.HandlerFunc {
	inner := apierr.Handle(h.log, fn)
	return func(c *gin.Context) {
		start := time.Now()
		inner(c)
		h.duration.WithLabelValues(op).Observe(time.Since(start).Seconds())
		h.requests.WithLabelValues(op, strconv.Itoa(c.Writer.Status())).Inc()
	}
}
