package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"
)

// The tracking mix of issue 20: writers create a run, log a batch of
// MixMetrics metrics and MixParams params and finish it; searchers ask for
// the runs of one writer whose metric m3 passes a bound, ordered by m3.
const (
	MixMetrics = 50
	MixParams  = 5
	// MixWriters is the number of writers whose id the tag w carries.
	MixWriters = 6
	MixFilter  = "tags.w = '1' and metrics.m3 > 0.1"
	MixOrderBy = "metrics.m3"
	// MixPage is the searchers' max_results: one page of MLflow's UI.
	MixPage = 100
)

// MixValue is the value of metric k of run i: deterministic, spread over
// [0, 1), so that loaders in any language write the same data.
func MixValue(i, k int64) float64 {
	return float64((i*7919+k*104729)%10007) / 10007
}

// MixTag is the tag w of run i: the id of the writer that made it.
func MixTag(i int64) string { return fmt.Sprint(i % MixWriters) }

// TrackingMix sends the mix to an MLflow tracking server.
type TrackingMix struct {
	Base   string // http://host:port
	Exp    string // experiment id
	Client *http.Client
	// Next numbers the runs the writers create; start it above the runs
	// already loaded so values keep their spread.
	Next atomic.Int64
}

func (m *TrackingMix) post(ctx context.Context, path string, body any, check func([]byte) error) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	r := &Request{URL: m.Base + path, ContentType: "application/json", Body: b, Check: check}
	return r.Do(ctx, m.Client)
}

// Write creates one run, logs its batch and finishes it (three requests).
func (m *TrackingMix) Write(ctx context.Context) error {
	i := m.Next.Add(1)
	now := time.Now().UnixMilli()
	var id string
	err := m.post(ctx, "/api/2.0/mlflow/runs/create", map[string]any{
		"experiment_id": m.Exp, "start_time": now, "run_name": fmt.Sprintf("mix-%d", i),
		"tags": []map[string]string{{"key": "w", "value": MixTag(i)}},
	}, func(b []byte) error {
		var out struct {
			Run struct {
				Info struct {
					RunID string `json:"run_id"`
				} `json:"info"`
			} `json:"run"`
		}
		if err := json.Unmarshal(b, &out); err != nil {
			return err
		}
		if id = out.Run.Info.RunID; id == "" {
			return errors.New("runs/create: no run_id")
		}
		return nil
	})
	if err != nil {
		return err
	}
	ms := make([]map[string]any, MixMetrics)
	for k := range ms {
		ms[k] = map[string]any{"key": fmt.Sprintf("m%d", k), "value": MixValue(i, int64(k)), "timestamp": now, "step": 0}
	}
	ps := make([]map[string]string, MixParams)
	for k := range ps {
		ps[k] = map[string]string{"key": fmt.Sprintf("p%d", k), "value": fmt.Sprint((i + int64(k)) % 100)}
	}
	if err := m.post(ctx, "/api/2.0/mlflow/runs/log-batch", map[string]any{"run_id": id, "metrics": ms, "params": ps}, nil); err != nil {
		return err
	}
	return m.post(ctx, "/api/2.0/mlflow/runs/update", map[string]any{"run_id": id, "status": "FINISHED", "end_time": time.Now().UnixMilli()}, nil)
}

// Search runs the mix's search and checks it found runs.
func (m *TrackingMix) Search(ctx context.Context) error {
	return m.post(ctx, "/api/2.0/mlflow/runs/search", map[string]any{
		"experiment_ids": []string{m.Exp}, "filter": MixFilter, "order_by": []string{MixOrderBy}, "max_results": MixPage,
	}, func(b []byte) error {
		var out struct {
			Runs []json.RawMessage `json:"runs"`
		}
		if err := json.Unmarshal(b, &out); err != nil {
			return err
		}
		if len(out.Runs) == 0 {
			return errors.New("runs/search found no run")
		}
		return nil
	})
}
