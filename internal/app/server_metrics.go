package app

import (
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// httpMetrics counts tracking-server requests and latency by endpoint
// (the gin route template, so ids do not explode the label set).
type httpMetrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	errors   *prometheus.CounterVec
}

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	f := promauto.With(reg)
	return &httpMetrics{
		requests: f.NewCounterVec(prometheus.CounterOpts{
			Name: "mlgate_server_requests_total",
			Help: "Tracking server HTTP requests by endpoint, method and status.",
		}, []string{"endpoint", "method", "status"}),
		latency: f.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "mlgate_server_request_duration_seconds",
			Help:    "Tracking server request latency by endpoint.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10},
		}, []string{"endpoint", "method"}),
		errors: f.NewCounterVec(prometheus.CounterOpts{
			Name: "mlgate_server_store_errors_total",
			Help: "Requests that failed with a server-side (5xx) error, by endpoint.",
		}, []string{"endpoint"}),
	}
}

func (m *httpMetrics) middleware() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		ep := c.FullPath()
		if ep == "" {
			ep = "unmatched"
		}
		status := c.Writer.Status()
		m.requests.WithLabelValues(ep, c.Request.Method, strconv.Itoa(status)).Inc()
		m.latency.WithLabelValues(ep, c.Request.Method).Observe(time.Since(start).Seconds())
		if status >= 500 {
			m.errors.WithLabelValues(ep).Inc()
		}
	}
}
