package rollout

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/mlgate/mlgate/tracking"
)

// figureNames are the per-version metrics a replica logs (metrics.go).
var figureNames = []string{Requests, Errors4xx, Errors5xx, LatencyP50, LatencyP99, ShadowRequests, ShadowDisagreements, ShadowDropped}

// setFigure stores one metric value in an interval's figures.
func setFigure(f *Figures, figure string, v float64) {
	switch figure {
	case Requests:
		f.Requests = v
	case Errors4xx:
		f.Errors4xx = v
	case Errors5xx:
		f.Errors5xx = v
	case LatencyP50:
		f.P50Ms = v
	case LatencyP99:
		f.P99Ms = v
	case ShadowRequests:
		f.ShadowRequests = v
	case ShadowDisagreements:
		f.ShadowDisagreements = v
	case ShadowDropped:
		f.ShadowDropped = v
	}
}

// SumRun adds up one serving run's intervals of version that ended in the
// window (from, to] (Unix ms), given the run's metric histories by key.
func SumRun(history map[string][]tracking.Metric, version string, from, to int64) Figures {
	steps := map[int64]*Figures{}
	var order []int64
	for _, name := range figureNames {
		for _, m := range history[VersionMetric(version, name)] {
			ts := int64(m.Timestamp)
			if ts <= from || ts > to {
				continue
			}
			f, ok := steps[int64(m.Step)]
			if !ok {
				f = &Figures{}
				steps[int64(m.Step)] = f
				order = append(order, int64(m.Step))
			}
			setFigure(f, name, float64(m.Value))
		}
	}
	var sum Figures
	for _, s := range order {
		sum.AddInterval(*steps[s])
	}
	return sum
}

// historyReaders bounds the metric histories read at once: an analysis
// reads one per run, version and figure, and a slow tracking server
// would otherwise stretch the tick by their sum.
const historyReaders = 8

// maxRunPages bounds the serving runs read per analysis (1,000 a page).
const maxRunPages = 10

// Window reads the figures of versions in (from, to] from the serving
// runs of model in experiment, summed across the runs (one per replica).
// A missing experiment means no replica logged yet: no figures.
func Window(ctx context.Context, tc *tracking.Client, experiment, model string, from, to time.Time, versions ...string) (map[string]Figures, int, error) {
	out := make(map[string]Figures, len(versions))
	for _, v := range versions {
		out[v] = Figures{}
	}
	if strings.Contains(model, "'") {
		return nil, 0, fmt.Errorf("model name %q: a quote cannot be searched for in run tags", model)
	}
	exp, err := tc.GetExperimentByName(ctx, experiment)
	if errors.Is(err, tracking.ErrNotFound) {
		return out, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("serving experiment %q: %w", experiment, err)
	}
	fromMs, toMs := from.UnixMilli(), to.UnixMilli()
	var live []*tracking.Run
	token := ""
	for page := 0; page < maxRunPages; page++ {
		found, next, err := tc.SearchRuns(ctx, tracking.SearchRunsRequest{
			ExperimentIDs: []string{exp.ExperimentID},
			Filter:        fmt.Sprintf(`tags."%s" = '%s'`, RunModelTag, model),
			MaxResults:    1000, OrderBy: []string{"attributes.start_time DESC"}, PageToken: token,
		})
		if err != nil {
			return nil, 0, fmt.Errorf("search the serving runs of %q: %w", model, err)
		}
		for i := range found {
			r := &found[i]
			if int64(r.Info.StartTime) > toMs ||
				(r.Info.Status != tracking.StatusRunning && r.Info.EndTime > 0 && int64(r.Info.EndTime) <= fromMs) {
				continue
			}
			live = append(live, r)
		}
		if token = next; token == "" {
			break
		}
	}
	hists, err := histories(ctx, tc, live, versions)
	if err != nil {
		return nil, 0, err
	}
	for _, hist := range hists {
		for _, v := range versions {
			f := out[v]
			f.add(SumRun(hist, v, fromMs, toMs))
			out[v] = f
		}
	}
	return out, len(live), nil
}

// add merges another run's window into f.
func (f *Figures) add(g Figures) {
	w50, w99 := f.p50Weight+g.p50Weight, f.p99Weight+g.p99Weight
	if w50 > 0 {
		f.P50Ms = (f.P50Ms*f.p50Weight + g.P50Ms*g.p50Weight) / w50
	}
	if w99 > 0 {
		f.P99Ms = (f.P99Ms*f.p99Weight + g.P99Ms*g.p99Weight) / w99
	}
	f.p50Weight, f.p99Weight = w50, w99
	f.Requests += g.Requests
	f.Errors4xx += g.Errors4xx
	f.Errors5xx += g.Errors5xx
	f.ShadowRequests += g.ShadowRequests
	f.ShadowDisagreements += g.ShadowDisagreements
	f.ShadowDropped += g.ShadowDropped
}

// histories reads, for each run, the histories of the versions' metrics
// it has, at most historyReaders at once.
func histories(ctx context.Context, tc *tracking.Client, runs []*tracking.Run, versions []string) ([]map[string][]tracking.Metric, error) {
	out := make([]map[string][]tracking.Metric, len(runs))
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(historyReaders)
	for i, r := range runs {
		out[i] = map[string][]tracking.Metric{}
		has := map[string]bool{}
		for _, m := range r.Data.Metrics {
			has[m.Key] = true
		}
		for _, v := range versions {
			for _, name := range figureNames {
				key := VersionMetric(v, name)
				if !has[key] {
					continue
				}
				g.Go(func() error {
					h, err := tc.GetMetricHistory(gctx, r.Info.RunID, key)
					if err != nil {
						return fmt.Errorf("serving run %s, metric %s: %w", r.Info.RunID, key, err)
					}
					mu.Lock()
					out[i][key] = h
					mu.Unlock()
					return nil
				})
			}
		}
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}
