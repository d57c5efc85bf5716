package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/mlgate/mlgate/internal/db/dbtest"
	"github.com/mlgate/mlgate/tracking/server"
	"github.com/mlgate/mlgate/tracking/store"
)

// seedMix fills a new experiment with n runs shaped as issue 20's mix
// (50 metrics, 5 params, a tag w naming one of 6 writers, finished) and
// returns the experiment id.
func seedMix(tb testing.TB, st *store.Store, n int) string {
	tb.Helper()
	ctx := context.Background()
	exp, err := st.CreateExperiment(ctx, "mix", "", nil)
	if err != nil {
		tb.Fatal(err)
	}
	ms := make([]store.Metric, 50)
	ps := make([]store.Param, 5)
	for i := range n {
		r, err := st.CreateRun(ctx, store.CreateRunInput{ExperimentID: exp, RunName: fmt.Sprint("run-", i), StartTime: int64(1_700_000_000_000 + i),
			Tags: []store.Tag{{Key: "w", Value: fmt.Sprint(i % 6)}}})
		if err != nil {
			tb.Fatal(err)
		}
		for k := range ms {
			ms[k] = store.Metric{Key: fmt.Sprint("m", k), Value: float64((i*7919+k*104729)%10007) / 10007, Timestamp: int64(1_700_000_000_000 + i)}
		}
		for k := range ps {
			ps[k] = store.Param{Key: fmt.Sprint("p", k), Value: fmt.Sprint((i + k) % 100)}
		}
		if err := st.LogBatch(ctx, r.Info.RunID, ms, ps, nil); err != nil {
			tb.Fatal(err)
		}
		end := int64(1_700_000_001_000 + i)
		if _, err := st.UpdateRun(ctx, store.UpdateRunInput{RunID: r.Info.RunID, Status: store.StatusFinished, EndTime: &end}); err != nil {
			tb.Fatal(err)
		}
	}
	return exp
}

// mixServer opens a store on be and mounts the tracking handlers on it
// (a PostgreSQL backend needs MLGATE_TEST_POSTGRES_DSN, else b skips).
func mixServer(b *testing.B, be dbtest.Backend) (*store.Store, *gin.Engine) {
	if be.Name == "postgres" && os.Getenv("MLGATE_TEST_POSTGRES_DSN") == "" {
		b.Skip("MLGATE_TEST_POSTGRES_DSN not set")
	}
	st, err := store.Open(context.Background(), dbtest.Open(b, be), store.Options{DefaultArtifactRoot: "mlflow-artifacts:/"})
	if err != nil {
		b.Fatal(err)
	}
	gin.SetMode(gin.TestMode)
	e := gin.New()
	server.New(server.Options{Store: st}).Mount(e)
	return st, e
}

// BenchmarkSearchMixPage is issue 20's search (a page of 100 runs of 50
// metrics, 5 params and 2 tags) through the handler: store, encoding and
// all. Its CPU per search is flat in the experiment's size (the search
// walks an index and stops at the page), so 1200 runs stand for 100k.
func BenchmarkSearchMixPage(b *testing.B) {
	for _, be := range dbtest.Backends() {
		b.Run(be.Name, func(b *testing.B) {
			st, e := mixServer(b, be)
			exp := seedMix(b, st, 1200)
			runtime.GC() // the seeding's garbage is not the search's
			body := `{"experiment_ids":["` + exp + `"],"filter":"tags.w = '1' and metrics.m3 > 0.1","order_by":["metrics.m3"],"max_results":100}`
			b.ResetTimer()
			cpu0 := cpuTime()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, "/api/2.0/mlflow/runs/search", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				w := httptest.NewRecorder()
				e.ServeHTTP(w, req)
				if w.Code != http.StatusOK || w.Body.Len() < 100_000 {
					b.Fatalf("status %d, %d bytes", w.Code, w.Body.Len())
				}
				b.SetBytes(int64(w.Body.Len()))
			}
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
		})
	}
}

// BenchmarkWriteMix is one writer's turn of issue 20's mix through the
// handlers: runs/create, runs/log-batch of 50 metrics and 5 params,
// runs/update FINISHED.
func BenchmarkWriteMix(b *testing.B) {
	for _, be := range dbtest.Backends() {
		b.Run(be.Name, func(b *testing.B) {
			st, e := mixServer(b, be)
			exp, err := st.CreateExperiment(context.Background(), "mix", "", nil)
			if err != nil {
				b.Fatal(err)
			}
			post := func(path, body string) string {
				req := httptest.NewRequest(http.MethodPost, "/api/2.0/mlflow/runs/"+path, strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				w := httptest.NewRecorder()
				e.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("%s: status %d %s", path, w.Code, w.Body)
				}
				return w.Body.String()
			}
			var batch strings.Builder
			b.ResetTimer()
			cpu0 := cpuTime()
			for i := 0; b.Loop(); i++ {
				out := post("create", fmt.Sprintf(`{"experiment_id":%q,"start_time":%d,"run_name":"mix-%d","tags":[{"key":"w","value":"%d"}]}`, exp, 1_700_000_000_000+i, i, i%6))
				at := strings.Index(out, `"run_id":"`) + len(`"run_id":"`)
				id := out[at : at+32]
				batch.Reset()
				fmt.Fprintf(&batch, `{"run_id":%q,"metrics":[`, id)
				for k := range 50 {
					if k > 0 {
						batch.WriteByte(',')
					}
					fmt.Fprintf(&batch, `{"key":"m%d","value":%v,"timestamp":%d,"step":0}`, k, float64((i*7919+k*104729)%10007)/10007, 1_700_000_000_000+i)
				}
				batch.WriteString(`],"params":[`)
				for k := range 5 {
					if k > 0 {
						batch.WriteByte(',')
					}
					fmt.Fprintf(&batch, `{"key":"p%d","value":"%d"}`, k, (i+k)%100)
				}
				batch.WriteString(`]}`)
				post("log-batch", batch.String())
				post("update", fmt.Sprintf(`{"run_id":%q,"status":"FINISHED","end_time":%d}`, id, 1_700_000_001_000+i))
			}
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
		})
	}
}

// cpuTime is the user + system CPU time of this process so far: per
// search, a figure that other work on the machine does not inflate.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
