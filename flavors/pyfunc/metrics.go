package pyfunc

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// metrics are the worker-supervision collectors of one Flavor. A nil
// *metrics (no Registerer given) records nothing.
type metrics struct {
	deaths   *prometheus.CounterVec
	restarts *prometheus.CounterVec
	starts   *prometheus.HistogramVec
	retries  prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, flavor string) *metrics {
	if reg == nil {
		return nil
	}
	reg = prometheus.WrapRegistererWith(prometheus.Labels{"flavor": flavor}, reg)
	f := promauto.With(reg)
	return &metrics{
		deaths: f.NewCounterVec(prometheus.CounterOpts{
			Name: "mlgate_worker_deaths_total",
			Help: "Worker processes that died or were killed for hanging, by worker slot.",
		}, []string{"worker"}),
		restarts: f.NewCounterVec(prometheus.CounterOpts{
			Name: "mlgate_worker_restarts_total",
			Help: "Worker restarts by result (ok or failed).",
		}, []string{"result"}),
		retries: f.NewCounter(prometheus.CounterOpts{
			Name: "mlgate_worker_retries_total",
			Help: "Requests sent again because their worker died while serving them.",
		}),
		starts: f.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "mlgate_worker_start_seconds",
			Help:    "Time from process start to handshake (model loaded), by result.",
			Buckets: []float64{0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300},
		}, []string{"result"}),
	}
}

func (m *metrics) death(slot string) {
	if m != nil {
		m.deaths.WithLabelValues(slot).Inc()
	}
}

func (m *metrics) retry() {
	if m != nil {
		m.retries.Inc()
	}
}

func (m *metrics) restart(ok bool) {
	if m != nil {
		m.restarts.WithLabelValues(result(ok)).Inc()
	}
}

func (m *metrics) started(ok bool, seconds float64) {
	if m != nil {
		m.starts.WithLabelValues(result(ok)).Observe(seconds)
	}
}

func result(ok bool) string {
	if ok {
		return "ok"
	}
	return "failed"
}
