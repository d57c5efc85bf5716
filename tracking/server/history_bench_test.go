package server_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/mlgate/mlgate/internal/db/dbtest"
	"github.com/mlgate/mlgate/tracking/server"
	"github.com/mlgate/mlgate/tracking/store"
)

// BenchmarkBulkIntervalHTTP is one get-history-bulk-interval call of a
// 200-run comparison's chart, through the handler: 100 runs of 10,000
// steps (one value per step), 100 points a run (SQLite; cpu-ms/op is the
// process CPU per call).
func BenchmarkBulkIntervalHTTP(b *testing.B) {
	ctx := context.Background()
	st, err := store.Open(ctx, dbtest.Open(b, dbtest.Backends()[0]), store.Options{DefaultArtifactRoot: "mlflow-artifacts:/"})
	if err != nil {
		b.Fatal(err)
	}
	q := url.Values{"metric_key": {"loss"}, "max_results": {"100"}}
	ms := make([]store.Metric, 10000)
	for r := range 100 {
		run, err := st.CreateRun(ctx, store.CreateRunInput{})
		if err != nil {
			b.Fatal(err)
		}
		q.Add("run_ids", run.Info.RunID)
		for i := range ms {
			ms[i] = store.Metric{Key: "loss", Value: float64(r + i), Timestamp: int64(i), Step: int64(i)}
		}
		for i := 0; i < len(ms); i += 1000 {
			if err := st.LogBatch(ctx, run.Info.RunID, ms[i:i+1000], nil, nil); err != nil {
				b.Fatal(err)
			}
		}
	}
	gin.SetMode(gin.TestMode)
	e := gin.New()
	server.New(server.Options{Store: st}).Mount(e)
	path := "/ajax-api/2.0/mlflow/metrics/get-history-bulk-interval?" + q.Encode()
	cpu0 := cpuTime()
	for b.Loop() {
		w := httptest.NewRecorder()
		e.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		if w.Code != http.StatusOK || w.Body.Len() < 100*100*50 {
			b.Fatalf("status %d, %d bytes", w.Code, w.Body.Len())
		}
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
}
