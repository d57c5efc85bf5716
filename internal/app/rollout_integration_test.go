//go:build integration

package app

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mlgate/mlgate/registry"
	"github.com/mlgate/mlgate/rest"
	"github.com/mlgate/mlgate/rest/resttest"
	"github.com/mlgate/mlgate/rollout"
	"github.com/mlgate/mlgate/tracking"
)

// The rollout controller against a real `mlgate server` (in-process) and
// a real `mlflow server`: refusals write nothing, a good candidate goes
// through every step and gets the alias, a failing one is rolled back at
// the first interval, too little traffic waits, a killed controller is
// resumed by another, promote and abort. The replicas are simulated: the
// test logs two serving runs' per-version figures itself, each interval,
// at the weight the registry holds.
func TestRolloutController(t *testing.T) {
	t.Run("mlgate", func(t *testing.T) {
		_, url, _ := startServer(t, nil)
		rolloutScenarios(t, url)
	})
	t.Run("mlflow", func(t *testing.T) {
		srv, err := resttest.StartMLflow(resttest.Python(t), t.TempDir(), resttest.FreePort(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(srv.Stop)
		rolloutScenarios(t, srv.URL)
	})
}

// rolloutEnv is one registry/tracking server with a registered model of
// three versions, champion → 1.
type rolloutEnv struct {
	t     *testing.T
	url   string
	model string
	exp   string
	reg   *registry.Client
	trk   *tracking.Client
	runs  [2]string // the two simulated replicas' serving runs
	mu    sync.Mutex
	step  int64
	// clock, when set, is the controller's and the replicas' clock
	// instead of the real one
	clock *virtualClock
}

// virtualClock moves only when the controller sleeps, so that what a
// test asserts of the analysis windows does not depend on how fast the
// tracking server answers (a real mlflow server on a loaded machine can
// take most of an interval).
type virtualClock struct {
	mu sync.Mutex
	t  time.Time
}

func (v *virtualClock) now() time.Time {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.t
}

func (v *virtualClock) advance(d time.Duration) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.t = v.t.Add(d)
}

// now is the replicas' clock.
func (e *rolloutEnv) now() time.Time {
	if e.clock != nil {
		return e.clock.now()
	}
	return time.Now()
}

// pause lets time pass for the controller: d of the virtual clock, or
// really.
func (e *rolloutEnv) pause(ctx context.Context, d time.Duration) error {
	if e.clock != nil {
		e.clock.advance(d)
		return ctx.Err()
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// rolloutInterval is long enough for a real mlflow server on a loaded
// machine to answer a tick's calls well within it.
const rolloutInterval = time.Second

func newRolloutEnv(t *testing.T, url, model string) *rolloutEnv {
	t.Helper()
	ctx := context.Background()
	tr, err := rest.New(rest.Config{BaseURL: url, MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	trk, err := tracking.NewClient(tracking.Config{TrackingURI: url})
	if err != nil {
		t.Fatal(err)
	}
	e := &rolloutEnv{t: t, url: url, model: model, exp: "serving-" + model, reg: registry.NewClient(tr), trk: trk}
	if _, err := e.reg.CreateRegisteredModel(ctx, model, "", nil); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		mv, err := e.reg.CreateModelVersion(ctx, registry.CreateVersionRequest{Name: model, Source: fmt.Sprintf("s3://rollout-test/%s/%d", model, i)})
		if err != nil || mv.Version != fmt.Sprint(i) {
			t.Fatalf("version %d: %v %+v", i, err, mv)
		}
	}
	if err := e.reg.SetRegisteredModelAlias(ctx, model, "champion", "1"); err != nil {
		t.Fatal(err)
	}
	expID, err := trk.CreateExperiment(ctx, e.exp)
	if err != nil {
		t.Fatal(err)
	}
	for i := range e.runs {
		r, err := trk.CreateRun(ctx, expID, tracking.WithRunName(fmt.Sprintf("replica-%d", i)),
			tracking.WithRunTags(map[string]string{"mlgate.rollout.model": model}))
		if err != nil {
			t.Fatal(err)
		}
		e.runs[i] = r.Info.RunID
	}
	return e
}

// controller returns a controller whose every sleep is one analysis
// interval after which traffic(weight) is logged by both replicas.
func (e *rolloutEnv) controller(owner string, traffic func(ctx context.Context, st *rollout.State) error) *rollout.Controller {
	c, closeFn, err := NewRolloutController(RolloutOptions{
		Tracking: tracking.Config{TrackingURI: e.url, HTTP: rest.Config{MaxRetries: -1}},
		Controller: rollout.Options{Owner: owner, Now: e.now, Sleep: func(ctx context.Context, d time.Duration) error {
			if err := e.pause(ctx, d); err != nil {
				return err
			}
			v, err := rollout.New(e.reg, e.trk, rollout.Options{}).Status(ctx, e.model)
			if err != nil {
				return err
			}
			if traffic != nil {
				if err := traffic(ctx, v.State); err != nil {
					return err
				}
			}
			// the figures end before the analysis' now
			return e.pause(ctx, 5*time.Millisecond)
		}},
	})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = closeFn(context.Background()) })
	return c
}

// serve logs one interval of each replica: n requests split by the
// state's weight; the candidate fails errRate of its requests with 5xx.
func (e *rolloutEnv) serve(ctx context.Context, st *rollout.State, n int, errRate float64) error {
	e.mu.Lock()
	e.step++
	step := e.step
	e.mu.Unlock()
	now := e.now().UnixMilli()
	for _, run := range e.runs {
		cand := float64(n * st.Weight / 100)
		var ms []tracking.Metric
		add := func(v, name string, val float64) {
			ms = append(ms, tracking.Metric{Key: "version." + v + "." + name, Value: tracking.Float(val), Step: tracking.Int64(step), Timestamp: tracking.Int64(now)})
		}
		if stable := float64(n) - cand; stable > 0 {
			add(st.Stable, "requests", stable)
			add(st.Stable, "errors_5xx", 0)
			add(st.Stable, "latency_p99_ms", 10)
		}
		if cand > 0 {
			add(st.Candidate, "requests", cand)
			add(st.Candidate, "errors_5xx", float64(int(cand*errRate)))
			add(st.Candidate, "errors_4xx", 1)
			add(st.Candidate, "latency_p99_ms", 12)
		}
		if err := e.trk.LogBatch(ctx, run, ms, nil, nil); err != nil {
			return err
		}
	}
	return nil
}

// nothingMoved checks that the model has no rollout and champion → want.
func (e *rolloutEnv) nothingMoved(want string) {
	e.t.Helper()
	rm, err := e.reg.GetRegisteredModel(context.Background(), e.model)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, tg := range rm.Tags {
		if strings.HasPrefix(tg.Key, "mlgate.rollout") {
			e.t.Errorf("tag %s = %s was written", tg.Key, tg.Value)
		}
	}
	if got := e.alias(); got != want {
		e.t.Errorf("champion → %s, want %s", got, want)
	}
}

func (e *rolloutEnv) alias() string {
	mv, err := e.reg.GetModelVersionByAlias(context.Background(), e.model, "champion")
	if err != nil {
		e.t.Fatal(err)
	}
	return mv.Version
}

func (e *rolloutEnv) versionTag(version, key string) string {
	mv, err := e.reg.GetModelVersion(context.Background(), e.model, version)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, tg := range mv.Tags {
		if tg.Key == key {
			return tg.Value
		}
	}
	return ""
}

func (e *rolloutEnv) start(c *rollout.Controller, candidate string, steps ...int) (*rollout.State, error) {
	th := rollout.DefaultThresholds()
	th.MaxErrorRate, th.MinRequests = 0.05, 50
	return c.Start(context.Background(), rollout.StartOptions{Model: e.model, Candidate: candidate, Alias: "champion",
		Steps: steps, Interval: rolloutInterval, Experiment: e.exp, Thresholds: th})
}

func rolloutScenarios(t *testing.T, url string) {
	ctx := context.Background()
	t.Run("refusals write nothing", func(t *testing.T) {
		e := newRolloutEnv(t, url, "refused")
		c := e.controller("ctl-a", nil)
		for _, tc := range []struct {
			o  rollout.StartOptions
			in string
		}{
			{rollout.StartOptions{Model: "nope", Candidate: "2"}, "no such registered model"},
			{rollout.StartOptions{Candidate: "99"}, "has no version 99"},
			{rollout.StartOptions{Candidate: "challenger"}, `no version or alias "challenger"`},
			{rollout.StartOptions{Candidate: "2", Steps: []int{5, 150}}, "step weight 150 is not between 0 and 100"},
			{rollout.StartOptions{Candidate: "2", Steps: []int{-5, 50}}, "not between 0 and 100"},
			{rollout.StartOptions{Candidate: "2", Steps: []int{50, 25}}, "steps [50 25] must increase"},
			{rollout.StartOptions{Candidate: "2", Steps: []int{0, 50}}, "must increase"},
			{rollout.StartOptions{Candidate: "2", Shadow: 101}, "shadow share 101"},
			{rollout.StartOptions{Candidate: "2", Alias: "gold"}, `has no alias "gold"`},
			{rollout.StartOptions{Candidate: "1"}, "already names"},
			{rollout.StartOptions{Candidate: "champion"}, "already names"},
		} {
			o := tc.o
			if o.Model == "" {
				o.Model = e.model
			}
			if o.Alias == "" {
				o.Alias = "champion"
			}
			if o.Steps == nil {
				o.Steps = []int{10, 100}
			}
			o.Interval, o.Experiment, o.Thresholds = time.Second, e.exp, rollout.DefaultThresholds()
			if _, err := c.Start(ctx, o); err == nil || !strings.Contains(err.Error(), tc.in) {
				t.Errorf("%+v: %v, want %q", tc.o, err, tc.in)
			}
		}
		e.nothingMoved("1")
		if _, err := c.Run(ctx, e.model, false); err == nil || !strings.Contains(err.Error(), "has no rollout") {
			t.Errorf("run without a rollout: %v", err)
		}
	})

	t.Run("good candidate advances and is promoted; bad one rolled back", func(t *testing.T) {
		e := newRolloutEnv(t, url, "good")
		var weights []int
		other := e.controller("ctl-b", nil)
		first := true
		c := e.controller("ctl-a", func(ctx context.Context, st *rollout.State) error {
			if first { // a second controller is refused while ctl-a drives it
				first = false
				if _, err := other.Run(ctx, e.model, false); !errors.Is(err, rollout.ErrOwned) {
					t.Errorf("second run: %v", err)
				}
				if _, err := e.start(other, "3", 50, 100); err == nil || !strings.Contains(err.Error(), "in progress") {
					t.Errorf("second start: %v", err)
				}
			}
			weights = append(weights, st.Weight)
			return e.serve(ctx, st, 1000, 0)
		})
		st, err := e.start(c, "2", 10, 50, 100)
		if err != nil {
			t.Fatal(err)
		}
		if st.Weight != 10 || st.Stable != "1" || st.Candidate != "2" || st.Status != rollout.Running {
			t.Fatalf("started %+v", st)
		}
		final, err := c.Run(ctx, e.model, false)
		if err != nil {
			t.Fatal(err)
		}
		if final.Status != rollout.Promoted || e.alias() != "2" {
			t.Fatalf("final %+v, champion → %s", final, e.alias())
		}
		if fmt.Sprint(weights) != "[10 50 100]" {
			t.Errorf("weights per interval %v, want [10 50 100]", weights)
		}
		v, err := c.Status(ctx, e.model)
		if err != nil || v.Report == nil || v.Report.Verdict != rollout.Pass || v.Report.Runs != 2 || v.Report.Candidate.Requests != 2000 {
			t.Fatalf("last analysis %+v (%v)", v.Report, err)
		}

		// version 3 fails 20% of its requests: rolled back at the first interval
		ticks := 0
		bad := e.controller("ctl-c", func(ctx context.Context, st *rollout.State) error {
			ticks++
			return e.serve(ctx, st, 1000, 0.2)
		})
		if _, err := e.start(bad, "3", 10, 50, 100); err != nil {
			t.Fatal(err)
		}
		final, err = bad.Run(ctx, e.model, false)
		if !errors.Is(err, rollout.ErrRolledBack) || !strings.Contains(err.Error(), "error rate 0.2000") {
			t.Fatalf("bad candidate: %v", err)
		}
		if ticks != 1 || final.Status != rollout.Failed || final.Weight != 0 || e.alias() != "2" {
			t.Fatalf("after %d intervals: %+v, champion → %s", ticks, final, e.alias())
		}
		if got := e.versionTag("3", rollout.RejectedTag); !strings.Contains(got, "error rate 0.2000") {
			t.Errorf("version 3 %s = %q", rollout.RejectedTag, got)
		}
		if e.versionTag("2", rollout.RejectedTag) != "" {
			t.Error("the promoted version carries a rejection")
		}
		if _, err := bad.Run(ctx, e.model, false); err == nil || !strings.Contains(err.Error(), "already ended") {
			t.Errorf("run after the rollback: %v", err)
		}
	})

	t.Run("figures within --settle of a change are not judged", func(t *testing.T) {
		e := newRolloutEnv(t, url, "settled")
		// the windows are asserted to the interval: on the clock the
		// controller sleeps by, not on how long mlflow takes to answer
		e.clock = &virtualClock{t: time.Now()}
		// the interval after each change fails half the candidate's
		// requests (the replicas still mixing the old split in); the next
		// one is clean. With Settle longer than one interval the bad one
		// is never judged, and each step takes two intervals.
		var weights []int
		var reasons []string
		changed := -1
		var c *rollout.Controller
		c = e.controller("ctl-s", func(ctx context.Context, st *rollout.State) error {
			weights = append(weights, st.Weight)
			if v, err := c.Status(ctx, e.model); err == nil && v.Report != nil {
				reasons = append(reasons, v.Report.Reason)
			}
			errRate := 0.0
			if st.Weight != changed {
				changed, errRate = st.Weight, 0.5
			}
			return e.serve(ctx, st, 1000, errRate)
		})
		th := rollout.DefaultThresholds()
		th.MaxErrorRate, th.MinRequests = 0.05, 50
		if _, err := c.Start(ctx, rollout.StartOptions{Model: e.model, Candidate: "2", Alias: "champion", Steps: []int{20, 100},
			Interval: rolloutInterval, Settle: rolloutInterval * 3 / 2, Experiment: e.exp, Thresholds: th}); err != nil {
			t.Fatal(err)
		}
		final, err := c.Run(ctx, e.model, false)
		if err != nil {
			t.Fatalf("run: %v (weights per interval %v, analyses %q)", err, weights, reasons)
		}
		if final.Status != rollout.Promoted || e.alias() != "2" {
			t.Fatalf("final %+v, champion → %s", final, e.alias())
		}
		if fmt.Sprint(weights) != "[20 20 100 100]" {
			t.Errorf("weights per interval %v, want [20 20 100 100]", weights)
		}
		settling := 0
		for _, r := range reasons {
			if strings.HasPrefix(r, "settling: ") {
				settling++
			}
		}
		if settling != 2 {
			t.Errorf("analyses %q: want two that wait while settling", reasons)
		}
	})

	t.Run("too little traffic waits; a killed controller is resumed", func(t *testing.T) {
		e := newRolloutEnv(t, url, "resumed")
		kctx, kill := context.WithCancel(ctx)
		defer kill()
		ticks := 0
		c := e.controller("ctl-a", func(ctx context.Context, st *rollout.State) error {
			if ticks++; ticks == 3 {
				kill()
				return nil
			}
			return e.serve(ctx, st, 20, 0) // 4 candidate requests per replica: fewer than 50
		})
		if _, err := e.start(c, "2", 20, 100); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Run(kctx, e.model, false); !errors.Is(err, context.Canceled) {
			t.Fatalf("killed run: %v", err)
		}
		v, err := c.Status(ctx, e.model)
		if err != nil {
			t.Fatal(err)
		}
		if st := v.State; st.Status != rollout.Running || st.Weight != 20 || st.Owner != "ctl-a" {
			t.Fatalf("after the kill: %+v", st)
		}
		if r := v.Report; r == nil || r.Verdict != rollout.Wait || !strings.Contains(r.Reason, "fewer than the 50") {
			t.Fatalf("last analysis %+v", r)
		}
		// ctl-a's heartbeat is fresh: another controller is refused ...
		next := e.controller("ctl-b", func(ctx context.Context, st *rollout.State) error { return e.serve(ctx, st, 1000, 0) })
		if _, err := next.Run(ctx, e.model, false); !errors.Is(err, rollout.ErrOwned) {
			t.Fatalf("run beside a fresh controller: %v", err)
		}
		// the same controller (same owner) restarted resumes at once
		rctx, stop := context.WithCancel(ctx)
		same := e.controller("ctl-a", func(ctx context.Context, st *rollout.State) error {
			stop()
			return nil
		})
		if _, err := same.Run(rctx, e.model, false); !errors.Is(err, context.Canceled) {
			t.Fatalf("restarted ctl-a: %v", err)
		}
		// ... and another one once ctl-a is stale, from the registry alone
		time.Sleep(rollout.StaleAfter*rolloutInterval + 100*time.Millisecond)
		final, err := next.Run(ctx, e.model, false)
		if err != nil || final.Status != rollout.Promoted || final.Owner != "ctl-b" || e.alias() != "2" {
			t.Fatalf("resumed: %+v, %v, champion → %s", final, err, e.alias())
		}
	})

	t.Run("abort and promote", func(t *testing.T) {
		e := newRolloutEnv(t, url, "manual")
		c := e.controller("ctl-a", nil)
		// a rollout whose experiment holds no serving run waits and says why
		kctx, kill := context.WithCancel(ctx)
		defer kill()
		ticks := 0
		lost := e.controller("ctl-lost", func(context.Context, *rollout.State) error {
			if ticks++; ticks == 2 {
				kill()
			}
			return nil
		})
		if _, err := lost.Start(ctx, rollout.StartOptions{Model: e.model, Candidate: "3", Alias: "champion", Steps: []int{5, 50},
			Interval: rolloutInterval, Experiment: "nowhere", Thresholds: rollout.DefaultThresholds()}); err != nil {
			t.Fatal(err)
		}
		if _, err := lost.Run(kctx, e.model, false); !errors.Is(err, context.Canceled) {
			t.Fatalf("run: %v", err)
		}
		v, err := c.Status(ctx, e.model)
		if err != nil || v.Report == nil || v.Report.Verdict != rollout.Wait ||
			!strings.Contains(v.Report.Reason, `no serving run tagged mlgate.rollout.model = manual in experiment "nowhere"`) {
			t.Fatalf("last analysis %+v (%v)", v.Report, err)
		}
		// anyone may abort it
		st, err := c.Abort(ctx, e.model, "")
		if err != nil || st.Status != rollout.Aborted || st.Weight != 0 || !strings.Contains(st.Reason, "ctl-a") || e.alias() != "1" {
			t.Fatalf("abort: %+v %v, champion → %s", st, err, e.alias())
		}
		if _, err := c.Abort(ctx, e.model, ""); err == nil || !strings.Contains(err.Error(), "no running rollout") {
			t.Errorf("second abort: %v", err)
		}
		if _, err := c.Run(ctx, e.model, false); err == nil || !strings.Contains(err.Error(), "already ended") {
			t.Errorf("run of an aborted rollout: %v", err)
		}
		if err := e.reg.SetRegisteredModelAlias(ctx, e.model, "challenger", "3"); err != nil {
			t.Fatal(err)
		}
		if st, err = e.start(c, "challenger", 5, 50); err != nil || st.Candidate != "3" {
			t.Fatalf("start by alias: %+v %v", st, err)
		}
		if st, err = c.Promote(ctx, e.model); err != nil || st.Status != rollout.Promoted || st.Weight != 100 || e.alias() != "3" {
			t.Fatalf("promote: %+v %v, champion → %s", st, err, e.alias())
		}
		if _, err := c.Promote(ctx, e.model); err == nil || !strings.Contains(err.Error(), "no running rollout") {
			t.Errorf("second promote: %v", err)
		}
	})
}
