package serve

import (
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// metrics are the scoring server's Prometheus collectors.
type metrics struct {
	requests     *prometheus.CounterVec
	total        *prometheus.HistogramVec
	queue        *prometheus.HistogramVec
	inference    *prometheus.HistogramVec
	inFlight     prometheus.Gauge
	queued       prometheus.Gauge
	batchSize    *prometheus.HistogramVec
	loadSeconds  *prometheus.GaugeVec
	loadFailures *prometheus.CounterVec
	// shadow traffic, by model and the canary's version
	shadowRequests, shadowDisagreements, shadowDropped *prometheus.CounterVec

	series sync.Map // requestKey → *requestSeries
}

var latencyBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}

func newMetrics(reg prometheus.Registerer, limit func() float64) (m *metrics, err error) {
	defer func() {
		// promauto panics on a duplicate registration: report it instead.
		if r := recover(); r != nil {
			if e, ok := r.(error); ok {
				err = e
				return
			}
			panic(r)
		}
	}()
	f := promauto.With(reg)
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "mlgate_serve_concurrency_limit",
		Help: "Predictions allowed to run at once now (adapted to the load unless --max-concurrency is set).",
	}, limit)
	return &metrics{
		requests: f.NewCounterVec(prometheus.CounterOpts{
			Name: "mlgate_serve_requests_total",
			Help: "Scoring requests by route, model, version and HTTP status.",
		}, []string{"route", "model", "version", "status"}),
		total: f.NewHistogramVec(prometheus.HistogramOpts{
			Name: "mlgate_serve_request_duration_seconds", Buckets: latencyBuckets,
			Help: "Total time of a scoring request, from the first byte read to the response.",
		}, []string{"route", "model", "version"}),
		queue: f.NewHistogramVec(prometheus.HistogramOpts{
			Name: "mlgate_serve_queue_duration_seconds", Buckets: latencyBuckets,
			Help: "Time a request waited for an inference slot or a batch.",
		}, []string{"model"}),
		inference: f.NewHistogramVec(prometheus.HistogramOpts{
			Name: "mlgate_serve_inference_duration_seconds", Buckets: latencyBuckets,
			Help: "Time spent in the predictor per call (one batch when batching).",
		}, []string{"model"}),
		inFlight: f.NewGauge(prometheus.GaugeOpts{
			Name: "mlgate_serve_in_flight_requests",
			Help: "Scoring requests being processed now.",
		}),
		queued: f.NewGauge(prometheus.GaugeOpts{
			Name: "mlgate_serve_queued_requests",
			Help: "Admitted scoring requests waiting for an inference slot.",
		}),
		batchSize: f.NewHistogramVec(prometheus.HistogramOpts{
			Name: "mlgate_serve_batch_size", Buckets: prometheus.ExponentialBuckets(1, 2, 12),
			Help: "Rows per predictor call.",
		}, []string{"model"}),
		loadSeconds: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "mlgate_serve_model_load_seconds",
			Help: "Time the last successful load of the model took (fetch, load, warm-up).",
		}, []string{"model"}),
		loadFailures: f.NewCounterVec(prometheus.CounterOpts{
			Name: "mlgate_serve_model_load_failures_total",
			Help: "Failed model loads.",
		}, []string{"model"}),
		shadowRequests: f.NewCounterVec(prometheus.CounterOpts{
			Name: "mlgate_serve_shadow_requests_total",
			Help: "Predictions of the main model mirrored to the canary and compared, by the canary's version.",
		}, []string{"model", "version"}),
		shadowDisagreements: f.NewCounterVec(prometheus.CounterOpts{
			Name: "mlgate_serve_shadow_disagreements_total",
			Help: "Mirrored predictions the canary answered differently or failed, by the canary's version.",
		}, []string{"model", "version"}),
		shadowDropped: f.NewCounterVec(prometheus.CounterOpts{
			Name: "mlgate_serve_shadow_dropped_total",
			Help: "Mirrored predictions not run, by the canary's version and reason: queue_full (the shadow queue was full) or busy (the server had no spare capacity).",
		}, []string{"model", "version", "reason"}),
	}, nil
}

// modelSeries are the per-model series a handle observes on every
// prediction, resolved once: a label lookup per observation costs more
// than the observation.
type modelSeries struct {
	queue, inference, batchSize prometheus.Observer
}

func (m *metrics) modelSeries(model string) modelSeries {
	return modelSeries{
		queue:     m.queue.WithLabelValues(model),
		inference: m.inference.WithLabelValues(model),
		batchSize: m.batchSize.WithLabelValues(model),
	}
}

// requestKey names one series of the per-request metrics; the model label
// is the server's.
type requestKey struct {
	route, version string
	status         int
}

// requestSeries is what one request observes when it ends.
type requestSeries struct {
	count prometheus.Counter
	total prometheus.Observer
}

// requestSeries returns the series for key, resolving and caching them on
// first use. Routes, versions and statuses are few, so the cache stays small.
func (m *metrics) requestSeries(model string, key requestKey) *requestSeries {
	if v, ok := m.series.Load(key); ok {
		return v.(*requestSeries)
	}
	rs := &requestSeries{
		count: m.requests.WithLabelValues(key.route, model, key.version, strconv.Itoa(key.status)),
		total: m.total.WithLabelValues(key.route, model, key.version),
	}
	v, _ := m.series.LoadOrStore(key, rs)
	return v.(*requestSeries)
}
