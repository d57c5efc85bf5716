package rollout

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
)

// The replicas' Prometheus series the analysis reads instead of their
// serving runs when a rollout names a Prometheus server (Spec.Prometheus):
// the counters and the latency histogram of `models serve`'s /metrics,
// labelled by model (the registered name, unless the replicas were given
// --name) and version. The window's figures are increases over the
// window, summed over the replicas Prometheus scrapes; the quantiles come
// from the summed histogram (interpolated in its buckets, so coarser than
// the quantiles the replicas log to tracking).
const (
	promRequests       = "mlgate_serve_requests_total"
	promDuration       = "mlgate_serve_request_duration_seconds_bucket"
	promShadowRequests = "mlgate_serve_shadow_requests_total"
	promShadowDisagree = "mlgate_serve_shadow_disagreements_total"
	promShadowDropped  = "mlgate_serve_shadow_dropped_total"
)

// CheckPrometheusURL checks the base URL of a Prometheus HTTP API.
func CheckPrometheusURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--prometheus-url %q: want the http(s) base URL of a Prometheus server, e.g. http://prometheus:9090", raw)
	}
	return nil
}

// promWindow reads the figures of versions in (from, to] from the
// Prometheus server at base, and how many replicas (scraped instances)
// report the model.
func promWindow(ctx context.Context, base, modelName string, from, to time.Time, versions ...string) (map[string]Figures, int, error) {
	// The range covers the window, in whole seconds (PromQL ranges are
	// durations): a window shorter than two scrapes has no increase, and
	// the step waits for traffic.
	rng := strconv.FormatInt(max(int64(math.Ceil(to.Sub(from).Seconds())), 1), 10) + "s"
	sel := func(metric, extra string) string {
		return metric + `{model=` + strconv.Quote(modelName) + extra + `}[` + rng + `]`
	}
	query := func(q string) (model.Vector, error) { return promQuery(ctx, base, q, to) }
	out := make(map[string]Figures, len(versions))
	for _, v := range versions {
		out[v] = Figures{}
	}
	set := func(q string, put func(f *Figures, v float64)) error {
		vec, err := query(q)
		if err != nil {
			return err
		}
		for _, s := range vec {
			ver := string(s.Metric["version"])
			f, ok := out[ver]
			if !ok || math.IsNaN(float64(s.Value)) {
				continue
			}
			put(&f, float64(s.Value))
			out[ver] = f
		}
		return nil
	}
	byVersion := func(metric, extra string) string {
		return `sum by (version) (increase(` + sel(metric, extra) + `))`
	}
	quantile := func(q float64) string {
		return `1000 * histogram_quantile(` + strconv.FormatFloat(q, 'f', -1, 64) + `, sum by (version, le) (increase(` + sel(promDuration, "") + `)))`
	}
	for _, x := range []struct {
		q   string
		put func(f *Figures, v float64)
	}{
		{byVersion(promRequests, ""), func(f *Figures, v float64) { f.Requests = v }},
		{byVersion(promRequests, `,status=~"4.."`), func(f *Figures, v float64) { f.Errors4xx = v }},
		{byVersion(promRequests, `,status=~"5.."`), func(f *Figures, v float64) { f.Errors5xx = v }},
		{quantile(0.5), func(f *Figures, v float64) { f.P50Ms = v }},
		{quantile(0.99), func(f *Figures, v float64) { f.P99Ms = v }},
		{byVersion(promShadowRequests, ""), func(f *Figures, v float64) { f.ShadowRequests = v }},
		{byVersion(promShadowDisagree, ""), func(f *Figures, v float64) { f.ShadowDisagreements = v }},
		{byVersion(promShadowDropped, ""), func(f *Figures, v float64) { f.ShadowDropped = v }},
	} {
		if err := set(x.q, x.put); err != nil {
			return nil, 0, err
		}
	}
	vec, err := query(`count(count by (instance) (` + promRequests + `{model=` + strconv.Quote(modelName) + `}))`)
	if err != nil {
		return nil, 0, err
	}
	replicas := 0
	if len(vec) == 1 {
		replicas = int(vec[0].Value)
	}
	return out, replicas, nil
}

// errNoSeries explains an analysis without any replica's series.
func errNoSeries(base, modelName string) string {
	return fmt.Sprintf("no series %s{model=%q} in Prometheus at %s: does it scrape the replicas' /metrics, and were they given another --name?",
		promRequests, modelName, strings.TrimRight(base, "/"))
}

// promQuery evaluates an instant query at t through Prometheus's HTTP API
// (GET /api/v1/query) and returns its vector. The API is three fields of
// JSON; client_golang's api package would decode them through
// json-iterator, whose reflection keeps every method of the binary alive
// (20 MB more for mlgate), so the answer is decoded here into
// prometheus/common's model types.
func promQuery(ctx context.Context, base, q string, t time.Time) (model.Vector, error) {
	u := strings.TrimRight(base, "/") + "/api/v1/query?" + url.Values{
		"query": {q}, "time": {strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64)},
	}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("prometheus %s: %w", base, err)
	}
	resp, err := promHTTP.Do(req)
	if err != nil {
		return nil, fmt.Errorf("prometheus %s: %w", base, err)
	}
	defer func() { _ = resp.Body.Close() }()
	var out struct {
		Status string `json:"status"`
		Data   struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		} `json:"data"`
		ErrorType string `json:"errorType"`
		Error     string `json:"error"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxPromAnswer)).Decode(&out); err != nil {
		return nil, fmt.Errorf("prometheus %s: query %s: HTTP %d, not its API's answer: %w", base, q, resp.StatusCode, err)
	}
	if out.Status != "success" {
		return nil, fmt.Errorf("prometheus %s: query %s: %s: %s", base, q, out.ErrorType, out.Error)
	}
	if out.Data.ResultType != "vector" {
		return nil, fmt.Errorf("prometheus %s: query %s: a %s, want a vector", base, q, out.Data.ResultType)
	}
	var vec model.Vector
	if err := json.Unmarshal(out.Data.Result, &vec); err != nil {
		return nil, fmt.Errorf("prometheus %s: query %s: %w", base, q, err)
	}
	return vec, nil
}

// promHTTP bounds each query; the analysis waits on a failed one.
var promHTTP = &http.Client{Timeout: 10 * time.Second}

// maxPromAnswer bounds an answer: a few series per version.
const maxPromAnswer = 8 << 20
