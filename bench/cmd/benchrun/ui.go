package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mlgate/mlgate/bench"
	"github.com/mlgate/mlgate/internal/db"
)

// The web UI benchmarks (issue 17), measured in headless Chromium (apt:
// chromium): the time from navigation to the first run rows visible for
// an experiment of uiRuns runs, in mlgate's UI and in MLflow's own UI
// served by `mlflow server` (each on its own SQLite store holding the same
// runs: mlgate does not open MLflow's schema); a long metric chart; the
// comparison of many runs; an experiment with thousands of distinct keys;
// and the compressed size of the bundle. Each page time is the median of
// uiRepeats loads from about:blank (one in a quick run). Readiness is
// polled every 20 ms, not on every animation frame: innerText forces a
// layout, and polling it each frame would slow the page being measured.
const uiRepeats = 3

const uiPoll = 20 * time.Millisecond

// uiSampled is the most points per run get-history-bulk-interval answers.
const uiSampled = 2500

// uiSizes are the data sizes of one run: full (make bench) or quick.
type uiSizes struct {
	runs, chartSteps, cmpRuns, cmpMetrics, cmpSteps, keyRuns, keysPerRun int
}

func uiSizesFor(quick bool) uiSizes {
	if quick {
		return uiSizes{runs: 200, chartSteps: 5000, cmpRuns: 20, cmpMetrics: 10, cmpSteps: 100, keyRuns: 10, keysPerRun: 100}
	}
	// The comparison is the issue's: 200 runs × 10 metrics × 10,000 steps
	// (uiLoadHistory writes them); the page has the server sample each
	// run's series (get-history-bulk-interval) to 100 points per run, and
	// the measure waits until every chart is drawn with all of them.
	return uiSizes{runs: 10000, chartSteps: 100000, cmpRuns: 200, cmpMetrics: 10, cmpSteps: 10000, keyRuns: 50, keysPerRun: 100}
}

// runUI runs the UI benchmarks and returns their targets.
func runUI(ctx context.Context, log *slog.Logger, cfg *config, fail func(string, error)) []bench.Target {
	sz := uiSizesFor(cfg.quick)
	var ts []bench.Target
	add := func(ok, known bool, name, detail string) {
		st := map[bool]string{true: "PASS", false: "MISS"}[ok]
		if !known {
			st = "N/A"
		}
		if cfg.quick && known {
			detail += " (quick run: smaller data, indicative only)"
		}
		ts = append(ts, bench.Target{Status: st, Name: name, Detail: detail})
	}
	size, err := bundleSize(filepath.Join(cfg.repo, "ui", "dist"))
	if err != nil {
		fail("ui bundle", err)
	}
	add(err == nil && size <= 300<<10, err == nil, "issue 17: compressed JS+CSS shipped ≤ 300 KB",
		fmt.Sprintf("%.1f KB gzip (ui/dist)", float64(size)/1024))
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		fail("ui", errors.New("chromium is not installed (apt-get install -y chromium)"))
		return ts
	}
	dir := filepath.Join(cfg.work, "ui")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fail("ui", err)
		return ts
	}
	br, closeBr, err := newBenchBrowser(ctx, chromium, dir)
	if err != nil {
		fail("ui browser", err)
		return ts
	}
	defer closeBr()
	br.out = cfg.out
	if cfg.quick {
		br.repeats = 1
	}

	// MLflow's UI on its own store of sz.runs runs (not in a quick run:
	// seeding and starting mlflow server there would cost a minute of the
	// smoke run's budget for a number the quick run cannot judge anyway).
	var mlflowFirst time.Duration
	mlflowErr := errors.New("not measured in a quick run")
	if !cfg.quick {
		if mlflowFirst, mlflowErr = uiMlflow(ctx, log, cfg, br, filepath.Join(dir, "mlflow"), sz.runs); mlflowErr != nil {
			fail("ui: mlflow server", mlflowErr)
		}
	}
	m, err := uiMlgate(ctx, log, cfg, br, filepath.Join(dir, "mlgate"), sz)
	if err != nil {
		fail("ui: mlgate server", err)
		if m.first == 0 {
			return ts
		}
	}
	other := "MLflow's UI: " + fmt.Sprint(mlflowErr)
	if mlflowErr == nil {
		other = "MLflow's own UI (mlflow server, same runs, same measure): " + bench.Ms(mlflowFirst) + " ms"
	}
	add(m.first <= time.Second, true, fmt.Sprintf("issue 17: %d runs, first rows visible ≤ 1 s", sz.runs),
		"mlgate "+bench.Ms(m.first)+" ms; "+other)
	add(m.chart <= time.Second, true, fmt.Sprintf("issue 17: %d-step metric chart drawn ≤ 1 s", sz.chartSteps),
		bench.Ms(m.chart)+fmt.Sprintf(" ms (the server's sample of %d points drawn, first to last step; a zoom fetches the steps in view)", min(sz.chartSteps, uiSampled)))
	add(m.compare <= 2*time.Second, m.compare > 0, fmt.Sprintf("issue 17: compare %d runs × %d metrics, charts drawn ≤ 2 s", sz.cmpRuns, sz.cmpMetrics),
		fmt.Sprintf("%s ms with %d steps per metric (every chart drawn with every run's sampled points, viewport tall enough to hold all); "+
			"server CPU %s ms per load; in the page (ms from navigation): runs read %.0f, %d sample calls from %.0f to %.0f (%.0f KB), all drawn %.0f",
			bench.Ms(m.compare), sz.cmpSteps, bench.Ms(m.cmpCPU), m.cmpPage.RunsEnd, m.cmpPage.Calls, m.cmpPage.SampleStart, m.cmpPage.SampleEnd, m.cmpPage.KB, m.cmpPage.Drawn))
	add(m.keys <= time.Second, true, fmt.Sprintf("issue 17: %d distinct keys, runs table usable ≤ 1 s", sz.keyRuns*sz.keysPerRun),
		fmt.Sprintf("rows visible %s ms; column picker listing the keys open %s ms after a click", bench.Ms(m.keys), bench.Ms(m.picker)))
	return ts
}

// bundleSize is the total size of the gzip twins of the JS and CSS.
func bundleSize(dist string) (int, error) {
	es, err := os.ReadDir(dist)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range es {
		if strings.HasSuffix(e.Name(), ".js.gz") || strings.HasSuffix(e.Name(), ".css.gz") {
			info, err := e.Info()
			if err != nil {
				return 0, err
			}
			n += int(info.Size())
		}
	}
	if n == 0 {
		return 0, fmt.Errorf("%s holds no compressed JS or CSS", dist)
	}
	return n, nil
}

// benchBrowser is a headless Chromium with a tall viewport.
type benchBrowser struct {
	ctx     context.Context //nolint:containedctx // chromedp addresses the browser tab by its context
	repeats int
	out     string // where a failed wait leaves its screenshot
}

// shot saves the page as out/name.png (best effort: it is for diagnosis).
func (b *benchBrowser) shot(name string) {
	var png []byte
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	if chromedp.Run(ctx, chromedp.CaptureScreenshot(&png)) == nil {
		_ = os.WriteFile(filepath.Join(b.out, name+".png"), png, 0o644)
	}
}

func newBenchBrowser(ctx context.Context, path, dir string) (*benchBrowser, func(), error) {
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.WindowSize(1280, 3000), chromedp.Flag("disable-dev-shm-usage", true), chromedp.UserDataDir(filepath.Join(dir, "chromium")))
	actx, cancelA := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancelB := chromedp.NewContext(actx)
	if err := chromedp.Run(bctx); err != nil {
		cancelB()
		cancelA()
		return nil, nil, fmt.Errorf("starting chromium: %w", err)
	}
	return &benchBrowser{ctx: bctx, repeats: uiRepeats}, func() { cancelB(); cancelA() }, nil
}

// measure loads url from about:blank until the JS expression ready is
// true, uiRepeats times, and returns the median time.
func (b *benchBrowser) measure(url, ready string, timeout time.Duration) (time.Duration, error) {
	var ds []time.Duration
	for range b.repeats {
		if err := chromedp.Run(b.ctx, chromedp.Navigate("about:blank")); err != nil {
			return 0, err
		}
		d, err := b.timed(timeout, chromedp.Navigate(url), pollPage(ready, timeout))
		if err != nil {
			b.shot("ui-failed")
			return 0, fmt.Errorf("%s: waiting for %s: %w", url, ready, err)
		}
		ds = append(ds, d)
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds[len(ds)/2], nil
}

// pollPage evaluates ready in the page every uiPoll until it is true.
// chromedp.Poll (and WaitReady) would address the document by the
// execution context chromedp last recorded for the frame, which it
// updates from the browser's events on a goroutine of its own, behind
// the listener that ends Navigate: right after a navigation it can still
// name about:blank's context, gone by then ("Cannot find context with
// specified id"), and more likely so on a loaded machine. Runtime.evaluate
// without a context runs in the page the tab shows now. Errors while the
// new document replaces the old one are retried; the last one is
// reported at the timeout.
func pollPage(ready string, timeout time.Duration) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		deadline := time.Now().Add(timeout)
		var last error
		for {
			var ok bool
			err := chromedp.Evaluate(ready, &ok).Do(ctx)
			switch {
			case err == nil && ok:
				return nil
			case err != nil:
				last = err
			}
			if time.Now().After(deadline) {
				if last != nil {
					return fmt.Errorf("not true after %s, last error: %w", timeout, last)
				}
				return fmt.Errorf("not true after %s", timeout)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(uiPoll):
			}
		}
	})
}

func (b *benchBrowser) timed(timeout time.Duration, actions ...chromedp.Action) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(b.ctx, timeout+10*time.Second)
	defer cancel()
	t0 := time.Now()
	err := chromedp.Run(ctx, actions...)
	return time.Since(t0), err
}

// The experiment page is /#/experiments/<id>/runs in both UIs (MLflow
// 3's /#/experiments/<id> opens an overview of traces instead).

// firstRows is true once a seeded run's name is rendered on the page (the
// same test for both UIs).
const firstRows = `document.body && document.body.innerText.includes('seed-')`

func uiMlflow(ctx context.Context, log *slog.Logger, cfg *config, br *benchBrowser, dir string, runs int) (time.Duration, error) {
	if err := os.MkdirAll(filepath.Join(dir, "artifacts"), 0o755); err != nil {
		return 0, err
	}
	t0 := time.Now()
	pre, err := mlflowPreseed(ctx, cfg, dir, runs)
	if err != nil {
		return 0, err
	}
	log.Info("ui: seeded mlflow's store", "runs", runs, "took", time.Since(t0).Round(time.Millisecond))
	port, err := bench.FreePort()
	if err != nil {
		return 0, err
	}
	bin, argv := trackingServers()[0].args(cfg, dir, port)
	if !cfg.quick {
		// One browser makes the requests: one worker is enough, and its
		// start-up does not race three others on a loaded machine.
		argv = append(argv, "--workers", "1")
	}
	proc, err := bench.Start("ui-mlflow", cfg.work, pythonEnv(cfg.python), dir, bin, argv...)
	if err != nil {
		return 0, err
	}
	defer proc.Stop(15 * time.Second)
	a := &api{base: fmt.Sprintf("http://127.0.0.1:%d", port), c: bench.NewClient(8, 60*time.Second)}
	defer a.c.CloseIdleConnections()
	if _, err := proc.WaitReady(ctx, cfg.startTimeout, func(ctx context.Context) error {
		return a.post(ctx, "/api/2.0/mlflow/experiments/search", map[string]any{"max_results": 1}, nil)
	}); err != nil {
		return 0, err
	}
	d, err := br.measure(a.base+"/#/experiments/"+pre.exp+"/runs", firstRows, 60*time.Second)
	if err != nil {
		return 0, fmt.Errorf("%w\n%s", err, proc.LogTail(800))
	}
	log.Info("ui: mlflow's UI", "runs", runs, "first_rows", d)
	return d, nil
}

// uiTimes are mlgate's UI measurements.
type uiTimes struct {
	first, chart, compare, keys, picker time.Duration
	// cmpCPU is the server's CPU time per load of the comparison;
	// cmpPage where the last load's time went in the page.
	cmpCPU  time.Duration
	cmpPage cmpTimeline
}

// cmpTimeline is where a load of the comparison spent its time, in ms
// from the navigation's start (the page's Resource Timing): the runs
// fetched (runs/search), the first sample asked and the last answered
// (get-history-bulk-interval), and every chart drawn.
type cmpTimeline struct {
	RunsEnd     float64 `json:"runsEnd"`
	SampleStart float64 `json:"sampleStart"`
	SampleEnd   float64 `json:"sampleEnd"`
	Drawn       float64 `json:"drawn"`
	Calls       int     `json:"calls"`
	KB          float64 `json:"kb"` // the samples' bytes on the wire
}

// cmpTimelineJS reads cmpTimeline in the page; window.uiReadyAt is set by
// the ready test the first time it holds.
const cmpTimelineJS = `(() => {
	const rs = performance.getEntriesByType('resource');
	const runs = rs.filter((e) => e.name.includes('/runs/search'));
	const bi = rs.filter((e) => e.name.includes('/get-history-bulk-interval'));
	return { runsEnd: Math.max(0, ...runs.map((e) => e.responseEnd)), sampleStart: Math.min(...bi.map((e) => e.startTime)),
		sampleEnd: Math.max(0, ...bi.map((e) => e.responseEnd)), drawn: window.uiReadyAt || 0, calls: bi.length,
		kb: bi.reduce((n, e) => n + e.transferSize, 0) / 1024 };
})()`

func uiMlgate(ctx context.Context, log *slog.Logger, cfg *config, br *benchBrowser, dir string, sz uiSizes) (uiTimes, error) {
	var m uiTimes
	if err := os.MkdirAll(filepath.Join(dir, "artifacts"), 0o755); err != nil {
		return m, err
	}
	port, err := bench.FreePort()
	if err != nil {
		return m, err
	}
	bin, argv := trackingServers()[1].args(cfg, dir, port)
	proc, err := bench.Start("ui-mlgate", cfg.work, nil, dir, bin, argv...)
	if err != nil {
		return m, err
	}
	defer proc.Stop(15 * time.Second)
	a := &api{base: fmt.Sprintf("http://127.0.0.1:%d", port), c: bench.NewClient(8, 120*time.Second)}
	defer a.c.CloseIdleConnections()
	if _, err := proc.WaitReady(ctx, cfg.startTimeout, func(ctx context.Context) error {
		return a.post(ctx, "/api/2.0/mlflow/experiments/search", map[string]any{"max_results": 1}, nil)
	}); err != nil {
		return m, err
	}
	t0 := time.Now()
	seed, err := uiSeed(ctx, a, "sqlite:///"+filepath.Join(dir, "mlgate.db"), sz)
	if err != nil {
		return m, err
	}
	log.Info("ui: seeded mlgate", "took", time.Since(t0).Round(time.Millisecond))
	if m.first, err = br.measure(a.base+"/#/experiments/"+seed.runsExp+"/runs", firstRows, 30*time.Second); err != nil {
		return m, err
	}
	chartURL := fmt.Sprintf("%s/#/metric/loss?runs=[%q]", a.base, seed.chartRun)
	// Drawn: the points get-history-bulk-interval sampled (at most 2,500,
	// MLflow's limit per run), from the first step to the last.
	ready := fmt.Sprintf(`(() => { const c = document.getElementById('metric-chart'); return !!(c && c.dataset.drawn && c.dataset.sourcePoints === '%d' && c.dataset.points === '%[1]d' && c.dataset.xMin === '0' && c.dataset.xMax === '%d'); })()`,
		min(sz.chartSteps, uiSampled), sz.chartSteps-1)
	if m.chart, err = br.measure(chartURL, ready, 30*time.Second); err != nil {
		return m, err
	}
	if m.keys, err = br.measure(a.base+"/#/experiments/"+seed.keysExp+"/runs", firstRows, 30*time.Second); err != nil {
		return m, err
	}
	m.picker, err = br.timed(10*time.Second, chromedp.Click("button[aria-controls=col-picker]", chromedp.ByQuery),
		pollPage(`document.querySelectorAll('#col-picker li').length > 100`, 10*time.Second))
	log.Info("ui: mlgate's UI", "first_rows", m.first, "chart", m.chart, "keys", m.keys, "picker", m.picker)
	if err != nil {
		return m, err
	}
	ids := make([]string, len(seed.cmpRuns))
	for i, id := range seed.cmpRuns {
		ids[i] = fmt.Sprintf("%q", id)
	}
	cmpURL := a.base + "/#/compare-runs?runs=[" + strings.Join(ids, ",") + "]&experiments=[\"" + seed.cmpExp + "\"]"
	// Every chart drawn with every run's sample: as many points per run as
	// the chart asked (data-per-run), or the run's steps when fewer.
	cmpReady := fmt.Sprintf(`(() => { const cs = [...document.querySelectorAll('.chart[data-metric]')];
		const ok = cs.length === %d && cs.every((c) => c.dataset.drawn && c.querySelector('canvas') && c.dataset.perRun &&
			Number(c.dataset.sourcePoints) === %d * Math.min(%d, Number(c.dataset.perRun)));
		if (ok && !window.uiReadyAt) window.uiReadyAt = performance.now();
		return ok; })()`, sz.cmpMetrics, sz.cmpRuns, sz.cmpSteps)
	cpu0, _ := bench.ProcessCPU(proc.Cmd.Process.Pid)
	if m.compare, err = br.measure(cmpURL, cmpReady, 60*time.Second); err != nil {
		return m, err
	}
	if cpu1, err := bench.ProcessCPU(proc.Cmd.Process.Pid); err == nil && cpu0 > 0 {
		m.cmpCPU = (cpu1 - cpu0) / time.Duration(br.repeats)
	}
	if err := chromedp.Run(br.ctx, chromedp.Evaluate(cmpTimelineJS, &m.cmpPage)); err != nil {
		return m, fmt.Errorf("reading the comparison's timeline: %w", err)
	}
	log.Info("ui: mlgate's compare", "compare", m.compare, "server_cpu", m.cmpCPU, "page", m.cmpPage)
	return m, err
}

// uiData is what uiSeed wrote.
type uiData struct {
	runsExp, keysExp, chartRun, cmpExp string
	cmpRuns                            []string
}

// uiSeed fills mlgate through its REST API at concurrency 8, except the
// histories of the comparison, written into its store (storeURI) directly.
func uiSeed(ctx context.Context, a *api, storeURI string, sz uiSizes) (uiData, error) {
	var d uiData
	var err error
	if d.runsExp, err = a.createExperiment(ctx, "ui-runs"); err != nil {
		return d, err
	}
	now := time.Now().UnixMilli()
	if _, err = uiRuns(ctx, a, d.runsExp, sz.runs, func(i int) map[string]any {
		return map[string]any{"tags": []map[string]string{{"key": "group", "value": fmt.Sprint(i % 10)}}, "start_time": now + int64(i)}
	}); err != nil {
		return d, err
	}
	chartExp, err := a.createExperiment(ctx, "ui-chart")
	if err != nil {
		return d, err
	}
	ids, err := uiRuns(ctx, a, chartExp, 1, nil)
	if err != nil {
		return d, err
	}
	d.chartRun = ids[0]
	if err := uiMetrics(ctx, a, d.chartRun, []string{"loss"}, sz.chartSteps); err != nil {
		return d, err
	}
	if d.cmpExp, err = a.createExperiment(ctx, "ui-compare"); err != nil {
		return d, err
	}
	if d.cmpRuns, err = uiRuns(ctx, a, d.cmpExp, sz.cmpRuns, nil); err != nil {
		return d, err
	}
	keys := make([]string, sz.cmpMetrics)
	for i := range keys {
		keys[i] = fmt.Sprintf("m%d", i)
	}
	if err := uiLoadHistory(ctx, storeURI, d.cmpRuns, keys, sz.cmpSteps); err != nil {
		return d, err
	}
	if d.keysExp, err = a.createExperiment(ctx, "ui-keys"); err != nil {
		return d, err
	}
	kids, err := uiRuns(ctx, a, d.keysExp, sz.keyRuns, nil)
	if err != nil {
		return d, err
	}
	// Each run logs keysPerRun distinct keys: half metrics, half params.
	err = parallel(ctx, len(kids), func(ctx context.Context, i int) error {
		var ms, ps []map[string]any
		for k := range sz.keysPerRun / 2 {
			ms = append(ms, map[string]any{"key": fmt.Sprintf("metric_%d_%d", i, k), "value": float64(k), "timestamp": now, "step": 0})
			ps = append(ps, map[string]any{"key": fmt.Sprintf("param_%d_%d", i, k), "value": fmt.Sprint(k)})
		}
		return a.post(ctx, "/api/2.0/mlflow/runs/log-batch", map[string]any{"run_id": kids[i], "metrics": ms, "params": ps}, nil)
	})
	return d, err
}

// uiRuns creates n runs named seed-<i> and returns their ids in order.
func uiRuns(ctx context.Context, a *api, exp string, n int, extra func(int) map[string]any) ([]string, error) {
	ids := make([]string, n)
	err := parallel(ctx, n, func(ctx context.Context, i int) error {
		body := map[string]any{"experiment_id": exp, "run_name": fmt.Sprintf("seed-%d", i), "start_time": time.Now().UnixMilli()}
		if extra != nil {
			for k, v := range extra(i) {
				body[k] = v
			}
		}
		var out runAnswer
		if err := a.post(ctx, "/api/2.0/mlflow/runs/create", body, &out); err != nil {
			return err
		}
		ids[i] = out.Run.Info.RunID
		return nil
	})
	return ids, err
}

// uiLoadHistory writes steps values (step s: 1/(s+1) at t0+s ms) of each
// key to each run straight into the server's store, the rows log-batch
// leaves (metrics, and latest_metrics with its step summary), generated
// by SQLite itself, one transaction per run: the 200 runs × 10
// metrics × 10,000 steps are 20 million rows, which log-batch over HTTP would take most of the
// benchmark's time to write on this machine.
func uiLoadHistory(ctx context.Context, uri string, runs, keys []string, steps int) error {
	d, err := db.Open(ctx, uri)
	if err != nil {
		return err
	}
	defer func() { _ = d.Close() }()
	t0 := time.Now().UnixMilli()
	const gen = `INSERT INTO metrics (run_uuid, key, value, is_nan, timestamp, step)
		WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i + 1 < ?)
		SELECT ?, ?, 1.0 / (i + 1), 0, ? + i, i FROM s`
	const latest = `INSERT INTO latest_metrics (run_uuid, key, value, is_nan, timestamp, step, n_rows, min_step, dense) VALUES (?, ?, ?, 0, ?, ?, ?, 0, 1)`
	for _, run := range runs {
		err := d.Tx(ctx, func(tx *sql.Tx) error {
			for _, k := range keys {
				if _, err := tx.ExecContext(ctx, gen, steps, run, k, t0); err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, latest, run, k, 1/float64(steps), t0+int64(steps-1), steps-1, steps); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("loading the comparison's histories: %w", err)
		}
	}
	return nil
}

// uiMetrics logs steps values of each key to a run, 1,000 per log-batch.
func uiMetrics(ctx context.Context, a *api, run string, keys []string, steps int) error {
	t0 := time.Now().UnixMilli()
	batch := make([]map[string]any, 0, 1000)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := a.post(ctx, "/api/2.0/mlflow/runs/log-batch", map[string]any{"run_id": run, "metrics": batch}, nil)
		batch = batch[:0]
		return err
	}
	for _, k := range keys {
		for s := range steps {
			batch = append(batch, map[string]any{"key": k, "value": 1 / float64(s+1), "timestamp": t0 + int64(s), "step": s})
			if len(batch) == 1000 {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	return flush()
}

// parallel runs fn for 0..n-1 on 8 workers, stopping at the first error.
func parallel(ctx context.Context, n int, fn func(context.Context, int) error) error {
	var next atomic.Int64
	var mu sync.Mutex
	var first error
	var wg sync.WaitGroup
	for range min(8, n) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				mu.Lock()
				stop := first != nil
				mu.Unlock()
				if i >= n || stop || ctx.Err() != nil {
					return
				}
				if err := fn(ctx, i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return first
}
