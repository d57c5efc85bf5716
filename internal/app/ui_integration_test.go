//go:build integration

package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/crypto/bcrypt"

	"github.com/mlgate/mlgate/tracking/store"
)

// uiPopulate is run by the real mlflow client against the server: an
// experiment with a parent run (params, a 50-step metric, tags, artifacts
// of each previewed kind, an MLmodel with a signature), a nested child
// and a second top-level run. It prints the links mlflow prints.
const uiPopulate = `
import sys, mlflow
mlflow.set_tracking_uri(sys.argv[1])
mlflow.set_experiment("ui-test")
with mlflow.start_run(run_name="parent") as p:
    mlflow.log_params({"alpha": "0.5", "l1": "0.1"})
    for i in range(50):
        mlflow.log_metric("loss", 1.0 / (i + 1), step=i)
    mlflow.set_tag("team", "search")
    mlflow.log_text("hello from the run\n", "notes/readme.txt")
    mlflow.log_dict({"layers": [1, 2]}, "config.json")
    mlflow.log_text("x,y\n1,2\n3,4\n", "data.csv")
    mlflow.log_text("flavors:\n  python_function:\n    loader_module: mlflow.sklearn\nsignature:\n  inputs: '[{\"type\": \"double\", \"name\": \"x\", \"required\": true}]'\n  outputs: '[{\"type\": \"double\", \"required\": true}]'\n", "model/MLmodel")
    with mlflow.start_run(run_name="child", nested=True):
        mlflow.log_param("alpha", "0.9")
        mlflow.log_metric("loss", 0.9)
with mlflow.start_run(run_name="other"):
    mlflow.log_param("alpha", "0.7")
    mlflow.log_metric("loss", 2.0)
`

func mustJSON(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("%v: %s", err, s)
	}
}

// TestUIBrowser drives every page of the web UI in headless Chromium
// against a real mlgate server populated by the real mlflow client: no
// console error on any page, the chart draws the run's points, the filter
// narrows the table and shows the server's message when invalid, a tag
// edited in the page persists, and the link mlflow prints opens the run.
func TestUIBrowser(t *testing.T) {
	py := os.Getenv("MLGATE_TEST_PYTHON")
	if py == "" {
		t.Fatal("MLGATE_TEST_PYTHON is not set (make test sets it)")
	}
	_, url, _ := startServer(t, nil)
	cmd := exec.Command(py, "-c", uiPopulate, url)
	cmd.Env = append(os.Environ(), "MLFLOW_ENABLE_ASYNC_LOGGING=false", "GIT_PYTHON_REFRESH=quiet")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("mlflow client: %v\n%s", err, out)
	}
	links := regexp.MustCompile(`View run (\w+) at: (\S+)`).FindAllStringSubmatch(string(out), -1)
	printed := map[string]string{}
	for _, l := range links {
		printed[l[1]] = l[2]
	}
	parentURL := printed["parent"]
	if !strings.HasPrefix(parentURL, url+"/#/experiments/") {
		t.Fatalf("mlflow printed no run link for parent:\n%s", out)
	}
	parentID := parentURL[strings.LastIndex(parentURL, "/")+1:]
	expID := strings.Split(strings.TrimPrefix(parentURL, url+"/#/experiments/"), "/")[0]

	// A registered model whose version comes from the parent run, and a
	// serving run as `mlgate models serve --log-experiment` writes it.
	call(t, "POST", url+"/api/2.0/mlflow/registered-models/create", `{"name":"ui-model"}`)
	code, body := call(t, "POST", url+"/api/2.0/mlflow/model-versions/create",
		fmt.Sprintf(`{"name":"ui-model","source":"mlflow-artifacts:/%s/%s/artifacts/model","run_id":%q}`, expID, parentID, parentID))
	if code != 200 {
		t.Fatalf("model version: %d %s", code, body)
	}
	call(t, "POST", url+"/api/2.0/mlflow/registered-models/alias", `{"name":"ui-model","alias":"champion","version":"1"}`)
	_, body = call(t, "POST", url+"/api/2.0/mlflow/experiments/create", `{"name":"serving"}`)
	var se struct {
		ExperimentID string `json:"experiment_id"`
	}
	mustJSON(t, body, &se)
	_, body = call(t, "POST", url+"/api/2.0/mlflow/runs/create", fmt.Sprintf(`{"experiment_id":%q,"run_name":"serve-1","tags":[{"key":"mlflow.source.name","value":"mlgate models serve"},{"key":"mlgate.model_uri","value":"models:/ui-model/1"}]}`, se.ExperimentID))
	var sr struct {
		Run struct {
			Info struct {
				RunID string `json:"run_id"`
			} `json:"info"`
		} `json:"run"`
	}
	mustJSON(t, body, &sr)
	now := time.Now().UnixMilli()
	var ms []string
	for i := range 20 {
		ts := now - int64(20-i)*10000
		ms = append(ms, fmt.Sprintf(`{"key":"version.1.requests","value":%d,"timestamp":%d,"step":%d}`, 100+i, ts, i),
			fmt.Sprintf(`{"key":"version.1.latency_p50_ms","value":%d,"timestamp":%d,"step":%d}`, 5+i%3, ts, i),
			fmt.Sprintf(`{"key":"version.1.errors_5xx","value":%d,"timestamp":%d,"step":%d}`, i%2, ts, i))
	}
	if code, body := call(t, "POST", url+"/api/2.0/mlflow/runs/log-batch", fmt.Sprintf(`{"run_id":%q,"metrics":[%s]}`, sr.Run.Info.RunID, strings.Join(ms, ","))); code != 200 {
		t.Fatalf("serving metrics: %d %s", code, body)
	}

	b := newBrowser(t, 1280, 900, "", "")

	// Experiments list.
	b.open(url+"/", "table.grid a[href='#/experiments/"+expID+"']")
	b.shot("experiments")

	// The link mlflow printed opens the parent run.
	b.open(parentURL, "#tag-form")
	var h1 string
	b.eval(`document.querySelector('h1').textContent`, &h1)
	if h1 != "parent" {
		t.Fatalf("the printed link %s opened %q, want the run parent", parentURL, h1)
	}
	var shownID string
	b.eval(`document.querySelector('dl.facts code').textContent`, &shownID)
	if shownID != parentID {
		t.Fatalf("run page shows id %s, want %s", shownID, parentID)
	}

	// Editing a tag persists.
	b.run("set tag", chromedp.SendKeys("#tag-key", "reviewed", chromedp.ByQuery), chromedp.SendKeys("#tag-value", "yes", chromedp.ByQuery),
		chromedp.Click("#tag-form button[type=submit]", chromedp.ByQuery))
	b.waitTrue(`!!document.querySelector('tr[data-tag="reviewed"]')`)
	_, body = call(t, "GET", url+"/api/2.0/mlflow/runs/get?run_id="+parentID, "")
	if !strings.Contains(body, `{"key":"reviewed","value":"yes"}`) {
		t.Fatalf("tag set in the page is not on the run: %s", body)
	}

	// Artifact previews: text, JSON, CSV as a table, MLmodel.
	b.run("open csv", chromedp.Click(`//button[text()="data.csv"]`, chromedp.BySearch))
	b.waitTrue(`document.querySelectorAll('.pane table.csv tbody tr').length === 2`)
	b.run("open json", chromedp.Click(`//button[text()="config.json"]`, chromedp.BySearch))
	b.waitTrue(`(document.querySelector('.pane pre')||{}).textContent === JSON.stringify({layers:[1,2]}, null, 2)`)
	b.run("open folder", chromedp.Click(`//button[contains(., "notes")]`, chromedp.BySearch))
	b.run("open text", chromedp.Click(`//button[text()="readme.txt"]`, chromedp.BySearch))
	b.waitTrue(`(document.querySelector('.pane pre')||{}).textContent === 'hello from the run\n'`)
	b.noErrors("run page")
	b.shot("run")

	// The chart draws the 50 points the run logged.
	b.open(url+"/#/metric/loss?runs="+fmt.Sprintf("[%q]", parentID), "#metric-chart[data-drawn] canvas")
	var points string
	b.eval(`document.getElementById('metric-chart').dataset.points`, &points)
	if points != "50" {
		t.Fatalf("chart drew %s points, the run has 50", points)
	}
	b.run("log scale", chromedp.Click("#log-scale", chromedp.ByQuery))
	b.waitTrue(`!!document.querySelector('#metric-chart canvas')`)
	b.noErrors("chart")
	b.shot("chart")

	// Runs table: child nested under parent, filter narrows, invalid
	// filter shows the server's message.
	b.open(url+"/#/experiments/"+expID, "tr[data-run-id]")
	if n := b.count("tr[data-run-id]"); n != 2 {
		t.Fatalf("runs table shows %d top-level rows, want 2 (child nested)", n)
	}
	b.run("expand", chromedp.Click("button.twist", chromedp.ByQuery))
	b.waitTrue(`document.querySelectorAll('tr[data-run-id]').length === 3`)
	b.shot("runs")
	b.run("filter", chromedp.SetValue("#run-filter", "metrics.loss < 1", chromedp.ByQuery), chromedp.Click("form[role=search] button", chromedp.ByQuery))
	b.waitTrue(`document.getElementById('runs-status').textContent === '2 runs'`)
	b.noErrors("filter")
	bad := "metrics.loss <<< 1"
	_, want := call(t, "POST", url+"/ajax-api/2.0/mlflow/runs/search", fmt.Sprintf(`{"experiment_ids":[%q],"filter":%q}`, expID, bad))
	var apiErr struct {
		Message string `json:"message"`
	}
	mustJSON(t, want, &apiErr)
	if apiErr.Message == "" {
		t.Fatalf("the server accepted %q: %s", bad, want)
	}
	b.run("bad filter", chromedp.SetValue("#run-filter", bad, chromedp.ByQuery), chromedp.Click("form[role=search] button", chromedp.ByQuery))
	b.waitTrue(`!!document.querySelector('#filter-error .error')`)
	var shown string
	b.eval(`document.querySelector('#filter-error .error').textContent`, &shown)
	if shown != apiErr.Message {
		t.Fatalf("inline error %q, server said %q", shown, apiErr.Message)
	}
	for _, e := range b.takeErrors() { // the browser logs the 400 itself
		if !strings.Contains(e, "400") {
			t.Errorf("invalid filter: unexpected console error %s", e)
		}
	}
	b.shot("runs-invalid-filter")

	// Compare, registry and serving pages.
	var otherID string
	_, body = call(t, "POST", url+"/api/2.0/mlflow/runs/search", fmt.Sprintf(`{"experiment_ids":[%q],"filter":"attributes.run_name = 'other'"}`, expID))
	var found struct {
		Runs []struct {
			Info struct {
				RunID string `json:"run_id"`
			} `json:"info"`
		} `json:"runs"`
	}
	mustJSON(t, body, &found)
	if len(found.Runs) != 1 {
		t.Fatalf("run other: %s", body)
	}
	otherID = found.Runs[0].Info.RunID
	b.open(url+fmt.Sprintf(`/#/compare-runs?runs=[%q,%q]&experiments=[%q]`, parentID, otherID, expID), "table.compare tr.differs")
	b.waitTrue(`!!document.querySelector('.chart[data-metric="loss"][data-drawn] canvas')`)
	var cmpPoints string
	b.eval(`document.querySelector('.chart[data-metric="loss"]').dataset.points`, &cmpPoints)
	if cmpPoints != "51" {
		t.Errorf("compare chart drew %s points, the two runs have 51", cmpPoints)
	}
	b.noErrors("compare")
	b.shot("compare")
	b.open(url+"/#/models", "a[href='#/models/ui-model']")
	b.open(url+"/#/models/ui-model", "a[href='#/models/ui-model/versions/1']")
	if n := b.count("a[href='#/runs/" + parentID + "']"); n != 1 {
		t.Errorf("model page links the source run %d times", n)
	}
	b.shot("model")
	b.open(url+"/#/models/ui-model/versions/1", "section pre.code")
	b.waitTrue(`[...document.querySelectorAll('h3')].some((e) => e.textContent === 'Signature inputs')`)
	var sigName string
	b.eval(`document.querySelector('section table.kv td').textContent`, &sigName)
	if sigName != "x" {
		t.Errorf("signature input shown as %q, want x", sigName)
	}
	b.shot("model-version")
	b.open(url+"/#/serving", `.chart[data-figure="requests"][data-drawn] canvas`)
	var servePoints string
	b.eval(`document.querySelector('.chart[data-figure="requests"]').dataset.points`, &servePoints)
	if servePoints != "20" {
		t.Errorf("serving requests chart drew %s points, want 20", servePoints)
	}
	b.noErrors("serving")
	b.shot("serving")

	// Narrow screen: the runs page still renders its table.
	nb := newBrowser(t, 420, 860, "", "")
	nb.open(url+"/#/experiments/"+expID, "tr[data-run-id]")
	nb.shot("runs-narrow")
	nb.open(parentURL, "#tag-form")
	nb.shot("run-narrow")
}

// TestUIReadOnlyUser: with --auth basic, / answers 401 with a Basic
// challenge (the browser prompts), a read-only user sees no edit controls
// and the API still refuses their writes; a writer sees them.
func TestUIReadOnlyUser(t *testing.T) {
	users := filepath.Join(t.TempDir(), "users")
	w, _ := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	r, _ := bcrypt.GenerateFromPassword([]byte("ro"), bcrypt.MinCost)
	if err := os.WriteFile(users, fmt.Appendf(nil, "alice:%s\nbob:%s:read\n", w, r), 0o600); err != nil {
		t.Fatal(err)
	}
	_, url, _ := startServer(t, func(o *ServerOptions) { o.Auth, o.AuthUsersFile = "basic", users })
	resp, err := http.Get(url + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic") {
		t.Fatalf("GET / without credentials: %d %v, want 401 with a Basic challenge", resp.StatusCode, resp.Header)
	}
	alice := []string{"Authorization", "Basic YWxpY2U6cHc="}
	_, body := call(t, "POST", url+"/api/2.0/mlflow/experiments/create", `{"name":"e"}`, alice...)
	var e struct {
		ExperimentID string `json:"experiment_id"`
	}
	mustJSON(t, body, &e)
	_, body = call(t, "POST", url+"/api/2.0/mlflow/runs/create", fmt.Sprintf(`{"experiment_id":%q,"run_name":"r"}`, e.ExperimentID), alice...)
	var rr struct {
		Run struct {
			Info struct {
				RunID string `json:"run_id"`
			} `json:"info"`
		} `json:"run"`
	}
	mustJSON(t, body, &rr)
	runURL := url + "/#/experiments/" + e.ExperimentID + "/runs/" + rr.Run.Info.RunID

	_, body = call(t, "GET", url+"/ajax-api/2.0/mlgate/users/current", "", "Authorization", "Basic Ym9iOnJv")
	var who struct {
		Username string `json:"username"`
		IsAdmin  bool   `json:"is_admin"`
		CanWrite bool   `json:"can_write"`
	}
	mustJSON(t, body, &who)
	if who.Username != "bob" || who.IsAdmin || who.CanWrite {
		t.Fatalf("users/current for bob: %s", body)
	}

	ro := newBrowser(t, 1280, 900, "bob", "ro")
	ro.open(runURL, "#h-tags")
	ro.waitTrue(`document.body.classList.contains('readonly')`)
	if n := ro.count("#tag-form, .editonly:not([hidden])"); n != 0 {
		var vis int
		ro.eval(`[...document.querySelectorAll('.editonly, #tag-form')].filter((e) => e.offsetParent !== null).length`, &vis)
		if vis != 0 {
			t.Fatalf("a read-only user sees %d edit controls", vis)
		}
	}
	var user string
	ro.eval(`document.getElementById('user').textContent`, &user)
	if user != "bob (read-only)" {
		t.Errorf("header shows %q", user)
	}
	ro.open(url+"/#/experiments", "table.grid")
	var visible int
	ro.eval(`[...document.querySelectorAll('button')].filter((e) => e.offsetParent !== null && /Create|Rename|Delete|Restore/.test(e.textContent)).length`, &visible)
	if visible != 0 {
		t.Fatalf("a read-only user sees %d create/rename/delete buttons", visible)
	}
	ro.shot("experiments-read-only")
	if code, _ := call(t, "POST", url+"/ajax-api/2.0/mlflow/runs/set-tag", fmt.Sprintf(`{"run_id":%q,"key":"k","value":"v"}`, rr.Run.Info.RunID), "Authorization", "Basic Ym9iOnJv"); code != 403 {
		t.Fatalf("read-only write answered %d, want 403", code)
	}

	// The registry's edit controls: none for bob.
	call(t, "POST", url+"/api/2.0/mlflow/registered-models/create", `{"name":"m"}`, alice...)
	model := e.ExperimentID + "/" + rr.Run.Info.RunID + "/artifacts/model"
	if code, body := call(t, "PUT", url+"/api/2.0/mlflow-artifacts/artifacts/"+model+"/MLmodel", "flavors: {}\n", alice...); code != 200 {
		t.Fatalf("upload MLmodel: %d %s", code, body)
	}
	call(t, "POST", url+"/api/2.0/mlflow/model-versions/create", fmt.Sprintf(`{"name":"m","source":"mlflow-artifacts:/%s","run_id":%q}`, model, rr.Run.Info.RunID), alice...)
	call(t, "POST", url+"/api/2.0/mlflow/registered-models/alias", `{"name":"m","alias":"a","version":"1"}`, alice...)
	call(t, "POST", url+"/api/2.0/mlflow/registered-models/set-tag", `{"name":"m","key":"k","value":"v"}`, alice...)
	call(t, "POST", url+"/api/2.0/mlflow/model-versions/set-tag", `{"name":"m","version":"1","key":"k","value":"v"}`, alice...)
	registryControls := `[...document.querySelectorAll('main select, main input, main form, main button')].filter((e) => e.offsetParent !== null && !e.closest('[role=search]')).map((e) => e.outerHTML.slice(0, 80))`
	for _, page := range []string{"/#/models/m", "/#/models/m/versions/1"} {
		ro.open(url+page, "tr[data-tag=k]")
		var controls []string
		ro.eval(registryControls, &controls)
		if len(controls) != 0 {
			t.Fatalf("a read-only user sees edit controls on %s: %v", page, controls)
		}
	}

	rw := newBrowser(t, 1280, 900, "alice", "pw")
	rw.open(runURL, "#tag-form")
	var aliceName string
	rw.eval(`document.getElementById('user').textContent`, &aliceName)
	if aliceName != "alice" {
		t.Errorf("header shows %q for alice", aliceName)
	}
	// The same query finds the writer's controls: it can fail.
	for _, page := range []string{"/#/models/m", "/#/models/m/versions/1"} {
		rw.open(url+page, "tr[data-tag=k]")
		var controls []string
		rw.eval(registryControls, &controls)
		if len(controls) == 0 {
			t.Fatalf("the writer sees no edit controls on %s", page)
		}
	}
}

// TestUIRunsPaging: the runs table pages through the server with
// page_token as it scrolls, renders only the rows in view, and orders by
// a column on the server.
func TestUIRunsPaging(t *testing.T) {
	const n = 1100
	srv, url, _ := startServer(t, nil)
	_, body := call(t, "POST", url+"/api/2.0/mlflow/experiments/create", `{"name":"many"}`)
	var e struct {
		ExperimentID string `json:"experiment_id"`
	}
	mustJSON(t, body, &e)
	// The runs go straight into the server's store: the REST path is not
	// what this test is about, and 1,100 HTTP creates under -race take long.
	st := srv.TrackingStore()
	for i := range n {
		if _, err := st.CreateRun(context.Background(), store.CreateRunInput{ExperimentID: e.ExperimentID,
			RunName: fmt.Sprintf("seed-%04d", i), StartTime: 1700000000000 + int64(i)}); err != nil {
			t.Fatal(err)
		}
	}
	b := newBrowser(t, 1280, 900, "", "")
	b.open(url+"/#/experiments/"+e.ExperimentID+"/runs", "tr[data-run-id]")
	b.waitTrue(`document.getElementById('runs-status').textContent === '500+ runs (scroll for more)'`)
	if rows := b.count("tr[data-run-id]"); rows > 100 {
		t.Fatalf("%d rows rendered for a 900 px viewport: the table should render only the rows in view", rows)
	}
	var first string
	b.eval(`document.querySelector('tr[data-run-id] a').textContent`, &first)
	if first != fmt.Sprintf("seed-%04d", n-1) {
		t.Fatalf("newest run first: got %s", first)
	}
	for _, want := range []string{"1000+ runs (scroll for more)", fmt.Sprintf("%d runs", n)} {
		b.eval(`(() => { const s = document.querySelector('.scroller'); s.scrollTop = s.scrollHeight; return true; })()`, new(bool))
		b.waitTrue(fmt.Sprintf(`document.getElementById('runs-status').textContent === %q`, want))
	}
	b.eval(`(() => { const s = document.querySelector('.scroller'); s.scrollTop = s.scrollHeight; return true; })()`, new(bool))
	b.waitTrue(`[...document.querySelectorAll('tr[data-run-id] a')].some((a) => a.textContent === 'seed-0000')`)
	if rows := b.count("tr[data-run-id]"); rows > 100 {
		t.Fatalf("%d rows rendered after scrolling to the end", rows)
	}
	b.shot("runs-scrolled")
	// Order by name, ascending after a second click.
	b.run("sort by name", chromedp.Click(`//th//button[contains(., "Run")]`, chromedp.BySearch))
	b.waitTrue(`document.querySelector('th[aria-sort]') && document.querySelector('th[aria-sort]').title === 'attributes.run_name'`)
	b.run("sort ascending", chromedp.Click(`//th//button[contains(., "Run")]`, chromedp.BySearch))
	b.waitTrue(`document.querySelector('th[aria-sort="ascending"]') !== null && document.querySelector('tr[data-run-id] a').textContent === 'seed-0000'`)
	b.noErrors("paging")
}
