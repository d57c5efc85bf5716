//go:build integration

package app

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// uiA11yAudit lists the accessibility failures of the page in view: a form
// control without an accessible name, an image without alt, text whose
// contrast with the background it is drawn on is below 4.5:1 (3:1 for
// large text), as WCAG 2 AA asks.
const uiA11yAudit = `(() => {
  const out = [];
  const desc = (e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className && typeof e.className === 'string' ? '.' + e.className.trim().split(/\s+/).join('.') : '');
  const visible = (e) => !!(e.offsetWidth || e.offsetHeight || e.getClientRects().length) && getComputedStyle(e).visibility !== 'hidden';
  const nameOf = (e) => {
    if ((e.getAttribute('aria-label') || '').trim()) return true;
    const by = e.getAttribute('aria-labelledby');
    if (by && by.split(/\s+/).some((id) => (document.getElementById(id) || {}).textContent)) return true;
    if (e.labels && [...e.labels].some((l) => l.textContent.trim())) return true;
    if ((e.getAttribute('title') || '').trim()) return true;
    if (e.tagName === 'BUTTON' && e.textContent.trim()) return true;
    if (e.tagName === 'INPUT' && /^(submit|button|reset)$/.test(e.type) && e.value) return true;
    return false;
  };
  for (const e of document.querySelectorAll('input, select, textarea, button')) {
    if (e.type === 'hidden' || !visible(e)) continue;
    if (!nameOf(e)) out.push('no accessible name: ' + desc(e) + ' ' + e.outerHTML.slice(0, 120));
  }
  for (const e of document.querySelectorAll('img')) if (!e.hasAttribute('alt')) out.push('image without alt: ' + e.outerHTML.slice(0, 120));
  const rgba = (s) => { const m = s.match(/rgba?\(([^)]+)\)/); if (!m) return [0, 0, 0, 0]; const p = m[1].split(/[ ,\/]+/).filter(Boolean).map(Number); return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]; };
  const over = (top, bottom) => { const a = top[3]; return [0, 1, 2].map((i) => top[i] * a + bottom[i] * (1 - a)).concat(1); };
  const background = (e) => {
    const layers = [];
    for (let n = e; n && n.nodeType === 1; n = n.parentElement) {
      const c = rgba(getComputedStyle(n).backgroundColor);
      if (c[3] > 0) { layers.push(c); if (c[3] >= 1) break; }
    }
    let bg = [255, 255, 255, 1];
    for (let i = layers.length - 1; i >= 0; i--) bg = over(layers[i], bg);
    return bg;
  };
  const lum = (c) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }; return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]); };
  for (const e of document.querySelectorAll('body *')) {
    if (!visible(e) || e.closest('canvas, svg, [aria-hidden=true]')) continue;
    if (![...e.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim())) continue;
    if (e.disabled) continue;
    const st = getComputedStyle(e);
    const bg = background(e);
    const fg = over(rgba(st.color), bg);
    const l1 = lum(fg), l2 = lum(bg);
    const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
    const size = parseFloat(st.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(st.fontWeight) >= 700);
    if (ratio < (large ? 3 : 4.5)) out.push('contrast ' + ratio.toFixed(2) + ': ' + desc(e) + ' "' + e.textContent.trim().slice(0, 40) + '" ' + st.color + ' on rgb(' + bg.slice(0, 3).map(Math.round) + ')');
  }
  return out;
})()`

// audit fails the test on each accessibility failure of the page in view.
func (b *browser) audit(page string) {
	b.t.Helper()
	var fails []string
	b.eval(uiA11yAudit, &fails)
	for _, f := range fails {
		b.t.Errorf("%s: %s", page, f)
	}
}

// TestUIChartsEditsAndAccess drives what TestUIBrowser does not: the
// sampled chart and its exact zoom, hover values, smoothing, log scale
// and the time axes change what is drawn; an artifact download gives the
// file's bytes; registry edits (stage, alias set and delete, model and
// version tags) persist, read back from the API; a read-only user sees
// none of those controls; every main page passes the accessibility audit;
// the keyboard reaches the filter box and the runs table.
func TestUIChartsEditsAndAccess(t *testing.T) {
	const steps = 3000 // more than the 2,500 points the server samples
	_, url, _ := startServer(t, nil)
	_, body := call(t, "POST", url+"/api/2.0/mlflow/experiments/create", `{"name":"charts"}`)
	var e struct {
		ExperimentID string `json:"experiment_id"`
	}
	mustJSON(t, body, &e)
	_, body = call(t, "POST", url+"/api/2.0/mlflow/runs/create", fmt.Sprintf(`{"experiment_id":%q,"run_name":"long","start_time":1700000000000}`, e.ExperimentID))
	var rr struct {
		Run struct {
			Info struct {
				RunID       string `json:"run_id"`
				ArtifactURI string `json:"artifact_uri"`
			} `json:"info"`
		} `json:"run"`
	}
	mustJSON(t, body, &rr)
	run := rr.Run.Info.RunID
	const t0 = int64(1700000000000)
	for lo := 0; lo < steps; lo += 1000 {
		var ms []string
		for s := lo; s < lo+1000 && s < steps; s++ {
			// value 10 at every 7th step: spikes the sample can miss.
			v := 1 / float64(s+1)
			if s%7 == 3 {
				v = 10
			}
			ms = append(ms, fmt.Sprintf(`{"key":"loss","value":%g,"timestamp":%d,"step":%d}`, v, t0+int64(s)*500, s))
		}
		if code, body := call(t, "POST", url+"/api/2.0/mlflow/runs/log-batch", fmt.Sprintf(`{"run_id":%q,"metrics":[%s]}`, run, strings.Join(ms, ","))); code != 200 {
			t.Fatalf("log-batch: %d %s", code, body)
		}
	}
	file := []byte{0, 1, 2, 0xff, 0xfe, 'm', 'l', '\n', 0x80}
	art := url + "/api/2.0/mlflow-artifacts/artifacts/" + strings.TrimPrefix(rr.Run.Info.ArtifactURI, "mlflow-artifacts:/") + "/blob.bin"
	if code, body := call(t, "PUT", art, string(file)); code != 200 {
		t.Fatalf("upload: %d %s", code, body)
	}

	b := newBrowser(t, 1280, 900, "", "")
	chart := fmt.Sprintf("%s/#/metric/loss?runs=[%q]", url, run)
	b.open(chart, "#metric-chart[data-drawn] canvas")
	// The server's sample: 2,500 points from the first step to the last.
	var drawn struct {
		Points, Source, XMin, XMax string
	}
	b.eval(`(() => { const d = document.getElementById('metric-chart').dataset; return {Points: d.points, Source: d.sourcePoints, XMin: d.xMin, XMax: d.xMax}; })()`, &drawn)
	if drawn.Points != "2500" || drawn.Source != "2500" || drawn.XMin != "0" || drawn.XMax != fmt.Sprint(steps-1) {
		t.Fatalf("sampled chart drew %+v, want 2500 points from step 0 to %d", drawn, steps-1)
	}
	b.audit("chart")

	// Zoom to steps 100..160: the page asks the server for that window and
	// draws every step in it, spikes included.
	b.eval(`(() => { document.getElementById('metric-chart').uplot.setScale('x', {min: 100, max: 160}); return true; })()`, new(bool))
	b.waitTrue(`!!document.getElementById('metric-chart').dataset.window`)
	var inView []float64
	b.eval(`(() => { const u = document.getElementById('metric-chart').uplot; const out = []; u.data[0].forEach((x, i) => { if (x >= 100 && x <= 160) out.push(x, u.data[1][i]); }); return out; })()`, &inView)
	if len(inView) != 2*61 {
		t.Fatalf("zoomed on steps 100..160: %d points drawn, want all 61", len(inView)/2)
	}
	for i := 0; i < len(inView); i += 2 {
		s := int(inView[i])
		want := 1 / float64(s+1)
		if s%7 == 3 {
			want = 10
		}
		if s != 100+i/2 || math.Abs(inView[i+1]-want) > 1e-12 {
			t.Fatalf("zoomed point %d: step %v value %v, want step %d value %v", i/2, inView[i], inView[i+1], 100+i/2, want)
		}
	}
	var winShown string
	b.eval(`document.getElementById('metric-chart').dataset.window`, &winShown)
	t.Logf("zoom window fetched: steps %s", winShown)

	// Hover shows the values under the cursor in the legend.
	var box []float64
	b.eval(`(() => { const r = document.querySelector('#metric-chart .u-over').getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; })()`, &box)
	b.run("hover", chromedp.MouseEvent(input.MouseMoved, box[0]+box[2]/2, box[1]+box[3]/2))
	b.waitTrue(`(() => { const v = document.querySelectorAll('#metric-chart .u-legend .u-value'); return v.length >= 2 && /\d/.test(v[0].textContent) && /\d/.test(v[1].textContent); })()`)

	// Back to the whole series, then smoothing, log scale and the x axes.
	b.eval(`(() => { const u = document.getElementById('metric-chart').uplot; u.setScale('x', {min: u.data[0][0], max: u.data[0][u.data[0].length - 1]}); return true; })()`, new(bool))
	b.waitTrue(`!document.getElementById('metric-chart').dataset.window`)
	series := `(() => { const u = document.getElementById('metric-chart').uplot; return {x: Array.from(u.data[0]), y: Array.from(u.data[1]), distr: u.scales.y.distr}; })()`
	var plain, smoothed, logged struct {
		X, Y  []*float64
		Distr int
	}
	b.eval(series, &plain)
	b.run("smoothing", chromedp.SetValue("#smoothing", "0.9", chromedp.ByQuery))
	b.eval(`(() => { document.getElementById('smoothing').dispatchEvent(new Event('input')); return true; })()`, new(bool))
	b.eval(series, &smoothed)
	if len(smoothed.Y) != len(plain.Y) || *smoothed.Y[5] == *plain.Y[5] || *smoothed.Y[0] != *plain.Y[0] {
		t.Fatalf("smoothing 0.9 did not change the drawn series: %v vs %v", smoothed.Y[:6], plain.Y[:6])
	}
	b.run("smoothing off", chromedp.SetValue("#smoothing", "0", chromedp.ByQuery))
	b.eval(`(() => { document.getElementById('smoothing').dispatchEvent(new Event('input')); return true; })()`, new(bool))
	b.run("log scale", chromedp.Click("#log-scale", chromedp.ByQuery))
	b.eval(series, &logged)
	if plain.Distr != 1 || logged.Distr != 3 {
		t.Fatalf("log scale: y distribution %d then %d, want 1 then 3", plain.Distr, logged.Distr)
	}
	b.run("log scale off", chromedp.Click("#log-scale", chromedp.ByQuery))
	var rel, abs struct {
		X     []float64
		Y     []*float64
		Distr int
	}
	b.run("relative time", chromedp.SetValue("#x-axis", "relative", chromedp.ByQuery))
	b.eval(`(() => { document.getElementById('x-axis').dispatchEvent(new Event('change')); return true; })()`, new(bool))
	b.eval(series, &rel)
	if rel.X[0] != 0 || rel.X[len(rel.X)-1] != float64(steps-1)*0.5 {
		t.Fatalf("relative time axis from %v to %v, want 0 to %v s", rel.X[0], rel.X[len(rel.X)-1], float64(steps-1)*0.5)
	}
	b.run("time", chromedp.SetValue("#x-axis", "time", chromedp.ByQuery))
	b.eval(`(() => { document.getElementById('x-axis').dispatchEvent(new Event('change')); return true; })()`, new(bool))
	b.eval(series, &abs)
	if abs.X[0] != float64(t0)/1000 {
		t.Fatalf("time axis starts at %v, want %v", abs.X[0], float64(t0)/1000)
	}
	b.noErrors("chart controls")

	// The artifact's download link gives the file's bytes.
	b.open(fmt.Sprintf("%s/#/experiments/%s/runs/%s", url, e.ExperimentID, run), "#tag-form")
	b.run("open blob", chromedp.Click(`//button[text()="blob.bin"]`, chromedp.BySearch))
	b.waitTrue(`!!document.querySelector('.pane a[download]')`)
	var got string
	b.run("download", chromedp.Evaluate(`(async () => { const r = await fetch(document.querySelector('.pane a[download]').href); const a = new Uint8Array(await r.arrayBuffer()); let s = ''; for (const c of a) s += String.fromCharCode(c); return btoa(s); })()`, &got,
		func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
	if dl, err := base64.StdEncoding.DecodeString(got); err != nil || !bytes.Equal(dl, file) {
		t.Fatalf("download gave %v (%v), want %v", dl, err, file)
	}
	b.audit("run")

	// Registry edits, read back through the API.
	if code, body := call(t, "PUT", strings.TrimSuffix(art, "blob.bin")+"model/MLmodel", "flavors: {}\n"); code != 200 {
		t.Fatalf("upload MLmodel: %d %s", code, body)
	}
	call(t, "POST", url+"/api/2.0/mlflow/registered-models/create", `{"name":"reg"}`)
	for range 2 {
		if code, body := call(t, "POST", url+"/api/2.0/mlflow/model-versions/create", fmt.Sprintf(`{"name":"reg","source":%q,"run_id":%q}`, rr.Run.Info.ArtifactURI+"/model", run)); code != 200 {
			t.Fatalf("version: %d %s", code, body)
		}
	}
	b.open(url+"/#/models/reg", "select[aria-label='Stage of version 1']")
	b.audit("model")
	b.run("stage", chromedp.SetValue("select[aria-label='Stage of version 1']", "Staging", chromedp.ByQuery))
	b.eval(`(() => { document.querySelector("select[aria-label='Stage of version 1']").dispatchEvent(new Event('change')); return true; })()`, new(bool))
	waitAPI(t, url+"/api/2.0/mlflow/model-versions/get?name=reg&version=1", `"current_stage":"Staging"`)
	b.run("alias", chromedp.SendKeys("#alias-name", "champion", chromedp.ByQuery), chromedp.SendKeys("#alias-version", "2", chromedp.ByQuery),
		chromedp.Click(`//button[text()="Set alias"]`, chromedp.BySearch))
	waitAPI(t, url+"/api/2.0/mlflow/registered-models/get?name=reg", `"aliases":[{"alias":"champion","version":"2"}]`)
	b.run("alias shown", chromedp.WaitVisible(`//button[text()="Remove @champion"]`, chromedp.BySearch))
	b.run("alias delete", chromedp.Click(`//button[text()="Remove @champion"]`, chromedp.BySearch))
	waitAPIGone(t, url+"/api/2.0/mlflow/registered-models/get?name=reg", `"champion"`)
	b.run("wait model page", chromedp.WaitVisible("input[aria-label='Tag key']", chromedp.ByQuery))
	b.run("model tag", chromedp.SendKeys("input[aria-label='Tag key']", "owner", chromedp.ByQuery), chromedp.SendKeys("input[aria-label='Tag value']", "team-a", chromedp.ByQuery),
		chromedp.Click(`//button[text()="Set tag"]`, chromedp.BySearch))
	waitAPI(t, url+"/api/2.0/mlflow/registered-models/get?name=reg", `{"key":"owner","value":"team-a"}`)
	b.run("model tag delete", chromedp.Click(`button[aria-label='Delete tag owner']`, chromedp.ByQuery))
	waitAPIGone(t, url+"/api/2.0/mlflow/registered-models/get?name=reg", `"owner"`)
	b.open(url+"/#/models/reg/versions/2", "input[aria-label='Tag key']")
	b.audit("model version")
	b.run("version tag", chromedp.SendKeys("input[aria-label='Tag key']", "validated", chromedp.ByQuery), chromedp.SendKeys("input[aria-label='Tag value']", "true", chromedp.ByQuery),
		chromedp.Click(`//button[text()="Set tag"]`, chromedp.BySearch))
	waitAPI(t, url+"/api/2.0/mlflow/model-versions/get?name=reg&version=2", `{"key":"validated","value":"true"}`)
	b.noErrors("registry edits")

	// The other main pages pass the audit; the keyboard reaches the
	// filter box and the runs table.
	b.open(url+"/#/experiments", "table.grid")
	b.audit("experiments")
	// The audit finds what it looks for: an unnamed field, an image
	// without alt and grey on white text added to the page.
	var planted []string
	b.eval(`(() => { const m = document.querySelector('main'); const d = document.createElement('div'); d.id = 'planted';
		d.innerHTML = '<input type="text"><img width="1" height="1"><p style="color:#aaa;background:#fff">faint</p>'; m.append(d);
		const r = `+uiA11yAudit+`; d.remove(); return r; })()`, &planted)
	if len(planted) != 3 {
		t.Fatalf("the audit found %d of the 3 planted failures: %v", len(planted), planted)
	}
	b.open(url+"/#/models", "table.grid")
	b.audit("models")
	b.open(url+fmt.Sprintf("/#/compare-runs?runs=[%q]", run), ".chart[data-metric][data-drawn] canvas")
	b.audit("compare")
	b.open(url+"/#/serving", "main h1")
	b.audit("serving")
	b.open(url+"/#/experiments/"+e.ExperimentID+"/runs", "tr[data-run-id]")
	b.audit("runs")
	reached := map[string]bool{}
	for range 60 {
		b.run("tab", chromedp.KeyEvent("\t"))
		var where string
		b.eval(`(() => { const a = document.activeElement; return a.id === 'run-filter' ? 'filter' : a.closest('table') || a.matches('.scroller') ? 'table' : ''; })()`, &where)
		reached[where] = true
		if reached["filter"] && reached["table"] {
			break
		}
	}
	if !reached["filter"] || !reached["table"] {
		t.Fatalf("60 tabs from the top reached the filter box: %v, the runs table: %v", reached["filter"], reached["table"])
	}
}

// waitAPI polls a GET until its body holds want (the page's request may
// still be in flight when the click returns).
func waitAPI(t *testing.T, url, want string) {
	t.Helper()
	pollAPI(t, url, want, true)
}

// waitAPIGone polls a GET until its body no longer holds gone.
func waitAPIGone(t *testing.T, url, gone string) {
	t.Helper()
	pollAPI(t, url, gone, false)
}

func pollAPI(t *testing.T, url, s string, present bool) {
	t.Helper()
	var body string
	for range 100 {
		_, body = call(t, "GET", url, "")
		if strings.Contains(body, s) == present {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("GET %s: %s, want %q present: %v", url, body, s, present)
}
