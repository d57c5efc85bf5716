package serve

import (
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
		}, []string{"route", "model"}),
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
	}, nil
}
