package bench

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ServingRun is one scoring server (or floor) on one model.
type ServingRun struct {
	Key     string `json:"key"`     // system and variant, e.g. "mlgate onnx batching"
	System  string `json:"system"`  // mlgate, mlflow, mlserver, floor
	Model   string `json:"model"`   // linear, iris_rf, mlp, sklearn_pipeline, const
	Variant string `json:"variant"` // free text: batching, workers
	// Baseline is the Key of the run on the same model that ratios compare to.
	Baseline     string        `json:"baseline,omitempty"`
	Command      string        `json:"command,omitempty"`
	Protocol     string        `json:"protocol,omitempty"`
	StartToFirst time.Duration `json:"start_to_first_prediction_ns,omitempty"`
	IdleRSS      uint64        `json:"idle_rss_bytes,omitempty"`
	PeakRSS      uint64        `json:"peak_rss_bytes,omitempty"`
	PeakHWM      uint64        `json:"peak_hwm_sum_bytes,omitempty"`
	Closed       []Result      `json:"closed"`
	Open         *Result       `json:"open,omitempty"`
	Err          string        `json:"error,omitempty"`
}

// TrackingOp is one tracking API call measured at several concurrencies.
type TrackingOp struct {
	Op      string   `json:"op"`
	Results []Result `json:"results"`
}

// TrackingRun is one tracking server.
type TrackingRun struct {
	System       string        `json:"system"`
	Command      string        `json:"command,omitempty"`
	StartToFirst time.Duration `json:"start_to_first_answer_ns,omitempty"`
	IdleRSS      uint64        `json:"idle_rss_bytes,omitempty"`
	PeakRSS      uint64        `json:"peak_rss_bytes,omitempty"`
	SeedRuns     int           `json:"seed_runs"`
	SeedTime     time.Duration `json:"seed_ns"`
	Ops          []TrackingOp  `json:"ops"`
	Err          string        `json:"error,omitempty"`
}

// Target is one goal from the issues, evaluated (not asserted).
type Target struct {
	Status string `json:"status"` // PASS, MISS or N/A
	Name   string `json:"name"`
	Detail string `json:"detail"`
}

// Report is everything one benchmark run measured.
type Report struct {
	Started  time.Time     `json:"started"`
	Elapsed  time.Duration `json:"elapsed_ns"`
	Quick    bool          `json:"quick"`
	Machine  Machine       `json:"machine"`
	Settings []string      `json:"settings"`
	Serving  []ServingRun  `json:"serving"`
	Tracking []TrackingRun `json:"tracking"`
	Targets  []Target      `json:"targets"`
	Notes    []string      `json:"notes"`
	// Images is the image build and run measurement (nil when not run).
	Images *ImageRun `json:"images,omitempty"`
	// RowCost is ONNX Runtime's own time per row of a model at a batch
	// size, in this process without HTTP or JSON (model -> batch -> ns).
	RowCost map[string]map[int]float64 `json:"row_cost_ns,omitempty"`
}

// ImageRun is one run of the image benchmarks on the example ONNX model.
type ImageRun struct {
	// Base is the runtime base image the model image was built on.
	Base string `json:"base"`
	// Compressed and Uncompressed are the model image's layer bytes;
	// Base* the base's alone.
	Compressed       int64 `json:"compressed_bytes"`
	Uncompressed     int64 `json:"uncompressed_bytes"`
	BaseCompressed   int64 `json:"base_compressed_bytes"`
	BaseUncompressed int64 `json:"base_uncompressed_bytes"`
	// VenvBytes is a venv with mlflow and the model's requirements, what
	// mlflow's build-docker installs on top of its Python base (0: not
	// measured).
	VenvBytes int64 `json:"mlflow_venv_bytes"`
	// BuildFirst is the first build-docker of the run; BuildWarm the
	// following ones.
	BuildFirst time.Duration   `json:"build_first_ns"`
	BuildWarm  []time.Duration `json:"build_warm_ns"`
	// ContainerFirst is `runc run` start to the first successful
	// prediction; HostFirst the same for `mlgate models serve` on the host.
	ContainerFirst []time.Duration `json:"container_first_prediction_ns"`
	HostFirst      []time.Duration `json:"host_first_prediction_ns"`
}

// Find returns the serving run with key on model.
func (r *Report) Find(key, model string) *ServingRun {
	for i := range r.Serving {
		if r.Serving[i].Key == key && r.Serving[i].Model == model {
			return &r.Serving[i]
		}
	}
	return nil
}

// At returns the closed-loop result at concurrency c.
func (s *ServingRun) At(c int) *Result {
	if s == nil {
		return nil
	}
	for i := range s.Closed {
		if s.Closed[i].Concurrency == c {
			return &s.Closed[i]
		}
	}
	return nil
}

// Op returns the tracking op's result at concurrency c.
func (t *TrackingRun) Op(op string, c int) *Result {
	if t == nil {
		return nil
	}
	for _, o := range t.Ops {
		if o.Op != op {
			continue
		}
		for i := range o.Results {
			if o.Results[i].Concurrency == c {
				return &o.Results[i]
			}
		}
	}
	return nil
}

// Ms formats d in milliseconds with three significant digits.
func Ms(d time.Duration) string {
	if d <= 0 {
		return "–"
	}
	if ms := float64(d) / 1e6; ms >= 100 {
		return fmt.Sprintf("%.0f", ms)
	}
	return fmt.Sprintf("%.3g", float64(d)/1e6)
}

// Us formats d in microseconds, "–" for 0 (not measured).
func Us(d time.Duration) string {
	if d <= 0 {
		return "–"
	}
	return strconv.FormatFloat(float64(d)/1e3, 'f', 0, 64)
}

// MB formats a byte count in MiB.
func MB(b uint64) string {
	if b == 0 {
		return "–"
	}
	return fmt.Sprintf("%.0f", float64(b)/(1<<20))
}

// Ratio formats a/b as "×N" ("" when either is missing).
func Ratio(a, b float64) string {
	if a <= 0 || b <= 0 || math.IsNaN(a/b) {
		return ""
	}
	switch r := a / b; {
	case r >= 100:
		return fmt.Sprintf("×%.0f", r)
	case r >= 0.01:
		return fmt.Sprintf("×%.3g", r)
	default:
		return fmt.Sprintf("×%.1e", r)
	}
}

// Rate formats a request rate: whole numbers, two significant digits below 10.
func Rate(r float64) string {
	if r > 0 && r < 10 {
		return fmt.Sprintf("%.2g", r)
	}
	return fmt.Sprintf("%.0f", r)
}

// Write renders the report to dir/benchmarks.md with charts and raw JSON in
// dir/benchmarks-raw/.
func Write(dir string, r *Report) error {
	raw := filepath.Join(dir, "benchmarks-raw")
	if err := os.MkdirAll(raw, 0o755); err != nil {
		return err
	}
	js, err := json.MarshalIndent(r, "", " ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(raw, "results.json"), append(js, '\n'), 0o644); err != nil {
		return err
	}
	charts, err := writeCharts(raw, r)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "benchmarks.md"), []byte(markdown(r, charts)), 0o644)
}

func models(r *Report) []string {
	var ms []string
	for _, s := range r.Serving {
		if !slices.Contains(ms, s.Model) {
			ms = append(ms, s.Model)
		}
	}
	return ms
}

func markdown(r *Report, charts map[string][]string) string {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	mode := "full"
	if r.Quick {
		mode = "quick (BENCH_QUICK=1: short runs, fewer points; not for quoting)"
	}
	p("# Benchmarks\n\n")
	p("Generated by `make bench` (`go run ./bench/cmd/benchrun`) on %s, %s run, %s wall time. ",
		r.Started.UTC().Format("2006-01-02 15:04 UTC"), mode, r.Elapsed.Round(time.Second))
	p("Every number below comes from this one run on this one machine; each figure stands next to its baseline " +
		"from the same run as a ratio. Raw results: [benchmarks-raw/results.json](benchmarks-raw/results.json).\n\n")
	m := r.Machine
	p("**Machine:** %s, %d logical CPUs, %.1f GiB RAM, Linux %s, %s, %s; load average at start %s. ",
		m.CPU, m.CPUs, float64(m.MemTotal)/(1<<30), m.Kernel, m.OS, m.GoVersion, m.LoadAvg)
	p("The load generator runs on the same machine and shares its CPUs with the server under test.\n\n")
	p("**Reproduce:** `make bench` (full run, about 20 minutes; rewrites this file and benchmarks-raw/) or " +
		"`BENCH_QUICK=1 make bench` (smoke run under `make test`: every system starts, answers and yields numbers; " +
		"results go to a temporary folder). `go run ./bench/cmd/benchrun -h` lists the flags (`-only KEY,...` runs " +
		"some systems or models, `-no-tracking`, `-no-serving`). MLServer lives in its own venv " +
		"(`scripts/venv.sh bench/requirements-mlserver.txt`, created on first use) because its pins differ from interop/'s.\n\n")
	p("**Long runs, in files of their own:** [benchmarks-raw/search-curve.md](benchmarks-raw/search-curve.md), runs/search latency " +
		"against experiment size (1k to 100k runs; SQLite, PostgreSQL, mlflow server) with writers running (`make search-curve`); " +
		"[benchmarks-raw/soak.md](benchmarks-raw/soak.md), models serve and server at 70%% of capacity with memory, open files, " +
		"goroutines and p99 per minute (`make soak`, SOAK_DURATION, default 30m).\n\n")
	p("**Method:**\n\n")
	for _, s := range r.Settings {
		p("- %s\n", s)
	}
	p("\n## Targets from the issues\n\n")
	for _, t := range r.Targets {
		p("- **%s** %s — %s\n", t.Status, t.Name, t.Detail)
	}
	p("\n## Serving\n\n")
	p("Closed loop (each sender sends its next request when the previous answers). req/s counts successful " +
		"answers only; latencies in milliseconds; ratios are against the row's baseline (named in the table) at the same concurrency: " +
		"throughput ratio > 1 and latency ratio < 1 mean faster than the baseline.\n\n")
	for _, model := range models(r) {
		p("### Model `%s`\n\n", model)
		for _, c := range charts[model] {
			p("![%s](benchmarks-raw/%s)\n", c, c)
		}
		p("\n| system | c | req/s | vs baseline | p50 | vs baseline | p90 | p99 | vs baseline | p99.9 | errors | server CPU µs/req | load gen CPU µs/req |\n")
		p("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
		for i := range r.Serving {
			s := &r.Serving[i]
			if s.Model != model {
				continue
			}
			if s.Err != "" {
				p("| %s | – | failed | | | | | | | | %s | | |\n", s.Key, oneLine(s.Err, 160))
				continue
			}
			base := r.Find(s.Baseline, model)
			for _, res := range s.Closed {
				bres := base.At(res.Concurrency)
				var bt, b50, b99 float64
				if bres != nil {
					bt, b50, b99 = bres.Throughput, float64(bres.Latency.P50), float64(bres.Latency.P99)
				}
				vs := ""
				if base != nil {
					vs = " (vs " + base.Key + ")"
				}
				p("| %s%s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", s.Key, vs, res.Concurrency,
					Rate(res.Throughput), Ratio(res.Throughput, bt), Ms(res.Latency.P50), Ratio(float64(res.Latency.P50), b50),
					Ms(res.Latency.P90), Ms(res.Latency.P99), Ratio(float64(res.Latency.P99), b99), Ms(res.Latency.P999),
					errCell(res), Us(res.PerRequest(res.ServerCPU)), Us(res.PerRequest(res.ClientCPU)))
			}
		}
		p("\nOpen loop (fixed arrival rate, latency from the intended send time, so queueing is charged):\n\n")
		p("| system | rate/s | achieved req/s | p50 | p90 | p99 | p99.9 | errors | missed |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
		for i := range r.Serving {
			s := &r.Serving[i]
			if s.Model != model || s.Open == nil {
				continue
			}
			o := s.Open
			p("| %s | %.0f | %s | %s | %s | %s | %s | %s | %d |\n", s.Key, o.Rate, Rate(o.Throughput), Ms(o.Latency.P50),
				Ms(o.Latency.P90), Ms(o.Latency.P99), Ms(o.Latency.P999), errCell(*o), o.Missed)
		}
		p("\n")
	}
	p("### Start-up and memory\n\n")
	p("Start = from process start to the first successful prediction. RSS = summed VmRSS of the server's process " +
		"group and descendants (workers included): idle 1 s after start-up, and the peak sampled every 50 ms under load.\n\n")
	p("| system | model | start ms | vs baseline | idle RSS MiB | vs baseline | peak RSS MiB | vs baseline |\n|---|---|---:|---:|---:|---:|---:|---:|\n")
	for i := range r.Serving {
		s := &r.Serving[i]
		if s.System == "floor" || s.Err != "" {
			continue
		}
		base := r.Find(s.Baseline, s.Model)
		var bs, bi, bp float64
		if base != nil {
			bs, bi, bp = float64(base.StartToFirst), float64(base.IdleRSS), float64(base.PeakRSS)
		}
		p("| %s | %s | %s | %s | %s | %s | %s | %s |\n", s.Key, s.Model, Ms(s.StartToFirst), Ratio(float64(s.StartToFirst), bs),
			MB(s.IdleRSS), Ratio(float64(s.IdleRSS), bi), MB(s.PeakRSS), Ratio(float64(s.PeakRSS), bp))
	}
	p("\n### Commands\n\n")
	for i := range r.Serving {
		if s := &r.Serving[i]; s.Command != "" {
			p("- %s / %s: `%s` (%s)\n", s.Key, s.Model, s.Command, s.Protocol)
		}
	}
	trackingMarkdown(&b, r, charts["tracking"])
	imagesMarkdown(&b, r.Images)
	if len(r.Notes) > 0 {
		p("\n## Notes\n\n")
		for _, n := range r.Notes {
			p("- %s\n", n)
		}
	}
	return b.String()
}

func trackingMarkdown(b *strings.Builder, r *Report, charts []string) {
	p := func(format string, a ...any) { fmt.Fprintf(b, format, a...) }
	if len(r.Tracking) == 0 {
		return
	}
	p("\n## Tracking server\n\n")
	for _, c := range charts {
		p("![%s](benchmarks-raw/%s)\n", c, c)
	}
	var base *TrackingRun
	for i := range r.Tracking {
		if r.Tracking[i].System == "mlflow server" {
			base = &r.Tracking[i]
		}
	}
	p("\nRatios are against `mlflow server` (same op, same concurrency).\n\n")
	p("| system | op | c | req/s | vs mlflow | p50 | vs mlflow | p99 | vs mlflow | server CPU µs/req | errors |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for i := range r.Tracking {
		t := &r.Tracking[i]
		if t.Err != "" {
			p("| %s | – | – | failed | | | | | | | %s |\n", t.System, oneLine(t.Err, 160))
			continue
		}
		for _, o := range t.Ops {
			for _, res := range o.Results {
				var bt, b50, b99 float64
				if br := base.Op(o.Op, res.Concurrency); br != nil && t != base {
					bt, b50, b99 = br.Throughput, float64(br.Latency.P50), float64(br.Latency.P99)
				}
				p("| %s | %s | %d | %s | %s | %s | %s | %s | %s | %s | %s |\n", t.System, o.Op, res.Concurrency, Rate(res.Throughput),
					Ratio(res.Throughput, bt), Ms(res.Latency.P50), Ratio(float64(res.Latency.P50), b50), Ms(res.Latency.P99),
					Ratio(float64(res.Latency.P99), b99), Us(res.PerRequest(res.ServerCPU)), errCell(res))
			}
		}
	}
	p("\n| system | seeded runs | seed time s | start ms | idle RSS MiB | peak RSS MiB | command |\n|---|---:|---:|---:|---:|---:|---|\n")
	for _, t := range r.Tracking {
		p("| %s | %d | %.1f | %s | %s | %s | `%s` |\n", t.System, t.SeedRuns, t.SeedTime.Seconds(), Ms(t.StartToFirst),
			MB(t.IdleRSS), MB(t.PeakRSS), t.Command)
	}
}

func errCell(r Result) string {
	if r.Errors == 0 {
		return "0"
	}
	return fmt.Sprintf("%d (%s)", r.Errors, oneLine(r.FirstError, 80))
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	s = strings.ReplaceAll(s, "|", "/")
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}

func imagesMarkdown(b *strings.Builder, im *ImageRun) {
	if im == nil {
		return
	}
	p := func(format string, a ...any) { fmt.Fprintf(b, format, a...) }
	mb := func(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }
	p("\n## Images\n\n")
	p("`mlgate models build-docker -m examples/models/linear --base <make image's runtime base> -o DIR` (no Docker daemon), ")
	p("then the image unpacked with umoci and run with runc on the host network; the same server started as a host process is the baseline. ")
	p("Sizes are the layers' bytes, gzip-compressed as stored and uncompressed.\n\n")
	p("| what | value | baseline | ratio |\n|---|---:|---:|---:|\n")
	venv, ratio := "not measured (full runs only)", ""
	if im.VenvBytes > 0 {
		venv, ratio = mb(im.VenvBytes)+" (venv with mlflow 3.17.2 + the model's requirements, before any Python base)", Ratio(float64(im.Uncompressed), float64(im.VenvBytes))
	}
	p("| model image, uncompressed | %s (base %s) | %s | %s |\n", mb(im.Uncompressed), mb(im.BaseUncompressed), venv, ratio)
	p("| model image, compressed | %s (base %s) | | |\n", mb(im.Compressed), mb(im.BaseCompressed))
	p("| build-docker, first of the run | %s ms | | |\n", Ms(im.BuildFirst))
	p("| build-docker, warm (median of %d) | %s ms | | |\n", len(im.BuildWarm), Ms(Median(im.BuildWarm)))
	c, h := Median(im.ContainerFirst), Median(im.HostFirst)
	p("| runc run to first prediction (median of %d) | %s ms | %s ms (models serve on the host) | %s |\n",
		len(im.ContainerFirst), Ms(c), Ms(h), Ratio(float64(c), float64(h)))
}

// Median returns the median of ds (0 for none).
func Median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
