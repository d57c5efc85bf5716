//go:build integration && !race

package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mlgate/mlgate/registry"
	"github.com/mlgate/mlgate/rest"
	"github.com/mlgate/mlgate/rest/resttest"
	"github.com/mlgate/mlgate/rollout"
	"github.com/mlgate/mlgate/tracking"
)

// The whole rollout, end to end, against a real `mlgate server`: two
// replicas (`models serve --follow-rollout`, one of them with its
// tracking server down for its whole run) under steady load, and the
// controller (`mlgate rollout start` + `run`) reading the figures the
// other replica logs. A good candidate goes through 10, 50 and 100% and
// gets the alias without one failed request, each replica's share at
// each step within 3 points of the weight; a candidate that rejects what
// the load sends is rolled back within one interval and never gets the
// alias. Without -race: the load is thousands of requests per step.
func TestRolloutEndToEnd(t *testing.T) {
	_, url, _ := startServer(t, nil)
	e := startRolloutE2E(t, url)
	e.goodCandidate(t)
	e.badCandidate(t)
}

// The same with a real `mlflow server` as registry and tracking server.
func TestRolloutEndToEndOnMLflow(t *testing.T) {
	m, err := resttest.StartMLflow(resttest.Python(t), t.TempDir(), resttest.FreePort(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Stop)
	e := startRolloutE2E(t, m.URL)
	// mlflow server (one worker, SQLite) answers the tick's and the
	// replicas' calls behind the replicas' log-batch calls: a tick took
	// 1.6 s on the idle machine, about 3 s in CI beside the other test
	// packages, 4.4 s at load 17; a replica then followed a step more
	// than two watch intervals after it.
	e.slack, e.lag = 6*time.Second, 3*e2eWatch
	e.goodCandidate(t)
	e.badCandidate(t)
}

const (
	e2eWatch    = time.Second     // the replicas' --watch-interval
	e2eInterval = 4 * time.Second // the controller's --interval
	e2eModel    = "lin"
	e2eServing  = "serving" // the replicas' --log-experiment
	heavyEvery  = 20        // one request in heavyEvery of the load is heavy
)

// answer is one request of the load: when it was sent, which replica
// got it, the version that answered and its status (0: no answer).
type answer struct {
	sent    time.Time
	replica int
	heavy   bool // the third column is 1e6: slowShare spins for seconds
	version string
	status  int
	err     string
}

// change is a rollout state seen by the test's poller, and when.
type change struct {
	at     time.Time
	weight int
	status rollout.Status
}

type rolloutE2E struct {
	url      string
	reg      *registry.Client
	trk      *tracking.Client
	replicas [2]string     // addresses; replica 1 logs to a tracking server that is down
	slack    time.Duration // how long a tick's reads and writes may take
	lag      time.Duration // how long a replica may take to follow a change
	// prometheus, when set, is where the controller reads the figures
	// (rollout start --prometheus-url).
	prometheus string
	sleeps     atomic.Int32 // the controller's intervals so far
	slept      atomic.Int64 // when the controller's last interval began (Unix ns)
	woke       atomic.Int64 // when it ended

	mu      sync.Mutex
	answers []answer
	changes []change
}

// startRolloutE2E registers versions 1 (examples/models/linear), 2 (its
// intercept 10 more) and 3 (slowShare: it times out on the load's heavy
// requests, one in heavyEvery) of lin on the server at url, champion → 1, starts both
// replicas and the load, and polls the rollout's state until the test
// ends.
func startRolloutE2E(t *testing.T, url string) *rolloutE2E {
	ctx := context.Background()
	discard := slog.New(slog.DiscardHandler)
	trk, err := tracking.NewClient(tracking.Config{TrackingURI: url, Logger: discard})
	if err != nil {
		t.Fatal(err)
	}
	e := &rolloutE2E{url: url, trk: trk, reg: registry.NewClient(trk.Transport()), slack: time.Second, lag: 2 * e2eWatch}
	registerVersions(t, trk, e.reg, e2eModel, linearDir(t), shiftedLinear(t), slowShare(t))

	down := "http://127.0.0.1:" + strconv.Itoa(freePort(t)) // nothing listens there
	lib := ortLib(t)
	sctx, stop := context.WithCancel(ctx)
	var served sync.WaitGroup
	for i := range e.replicas {
		src, err := NewModelSource(ModelSourceOptions{Tracking: tracking.Config{TrackingURI: url, Logger: discard}, CacheDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		logTo := tracking.Config{TrackingURI: url}
		if i == 1 {
			logTo = tracking.Config{TrackingURI: down, HTTP: rest.Config{MaxRetries: -1}}
		}
		port := freePort(t)
		done := make(chan error, 1)
		served.Add(1)
		go func() {
			defer served.Done()
			done <- RunServe(sctx, ServeOptions{
				ModelURI: "models:/" + e2eModel + "@champion", Host: "127.0.0.1", Port: port, Timeout: time.Second,
				// A slot for each of the replica's 3 clients: a light request
				// never queues behind the bad candidate's heavy ones (which
				// hold theirs until the timeout), so only the heavy ones fail.
				MaxConcurrency: 4,
				ONNXRuntimeLib: lib, Logger: discard, Source: src, FollowRollout: true, WatchInterval: e2eWatch,
				LogExperiment: e2eServing, LogInterval: 500 * time.Millisecond, Tracking: logTo,
			})
		}()
		e.replicas[i] = "127.0.0.1:" + strconv.Itoa(port)
		waitHealthy(t, e.replicas[i], done)
	}
	waitRun(t, trk, e2eServing) // replica 0's; replica 1 has none

	lctx, stopLoad := context.WithCancel(ctx)
	var load sync.WaitGroup
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}, Timeout: 30 * time.Second}
	for i, addr := range e.replicas {
		for range 3 {
			load.Add(1)
			go func() {
				defer load.Done()
				for n := 0; lctx.Err() == nil; n++ {
					a := answer{sent: time.Now(), replica: i, heavy: n%heavyEvery == heavyEvery-1}
					body := `{"inputs": [[1.0, 2.0, 3.0]]}`
					if a.heavy {
						body = `{"inputs": [[1.0, 2.0, 1e6]]}`
					}
					var err error
					a.version, a.status, _, err = scoreBody(hc, addr, "", body)
					if err != nil {
						a.err = err.Error()
					}
					e.mu.Lock()
					e.answers = append(e.answers, a)
					e.mu.Unlock()
				}
			}()
		}
	}
	load.Add(1)
	go func() { // the poller
		defer load.Done()
		last := change{weight: -1}
		for lctx.Err() == nil {
			rm, err := e.reg.GetRegisteredModel(lctx, e2eModel)
			if err == nil {
				tags := map[string]string{}
				for _, tg := range rm.Tags {
					tags[tg.Key] = tg.Value
				}
				if st, err := rollout.FromTags(tags); err == nil && (st.Weight != last.weight || st.Status != last.status) {
					last = change{at: time.Now(), weight: st.Weight, status: st.Status}
					e.mu.Lock()
					e.changes = append(e.changes, last)
					e.mu.Unlock()
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	t.Cleanup(func() {
		stopLoad()
		load.Wait()
		stop()
		served.Wait()
	})
	return e
}

// slowShare is a copy of examples/models/linear whose model
// (testdata/slowshare, see gen.py there) spins round(max(third column))
// times before it answers: the load's heavy requests (third column 1e6)
// take seconds and are answered 504 at the replicas' 1 s timeout, the
// others in a millisecond.
func slowShare(t *testing.T) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "linear-slowshare")
	if err := os.CopyFS(dst, os.DirFS(linearDir(t))); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join("testdata", "slowshare", "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dst, "model.onnx"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	return dst
}

// controller is what `mlgate rollout` builds, as its flags would.
func (e *rolloutE2E) controller(t *testing.T) *rollout.Controller {
	t.Helper()
	c, closeFn, err := NewRolloutController(RolloutOptions{Tracking: tracking.Config{TrackingURI: e.url},
		Controller: rollout.Options{Owner: "e2e", Sleep: func(ctx context.Context, d time.Duration) error {
			e.sleeps.Add(1)
			e.slept.Store(time.Now().UnixNano())
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(d):
				e.woke.Store(time.Now().UnixNano())
				return nil
			}
		}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = closeFn(context.Background()) })
	return c
}

// rollout starts the candidate at 10, 50, 100% (`rollout start
// --candidate C --steps 10,50,100 --interval 4s --min-requests 50 --experiment
// serving`) and runs it (`rollout run`).
func (e *rolloutE2E) rollout(t *testing.T, candidate string) (started, ended time.Time, final *rollout.State, err error) {
	t.Helper()
	ctx := context.Background()
	c := e.controller(t)
	th := rollout.DefaultThresholds()
	th.MinRequests = 50
	started = time.Now()
	e.sleeps.Store(0)
	if _, err := c.Start(ctx, rollout.StartOptions{Model: e2eModel, Candidate: candidate, Alias: "champion",
		Steps: []int{10, 50, 100}, Interval: e2eInterval, Experiment: e2eServing, Prometheus: e.prometheus, Thresholds: th}); err != nil {
		t.Fatal(err)
	}
	final, err = c.Run(ctx, e2eModel, false)
	return started, time.Now(), final, err
}

// snapshot returns the answers and changes so far, in time order.
func (e *rolloutE2E) snapshot() ([]answer, []change) {
	e.mu.Lock()
	defer e.mu.Unlock()
	as := append([]answer(nil), e.answers...)
	cs := append([]change(nil), e.changes...)
	sort.Slice(as, func(i, j int) bool { return as[i].sent.Before(as[j].sent) })
	return as, cs
}

func (e *rolloutE2E) alias(t *testing.T) string {
	t.Helper()
	mv, err := e.reg.GetModelVersionByAlias(context.Background(), e2eModel, "champion")
	if err != nil {
		t.Fatal(err)
	}
	return mv.Version
}

// goodCandidate rolls version 2 out over version 1.
func (e *rolloutE2E) goodCandidate(t *testing.T) {
	started, ended, final, err := e.rollout(t, "2")
	if err != nil || final == nil || final.Status != rollout.Promoted {
		t.Fatalf("run: %+v, %v", final, err)
	}
	if got := e.alias(t); got != "2" {
		t.Fatalf("champion → %s after the promotion", got)
	}
	t.Logf("promoted %s after the start", ended.Sub(started).Round(time.Millisecond))
	time.Sleep(e2eWatch + time.Second) // the replicas follow the alias
	as, cs := e.snapshot()
	// the windows of the steps: from the change the poller saw, plus the
	// replicas' lag to read it, to the next change
	var steps []change
	for _, c := range cs {
		if c.status == rollout.Running && c.at.After(started) {
			steps = append(steps, c)
		}
	}
	var weights []int
	for _, c := range steps {
		weights = append(weights, c.weight)
	}
	if fmt.Sprint(weights) != "[10 50 100]" {
		t.Fatalf("the registry went through weights %v, want [10 50 100] (changes %+v)", weights, cs)
	}
	failed := 0
	for _, a := range as {
		if a.sent.After(started) && (a.status != http.StatusOK || a.err != "") {
			if failed++; failed <= 5 {
				t.Errorf("replica %d: status %d %s from version %q at %s", a.replica, a.status, a.err, a.version, a.sent.Format(time.StampMilli))
			}
		}
	}
	if failed > 0 {
		t.Fatalf("%d requests failed during the rollout", failed)
	}
	for i, s := range steps {
		from, to := s.at.Add(e.lag), ended
		if i+1 < len(steps) {
			to = steps[i+1].at.Add(-100 * time.Millisecond)
		}
		if i == 0 { // the first step loads the candidate: count from its first answer
			from = firstAnswer(as, from, to)
		}
		for r := range e.replicas {
			n, cand := 0, 0
			for _, a := range as {
				if a.replica == r && !a.sent.Before(from) && a.sent.Before(to) {
					n++
					if a.version == "2" {
						cand++
					} else if a.version != "1" {
						t.Errorf("replica %d answered with version %q", r, a.version)
					}
				}
			}
			share := float64(cand) / float64(max(n, 1)) * 100
			t.Logf("step %d%%: replica %d: %d requests, %.2f%% to the candidate", s.weight, r, n, share)
			if n < 2000 || math.Abs(share-float64(s.weight)) > 3 {
				t.Errorf("step %d%%: replica %d: %d requests, candidate share %.2f%%: want ≥ 2000 within 3 points", s.weight, r, n, share)
			}
		}
	}
	// after the promotion every replica serves the alias' version 2 alone
	for _, a := range as {
		if a.sent.After(ended.Add(e2eWatch+300*time.Millisecond)) && a.version != "2" {
			t.Fatalf("replica %d answered with version %q after the promotion", a.replica, a.version)
		}
	}
}

// firstAnswer is when the candidate (version 2) first answered within
// [from, to), or from.
func firstAnswer(as []answer, from, to time.Time) time.Time {
	for _, a := range as {
		if a.version == "2" && !a.sent.Before(from.Add(-e2eWatch)) && a.sent.Before(to) {
			if a.sent.After(from) {
				return a.sent
			}
			return from
		}
	}
	return from
}

// badCandidate rolls version 3, which answers 504 to the heavy share of
// the load (a 5xx rate of about 1/heavyEvery), out over
// the promoted version 2.
func (e *rolloutE2E) badCandidate(t *testing.T) {
	started, ended, final, err := e.rollout(t, "3")
	if !errors.Is(err, rollout.ErrRolledBack) || final == nil || final.Status != rollout.Failed || final.Weight != 0 {
		t.Fatalf("run: %+v, %v", final, err)
	}
	if got := e.alias(t); got != "2" {
		t.Fatalf("champion → %s after the rollback", got)
	}
	mv, err := e.reg.GetModelVersion(context.Background(), e2eModel, "3")
	if err != nil {
		t.Fatal(err)
	}
	reason := ""
	for _, tg := range mv.Tags {
		if tg.Key == rollout.RejectedTag {
			reason = tg.Value
		}
	}
	if !strings.Contains(reason, "error rate") {
		t.Errorf("version 3 %s = %q", rollout.RejectedTag, reason)
	}
	time.Sleep(e2eWatch + time.Second)
	as, cs := e.snapshot()
	var breach, last time.Time
	failed := map[int]int{}
	candidateOK := 0 // the candidate's answers to the light requests
	for _, a := range as {
		if !a.sent.After(started) {
			continue
		}
		if a.version == "3" && !a.heavy && a.status == http.StatusOK {
			candidateOK++
		}
		if a.status != http.StatusOK {
			if breach.IsZero() {
				breach = a.sent
			}
			last = a.sent
			failed[a.replica]++
			// only the candidate's heavy share fails, at the timeout
			if !a.heavy || a.status != http.StatusGatewayTimeout || a.version != "3" {
				t.Errorf("replica %d: status %d %s from version %q to a request heavy=%t", a.replica, a.status, a.err, a.version, a.heavy)
			}
		}
	}
	if breach.IsZero() || failed[0] == 0 || failed[1] == 0 || candidateOK == 0 {
		t.Fatalf("the bad candidate failed %v requests by replica and answered %d", failed, candidateOK)
	}
	t.Logf("the first failed request %s after the start; rolled back %s after it; the last failed %s after the rollback; failed by replica %v; reason %q",
		breach.Sub(started).Round(time.Millisecond), ended.Sub(breach).Round(time.Millisecond), last.Sub(ended).Round(time.Millisecond), failed, reason)
	if n := e.sleeps.Load(); n != 1 {
		t.Errorf("rolled back after %d analysis intervals, want the first", n)
	}
	// Rolled back within one interval of the breach: the analysis that
	// rolled back is the first (sleeps above), whose interval began at
	// most the start's and claim's writes after the first failure; the
	// tick's own reads and writes come on top. Each side is bounded by
	// slack, the time the server at hand needs for a tick's calls.
	slept, woke := time.Unix(0, e.slept.Load()), time.Unix(0, e.woke.Load())
	t.Logf("the interval began %s after the first failed request and ended %s after it; the tick took %s",
		slept.Sub(breach).Round(time.Millisecond), woke.Sub(breach).Round(time.Millisecond), ended.Sub(woke).Round(time.Millisecond))
	if d := slept.Sub(breach); d > e.slack {
		t.Errorf("the first interval began %s after the first failed request", d)
	}
	if d := ended.Sub(woke); d > e.slack {
		t.Errorf("the analysis and the rollback took %s, more than %s", d, e.slack)
	}
	if d := last.Sub(ended); d > e2eWatch+e.slack {
		t.Errorf("the candidate still failed requests %s after the rollback", d)
	}
	for _, c := range cs {
		if c.at.After(started) && c.status == rollout.Running && c.weight != 10 {
			t.Errorf("the bad candidate reached weight %d", c.weight)
		}
	}
}
