package bench

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// nines maps a quantile to the "number of nines" axis of latency charts:
// 0.9 → 1, 0.99 → 2.
func nines(q float64) float64 { return -math.Log10(1 - q) }

// writeCharts draws, per model, throughput against concurrency and the
// latency distribution at the highest common concurrency, plus tracking
// throughput; it returns the file names by model ("tracking" for the
// tracking chart).
func writeCharts(dir string, r *Report) (map[string][]string, error) {
	out := map[string][]string{}
	save := func(key, name string, c *Chart) error {
		var buf bytes.Buffer
		if err := c.Render(&buf); err != nil {
			return fmt.Errorf("chart %s: %w", name, err)
		}
		out[key] = append(out[key], name)
		return os.WriteFile(filepath.Join(dir, name), buf.Bytes(), 0o644)
	}
	for _, model := range models(r) {
		tp := &Chart{Title: "throughput vs concurrency, model " + model, XLabel: "concurrency", YLabel: "req/s", LogX: true, LogY: true}
		var concs []int
		for _, s := range r.Serving {
			if s.Model != model || s.Err != "" || len(s.Closed) == 0 {
				continue
			}
			ser := Series{Name: s.Key}
			for _, res := range s.Closed {
				ser.X = append(ser.X, float64(res.Concurrency))
				ser.Y = append(ser.Y, res.Throughput)
				if !slices.Contains(concs, res.Concurrency) {
					concs = append(concs, res.Concurrency)
				}
			}
			tp.Series = append(tp.Series, ser)
		}
		if len(tp.Series) == 0 {
			continue
		}
		slices.Sort(concs)
		for _, c := range concs {
			tp.XTicks = append(tp.XTicks, Tick{float64(c), fmt.Sprint(c)})
		}
		if len(concs) == 1 {
			tp.XTicks = append(tp.XTicks, Tick{float64(concs[0] * 2), ""})
		}
		if err := save(model, "serving-"+model+"-throughput.png", tp); err != nil {
			return nil, err
		}
		c := concs[len(concs)-1]
		if slices.Contains(concs, 16) {
			c = 16
		}
		lat := &Chart{Title: fmt.Sprintf("latency distribution at concurrency %d, model %s", c, model),
			XLabel: "percentile", YLabel: "ms", LogY: true}
		for _, q := range CurveQuantiles {
			if q == 0.5 || q == 0.9 || q == 0.99 || q == 0.999 || q == 0.9999 {
				lat.XTicks = append(lat.XTicks, Tick{nines(q), fmt.Sprintf("%g%%", q*100)})
			}
		}
		for _, s := range r.Serving {
			res := s.At(c)
			if s.Model != model || res == nil || len(res.Curve) != len(CurveQuantiles) {
				continue
			}
			ser := Series{Name: s.Key}
			for i, q := range CurveQuantiles {
				ser.X = append(ser.X, nines(q))
				ser.Y = append(ser.Y, float64(res.Curve[i])/1e6)
			}
			lat.Series = append(lat.Series, ser)
		}
		if err := save(model, "serving-"+model+"-latency.png", lat); err != nil {
			return nil, err
		}
	}
	tc := &Chart{Title: "tracking throughput vs concurrency", XLabel: "concurrency", YLabel: "req/s", LogX: true, LogY: true}
	var concs []int
	for _, t := range r.Tracking {
		for _, o := range t.Ops {
			op := strings.TrimPrefix(strings.TrimSuffix(o.Op, " (100 metrics)"), "runs/")
			ser := Series{Name: strings.TrimSuffix(t.System, " server") + " " + op}
			for _, res := range o.Results {
				ser.X = append(ser.X, float64(res.Concurrency))
				ser.Y = append(ser.Y, res.Throughput)
				if !slices.Contains(concs, res.Concurrency) {
					concs = append(concs, res.Concurrency)
				}
			}
			tc.Series = append(tc.Series, ser)
		}
	}
	if len(tc.Series) > 0 {
		slices.Sort(concs)
		for _, c := range concs {
			tc.XTicks = append(tc.XTicks, Tick{float64(c), fmt.Sprint(c)})
		}
		if len(concs) == 1 {
			tc.XTicks = append(tc.XTicks, Tick{float64(concs[0] * 2), ""})
		}
		tc.H = 600
		tc.W = 1000
		if err := save("tracking", "tracking-throughput.png", tc); err != nil {
			return nil, err
		}
	}
	return out, nil
}
