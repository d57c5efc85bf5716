package serve

import (
	"net/http"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/mlgate/mlgate/payloads"
)

// discard is an http.ResponseWriter that keeps nothing.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

// BenchmarkPayloadPipeline is payload logging's whole cost for one
// request without the rest of the handler: capturing the body and the
// answer, handing them to a payloads.Logger, and its writer encoding and
// writing the line. cpu-ns/op is the process's CPU time per request, the
// writer's included; requests come in bursts of 1000, each written
// before the next so that none is dropped.
func BenchmarkPayloadPipeline(b *testing.B) {
	l, err := payloads.New(payloads.Options{Dir: b.TempDir(), Sample: 1, Queue: 2048})
	if err != nil {
		b.Fatal(err)
	}
	s := &Server{opts: Options{Name: "linear", Payloads: l}}
	c, _ := gin.CreateTestContext(&discard{h: http.Header{}})
	base := c.Writer
	body := []byte(`{"dataframe_split": {"columns": ["x1", "x2", "x3"], "data": [[1.0, 2.0, 3.0], [0.0, 0.0, 0.0], [-1.5, 4.0, 2.5]]}}`)
	answer := []byte(`{"predictions": [{"variable": 4.75}, {"variable": 0.75}, {"variable": 0.0}]}`)
	const burst = 1000
	n := uint64(0)
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		c.Writer = base
		start := time.Now()
		pc := s.capturePayload(c, "/invocations")
		keepRequest(c, body)
		_, _ = c.Writer.Write(answer)
		s.logPayload(c, pc, start, time.Since(start), "/invocations", "3", http.StatusOK)
		if n++; n%burst == 0 {
			for l.Logged()+l.Dropped() < n {
				time.Sleep(time.Millisecond)
			}
		}
	}
	_ = l.Close(b.Context())
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(l.Dropped())/float64(b.N), "dropped/op")
}
