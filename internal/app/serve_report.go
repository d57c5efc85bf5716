package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mlgate/mlgate/internal/version"
	"github.com/mlgate/mlgate/pkgformat"
	"github.com/mlgate/mlgate/rollout"
	"github.com/mlgate/mlgate/serve"
	"github.com/mlgate/mlgate/tracking"
)

// servingRun is the tracking run a scoring server logs itself to
// (--log-experiment): its settings as params and tags when it starts, its
// prediction figures for each interval as metrics (one step per interval),
// and at the end a summary and the MLmodel it served as artifacts.
type servingRun struct {
	c        *tracking.Client
	srv      *serve.Server
	log      *slog.Logger
	runID    string
	interval time.Duration
	mlmodel  []byte
	// payloads, when set, is the payload logger whose counts are logged
	// (payloads_logged, payloads_dropped) and whose files go to the run.
	payloads *payloadLog

	mu    sync.Mutex // guards what follows: ticks and finish
	first serve.Stats
	prev  serve.Stats
	// payload counts at the last step
	prevLogged, prevDropped uint64
	start                   time.Time
	last                    time.Time
	step                    int64
	// pending is a step whose logging failed: sent again, unchanged,
	// before the next one (the server keeps one copy of a metric logged
	// twice with the same step, timestamp and value).
	pending []tracking.Metric
	stop    chan struct{}
	stopped chan struct{}
}

// startServingRun creates the run for a server whose model is ready and
// starts logging every interval.
func startServingRun(ctx context.Context, o ServeOptions, srv *serve.Server, addr string, pl *payloadLog) (*servingRun, error) {
	c, err := tracking.NewClient(o.Tracking)
	if err != nil {
		return nil, err
	}
	expID, err := experimentID(ctx, c, o.LogExperiment)
	if err != nil {
		_ = c.Close(ctx)
		return nil, err
	}
	m := srv.Model()
	if m == nil {
		_ = c.Close(ctx)
		return nil, errors.New("no model is being served")
	}
	host, _ := os.Hostname()
	name := fmt.Sprintf("serve %s", m.Name)
	if m.Version != "" {
		name += " v" + m.Version
	}
	run, err := c.CreateRun(ctx, expID, tracking.WithRunName(name), tracking.WithRunTags(map[string]string{
		tracking.TagSourceType: "JOB",
		tracking.TagSourceName: "mlgate models serve",
		"mlgate.model_uri":     o.ModelURI,
		"mlgate.flavor":        m.Flavor,
		"mlgate.host":          host,
		"mlgate.address":       addr,
		"mlgate.version":       version.Version,
		"mlgate.model_version": m.Version,
	}))
	if err != nil {
		_ = c.Close(ctx)
		return nil, err
	}
	id := run.Info.RunID
	params := []tracking.Param{
		{Key: "model_uri", Value: o.ModelURI}, {Key: "model_name", Value: m.Name},
		{Key: "model_version", Value: m.Version}, {Key: "flavor", Value: m.Flavor},
		{Key: "timeout", Value: o.Timeout.String()}, {Key: "max_concurrency", Value: strconv.Itoa(o.MaxConcurrency)},
		{Key: "max_queue", Value: strconv.Itoa(o.MaxQueue)}, {Key: "max_batch_size", Value: strconv.Itoa(o.MaxBatchSize)},
		{Key: "max_batch_delay", Value: o.MaxBatchDelay.String()}, {Key: "workers", Value: strconv.Itoa(o.Workers)},
		{Key: "watch_interval", Value: o.WatchInterval.String()},
	}
	if o.FollowRollout {
		u, _ := pkgformat.ParseURI(o.ModelURI) // validated
		if err := c.SetTag(ctx, id, rollout.RunModelTag, u.Name); err != nil {
			_ = c.Close(ctx)
			return nil, err
		}
		params = append(params, tracking.Param{Key: "follow_rollout", Value: "true"})
	}
	if pl != nil {
		params = append(params, tracking.Param{Key: "payload_log_sample", Value: strconv.FormatFloat(o.PayloadSample, 'g', -1, 64)})
		if len(o.PayloadExclude) > 0 {
			params = append(params, tracking.Param{Key: "payload_log_exclude", Value: strings.Join(o.PayloadExclude, ",")})
		}
	}
	if o.CanaryURI != "" {
		params = append(params, tracking.Param{Key: "canary_uri", Value: o.CanaryURI},
			tracking.Param{Key: "canary_percent", Value: strconv.Itoa(o.CanaryPercent)})
	}
	if err := c.LogBatch(ctx, id, nil, params, nil); err != nil {
		_ = c.Close(ctx)
		return nil, err
	}
	if cm := srv.Canary(); cm != nil {
		if err := c.SetTag(ctx, id, "mlgate.canary_version", cm.Version); err != nil {
			_ = c.Close(ctx)
			return nil, err
		}
	}
	st, err := srv.Stats()
	if err != nil {
		_ = c.Close(ctx)
		return nil, err
	}
	r := &servingRun{
		c: c, srv: srv, log: o.Logger, runID: id, interval: o.LogInterval, payloads: pl,
		first: st, prev: st, start: time.Now(), last: time.Now(),
		stop: make(chan struct{}), stopped: make(chan struct{}),
	}
	if m.Dir != "" {
		r.mlmodel, _ = os.ReadFile(filepath.Join(m.Dir, "MLmodel"))
	}
	if pl != nil {
		// records before the run are counted in its first step
		pl.run.Store(r)
	}
	go r.loop(context.WithoutCancel(ctx)) // the run outlives the start-up context
	o.Logger.Info("logging the serving run", slog.String("run_id", id), slog.String("experiment_id", expID),
		slog.String("tracking_uri", c.TrackingURI()), slog.Duration("interval", r.interval))
	return r, nil
}

// versionTagger returns what records a version switch on the run (tags
// mlgate.model_version and mlgate.canary_version), or nil without a run.
func (r *servingRun) versionTagger() func(ctx context.Context, role, version string) {
	if r == nil {
		return nil
	}
	return func(ctx context.Context, role, version string) {
		tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := r.c.SetTag(tctx, r.runID, "mlgate."+role+"_version", version); err != nil {
			r.log.Warn("tagging the serving run with the new version", slog.String("run_id", r.runID), slog.String("error", err.Error()))
		}
	}
}

// experimentID finds the experiment by name, creating it when missing.
func experimentID(ctx context.Context, c *tracking.Client, name string) (string, error) {
	exp, err := c.GetExperimentByName(ctx, name)
	if err == nil {
		return exp.ExperimentID, nil
	}
	if !errors.Is(err, tracking.ErrNotFound) {
		return "", err
	}
	id, cerr := c.CreateExperiment(ctx, name)
	if cerr != nil {
		// another replica may have created it meanwhile
		if exp, err := c.GetExperimentByName(ctx, name); err == nil {
			return exp.ExperimentID, nil
		}
		return "", cerr
	}
	return id, nil
}

func (r *servingRun) loop(base context.Context) {
	defer close(r.stopped)
	t := time.NewTicker(r.interval)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(base, r.interval)
			if err := r.tick(ctx); err != nil {
				r.log.Warn("logging serving metrics", slog.String("run_id", r.runID), slog.String("error", err.Error()))
			}
			cancel()
		}
	}
}

// tick logs the figures since the last step as the next step. A step
// that fails is sent again as it is at the next tick, alone (never folded
// into the next step, which would count its requests twice when the
// server stored it after all); the figures of the ticks until it gets
// through are folded into the step after it.
func (r *servingRun) tick(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pending != nil {
		if err := r.c.LogBatch(ctx, r.runID, r.pending, nil, nil); err != nil {
			return err
		}
		r.pending = nil
		return nil
	}
	st, err := r.srv.Stats()
	if err != nil {
		return err
	}
	now := time.Now()
	d := st.Sub(r.prev)
	ms := intervalMetrics(d, now.Sub(r.last))
	ms["requests_total"] = float64(st.Requests - r.first.Requests)
	maps.Copy(ms, versionMetrics(d))
	if r.payloads != nil {
		logged, dropped := r.payloads.counts()
		ms["payloads_logged"] = float64(logged - r.prevLogged)
		ms["payloads_dropped"] = float64(dropped - r.prevDropped)
		r.prevLogged, r.prevDropped = logged, dropped
	}
	metrics := make([]tracking.Metric, 0, len(ms))
	for k, v := range ms {
		metrics = append(metrics, tracking.Metric{Key: k, Value: tracking.Float(v),
			Timestamp: tracking.Int64(now.UnixMilli()), Step: tracking.Int64(r.step)})
	}
	r.prev, r.last = st, now
	r.step++
	if err := r.c.LogBatch(ctx, r.runID, metrics, nil, nil); err != nil {
		r.pending = metrics
		return err
	}
	return nil
}

// flush logs a pending step, then the last interval.
func (r *servingRun) flush(ctx context.Context) error {
	r.mu.Lock()
	pending := r.pending != nil
	r.mu.Unlock()
	if err := r.tick(ctx); err != nil || !pending {
		return err
	}
	return r.tick(ctx)
}

// intervalMetrics are the metrics of one interval; latency and mean times
// only when there was something to time.
func intervalMetrics(d serve.Stats, period time.Duration) map[string]float64 {
	m := map[string]float64{
		"requests":      float64(d.Requests),
		"client_errors": float64(d.ClientErrors),
		"server_errors": float64(d.ServerErrors),
	}
	if period > 0 {
		m["requests_per_second"] = float64(d.Requests) / period.Seconds()
	}
	if d.Requests > 0 {
		for _, q := range []struct {
			key string
			q   float64
		}{{"latency_p50_ms", 0.5}, {"latency_p90_ms", 0.9}, {"latency_p99_ms", 0.99}} {
			if v := d.LatencyQuantile(q.q); !math.IsNaN(v) {
				m[q.key] = v * 1000
			}
		}
	}
	if d.Calls > 0 {
		m["inference_mean_ms"] = d.InferenceSeconds / float64(d.Calls) * 1000
	}
	if d.Waits > 0 {
		m["queue_mean_ms"] = d.QueueSeconds / float64(d.Waits) * 1000
	}
	if d.Batches > 0 {
		m["rows_per_call"] = d.Rows / float64(d.Batches)
	}
	return m
}

// versionMetrics are the per-version metrics of one interval (see package
// rollout): for each version that answered requests, its counts and
// latency; for each that shadow traffic was mirrored to, the mirrors. A
// version that did neither logs nothing.
func versionMetrics(d serve.Stats) map[string]float64 {
	m := map[string]float64{}
	for v, vs := range d.Versions {
		if v == "" {
			continue
		}
		if vs.Requests > 0 {
			m[rollout.MetricRequests(v)] = float64(vs.Requests)
			m[rollout.MetricErrors4xx(v)] = float64(vs.ClientErrors)
			m[rollout.MetricErrors5xx(v)] = float64(vs.ServerErrors)
			if p := vs.LatencyQuantile(0.5); !math.IsNaN(p) {
				m[rollout.MetricLatencyP50(v)] = p * 1000
			}
			if p := vs.LatencyQuantile(0.99); !math.IsNaN(p) {
				m[rollout.MetricLatencyP99(v)] = p * 1000
			}
		}
		if vs.ShadowRequests > 0 || vs.ShadowDropped > 0 {
			m[rollout.MetricShadowRequests(v)] = float64(vs.ShadowRequests)
			m[rollout.MetricShadowDisagreements(v)] = float64(vs.ShadowDisagreements)
			m[rollout.MetricShadowDropped(v)] = float64(vs.ShadowDropped)
		}
	}
	return m
}

// servingSummary is serving/summary.json.
type servingSummary struct {
	ModelURI      string             `json:"model_uri"`
	ModelName     string             `json:"model_name"`
	ModelVersion  string             `json:"model_version,omitempty"`
	Flavor        string             `json:"flavor"`
	Started       time.Time          `json:"started"`
	Ended         time.Time          `json:"ended"`
	Status        string             `json:"status"`
	Error         string             `json:"error,omitempty"`
	MLgateVersion string             `json:"mlgate_version"`
	Totals        map[string]float64 `json:"totals"`
}

// finish logs the last interval, the summary and the MLmodel, and ends
// the run FINISHED, or FAILED when serving ended with serveErr.
func (r *servingRun) finish(ctx context.Context, o ServeOptions, serveErr error) error {
	close(r.stop)
	<-r.stopped
	defer func() { _ = r.c.Close(ctx) }()
	errs := []error{r.flush(ctx)}
	r.mu.Lock()
	all, err := r.srv.Stats()
	r.mu.Unlock()
	errs = append(errs, err)
	status := tracking.StatusFinished
	sum := servingSummary{ModelURI: o.ModelURI, Started: r.start.UTC(), Ended: time.Now().UTC(),
		MLgateVersion: version.Version, Status: string(status)}
	if serveErr != nil {
		status = tracking.StatusFailed
		sum.Status, sum.Error = string(status), serveErr.Error()
	}
	if m := r.srv.Model(); m != nil {
		sum.ModelName, sum.ModelVersion, sum.Flavor = m.Name, m.Version, m.Flavor
	}
	if err == nil {
		sum.Totals = intervalMetrics(all.Sub(r.first), sum.Ended.Sub(sum.Started))
		if r.payloads != nil {
			logged, dropped := r.payloads.counts()
			sum.Totals["payloads_logged"], sum.Totals["payloads_dropped"] = float64(logged), float64(dropped)
		}
	}
	errs = append(errs, r.logArtifacts(ctx, sum))
	errs = append(errs, r.c.SetTerminated(ctx, r.runID, status))
	return errors.Join(errs...)
}

// logArtifacts uploads serving/summary.json and serving/MLmodel.
func (r *servingRun) logArtifacts(ctx context.Context, sum servingSummary) error {
	dir, err := os.MkdirTemp("", "mlgate-serving-run-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	b, err := json.MarshalIndent(sum, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "summary.json"), append(b, '\n'), 0o600); err != nil {
		return err
	}
	if r.mlmodel != nil {
		if err := os.WriteFile(filepath.Join(dir, "MLmodel"), r.mlmodel, 0o600); err != nil {
			return err
		}
	}
	return r.c.LogArtifacts(ctx, r.runID, dir, "serving")
}
