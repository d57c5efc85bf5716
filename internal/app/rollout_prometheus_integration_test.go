//go:build integration && !race

package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mlgate/mlgate/rollout"
)

// The whole rollout again, with the figures read from a real Prometheus
// that scrapes both replicas' /metrics (`rollout start --prometheus-url`)
// instead of their serving runs: the same steps, shares, promotion and
// rollback within one interval. Replica 1, whose tracking server is down,
// counts here too.
func TestRolloutEndToEndOnPrometheus(t *testing.T) {
	_, url, _ := startServer(t, nil)
	e := startRolloutE2E(t, url)
	e.prometheus = startPrometheus(t, e.replicas[:]...)
	e.goodCandidate(t)
	rep := e.lastReport(t)
	if rep.Runs != len(e.replicas) || rep.Candidate.Requests < 50 || rep.Stable.Requests == 0 {
		t.Errorf("the last analysis read %d replicas, %.0f candidate and %.0f stable requests: want both replicas and ≥ 50",
			rep.Runs, rep.Candidate.Requests, rep.Stable.Requests)
	}
	e.badCandidate(t)
	rep = e.lastReport(t)
	if rep.Candidate.Errors5xx == 0 || rep.Candidate.P99Ms < 500 {
		t.Errorf("the rollback's analysis: %+v; want the candidate's 5xx and its p99 at the 1 s timeout", rep.Candidate)
	}
}

// lastReport reads the last analysis the controller wrote.
func (e *rolloutE2E) lastReport(t *testing.T) rollout.Report {
	t.Helper()
	rm, err := e.reg.GetRegisteredModel(context.Background(), e2eModel)
	if err != nil {
		t.Fatal(err)
	}
	for _, tg := range rm.Tags {
		if tg.Key == rollout.ReportTag {
			var r rollout.Report
			if err := json.Unmarshal([]byte(tg.Value), &r); err != nil {
				t.Fatal(err)
			}
			t.Logf("last analysis: %d replicas, stable %+v, candidate %+v: %s %s", r.Runs, r.Stable, r.Candidate, r.Verdict, r.Reason)
			return r
		}
	}
	t.Fatal("no analysis report")
	return rollout.Report{}
}

// startPrometheus runs MLGATE_TEST_PROMETHEUS (scripts/prometheus.sh)
// scraping targets every 250 ms and returns its URL once it has scraped
// each of them.
func startPrometheus(t *testing.T, targets ...string) string {
	t.Helper()
	bin := os.Getenv("MLGATE_TEST_PROMETHEUS")
	if bin == "" {
		t.Fatal("MLGATE_TEST_PROMETHEUS is not set: it must name the prometheus program that scripts/prometheus.sh installs (make test sets it)")
	}
	dir := t.TempDir()
	quoted := make([]string, len(targets))
	for i, a := range targets {
		quoted[i] = strconv.Quote(a)
	}
	cfg := fmt.Sprintf("global:\n  scrape_interval: 250ms\n  scrape_timeout: 200ms\nscrape_configs:\n  - job_name: replicas\n    static_configs:\n      - targets: [%s]\n",
		strings.Join(quoted, ", "))
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	cmd := exec.Command(bin, "--config.file="+filepath.Join(dir, "prometheus.yml"), "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn")
	out, err := os.Create(filepath.Join(dir, "log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = out.Close()
	})
	url := "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		if n := promUp(url); n == len(targets) {
			return url
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "log"))
			t.Fatalf("prometheus at %s did not scrape %d targets within 30 s; its log:\n%s", url, len(targets), log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// promUp counts the targets Prometheus at url scraped successfully.
func promUp(url string) int {
	resp, err := http.Get(url + "/api/v1/query?query=up")
	if err != nil {
		return 0
	}
	defer func() { _ = resp.Body.Close() }()
	var out struct {
		Data struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if json.NewDecoder(resp.Body).Decode(&out) != nil {
		return 0
	}
	n := 0
	for _, r := range out.Data.Result {
		if r.Value[1] == "1" {
			n++
		}
	}
	return n
}
