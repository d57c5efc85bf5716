//go:build integration

package app

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mlgate/mlgate/artifacts"
	"github.com/mlgate/mlgate/rest"
	"github.com/mlgate/mlgate/tracking"
)

// jsonlRecords decodes every line of the .jsonl files under dir.
func jsonlRecords(t *testing.T, dir string) (recs []map[string]any, files int) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".jsonl") {
			return err
		}
		files++
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			recs = append(recs, m)
		}
		return sc.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	return recs, files
}

// localTrackingServer starts an mlgate server (SQLite, local artifacts)
// for the test and returns its URL.
func localTrackingServer(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	ts, err := NewServer(context.Background(), ServerOptions{
		BackendStoreURI: "sqlite:///" + filepath.Join(dir, "mlgate.db"), ArtifactsDestination: filepath.Join(dir, "artifacts"),
		ServeArtifacts: true, Host: "127.0.0.1", Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := ts.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ts.Stop(context.Background()) })
	return ts.URL()
}

// serveLinear runs models serve of examples/models/linear with o's
// logging and payload settings until the returned stop, which waits for
// a graceful end and fails the test on an error; it returns once healthy.
func serveLinear(t *testing.T, o ServeOptions) (addr string, stop func()) {
	t.Helper()
	port := freePort(t)
	o.ModelURI, _ = filepath.Abs("../../examples/models/linear")
	o.Host, o.Port, o.Timeout = "127.0.0.1", port, 10*time.Second
	o.ONNXRuntimeLib, o.Logger = ortLib(t), slog.New(slog.DiscardHandler)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- RunServe(ctx, o) }()
	t.Cleanup(cancel)
	addr = "127.0.0.1:" + strconv.Itoa(port)
	waitHealthy(t, addr, done)
	return addr, func() {
		t.Helper()
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("serve: %v", err)
			}
		case <-time.After(60 * time.Second):
			t.Fatal("serve did not stop")
		}
	}
}

// models serve --payload-log-sample 1 logs every prediction with its
// answer to JSON Lines files uploaded under inference/ of the serving
// run: files rotated while serving and the last one at shutdown hold one
// record per request with the right fields, and the run counts them.
func TestServeLogsPayloadsToItsRun(t *testing.T) {
	ctx := context.Background()
	url := localTrackingServer(t)
	addr, stop := serveLinear(t, ServeOptions{
		LogExperiment: "serving", LogInterval: 150 * time.Millisecond, Tracking: tracking.Config{TrackingURI: url},
		PayloadSample: 1, PayloadInterval: 300 * time.Millisecond, PayloadExclude: []string{"route"},
	})
	c, err := tracking.NewClient(tracking.Config{TrackingURI: url})
	if err != nil {
		t.Fatal(err)
	}
	runID := waitRun(t, c, "serving")

	const n = 60
	sent := map[string]string{} // request body -> answer
	for i := range n {
		body := fmt.Sprintf(`{"inputs": [[%d.0, 2.0, 3.0]]}`, i)
		status, ans := invoke(t, addr, body)
		if status != 200 {
			t.Fatalf("status %d: %s", status, ans)
		}
		sent[body] = ans
		if i == n/2 {
			// a file closes by age meanwhile: the age is checked on a ticker of
			// the interval, so three intervals hold a tick past the first age
			time.Sleep(900 * time.Millisecond)
		}
	}
	bad := `{"inputs": [[1.0, 2.0]]}`
	if status, _ := invoke(t, addr, bad); status != 400 {
		t.Fatalf("a bad request answered %d", status)
	}
	stop()

	dst := t.TempDir()
	if err := c.DownloadArtifacts(ctx, runID, "inference", dst, artifacts.DownloadOptions{}); err != nil {
		t.Fatal(err)
	}
	recs, files := jsonlRecords(t, dst)
	if len(recs) != n+1 {
		t.Fatalf("%d records in %d files, want %d", len(recs), files, n+1)
	}
	if files < 2 {
		t.Errorf("%d file(s): no rotation by age while serving", files)
	}
	start := time.Now().Add(-5 * time.Minute).UnixMilli()
	errors4xx := 0
	for _, r := range recs {
		if _, ok := r["route"]; ok {
			t.Errorf("excluded column route written: %v", r)
		}
		ts, _ := r["timestamp_ms"].(float64)
		lat, _ := r["latency_ms"].(float64)
		if int64(ts) < start || !(lat > 0) || r["model_name"] != "model" || r["model_version"] != "" || r["sampling_fraction"] != 1.0 ||
			r["request_truncated"] != false || r["response_truncated"] != false {
			t.Errorf("record %v", r)
		}
		req, _ := r["request"].(string)
		switch r["status_code"] {
		case 200.0:
			if want, ok := sent[req]; !ok || r["response"] != want {
				t.Errorf("record of %q answered %v, the caller got %q", req, r["response"], want)
			}
			delete(sent, req)
		case 400.0:
			errors4xx++
			if req != bad || !strings.Contains(r["response"].(string), "error_code") {
				t.Errorf("bad request record %v", r)
			}
		default:
			t.Errorf("status %v", r["status_code"])
		}
	}
	if len(sent) != 0 || errors4xx != 1 {
		t.Errorf("%d answered requests have no record; %d error records", len(sent), errors4xx)
	}
	if got := sumValues(t, c, runID, "payloads_logged"); got != n+1 {
		t.Errorf("payloads_logged over the steps %v, want %d", got, n+1)
	}
	if got := sumValues(t, c, runID, "payloads_dropped"); got != 0 {
		t.Errorf("payloads_dropped %v", got)
	}
	run, err := c.GetRun(ctx, runID)
	if err != nil {
		t.Fatal(err)
	}
	params := map[string]string{}
	for _, p := range run.Data.Params {
		params[p.Key] = p.Value
	}
	if params["payload_log_sample"] != "1" || params["payload_log_exclude"] != "route" {
		t.Errorf("params %v", params)
	}
}

// With the tracking server down for the whole test, serving is
// unaffected: every request is answered at once, the payload files wait
// up to their bound and those beyond it are dropped and counted in the
// server's metrics.
func TestServePayloadsWithTrackingDown(t *testing.T) {
	pdir := t.TempDir()
	addr, stop := serveLinear(t, ServeOptions{
		LogExperiment: "serving", LogInterval: 100 * time.Millisecond,
		Tracking:      tracking.Config{TrackingURI: "http://127.0.0.1:" + strconv.Itoa(freePort(t)), HTTP: rest.Config{MaxRetries: -1}},
		PayloadSample: 1, PayloadRotateBytes: 1, PayloadMaxPending: 3, PayloadDir: pdir,
	})
	const n = 40
	begin := time.Now()
	for i := range n {
		if status, ans := invoke(t, addr, fmt.Sprintf(`{"inputs": [[%d.0, 2.0, 3.0]]}`, i)); status != 200 {
			t.Fatalf("status %d: %s", status, ans)
		}
	}
	if d := time.Since(begin); d > 10*time.Second {
		t.Errorf("%d requests took %v with tracking down", n, d)
	}
	// one record a file (rotated at 1 byte): 3 kept, the rest dropped
	dropped := regexp.MustCompile(`mlgate_payloads_dropped_total\{reason="backlog"\} (\d+)`)
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if m := dropped.FindSubmatch(b); m != nil && string(m[1]) == strconv.Itoa(n-3) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("dropped payloads not counted as %d:\n%s", n-3, grepLines(string(b), "mlgate_payloads"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	recs, files := jsonlRecords(t, pdir)
	if files != 3 || len(recs) != 3 {
		t.Errorf("%d records in %d files kept, want the last 3", len(recs), files)
	}
	for _, r := range recs {
		if r["status_code"] != 200.0 || !strings.Contains(r["request"].(string), "inputs") {
			t.Errorf("kept record %v", r)
		}
	}
}

func grepLines(s, sub string) string {
	var out []string
	for l := range strings.SplitSeq(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
