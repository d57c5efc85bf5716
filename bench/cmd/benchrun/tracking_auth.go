package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"sync/atomic"
	"time"

	"github.com/mlgate/mlgate/bench"
)

// The basic-auth tracking run: mlgate server with MLflow's basic-auth app
// (users, per-experiment permissions), loaded by a non-admin user that
// creates its experiments and so holds MANAGE on them: every request is
// authenticated and checked, as in a shared deployment.
const (
	systemMlgateAuth   = "mlgate server (basic-auth)"
	systemMlgateServer = "mlgate server"
	benchAdminPass     = "bench-admin-password"
	benchUserPass      = "bench-user-password"
)

// benchAuth signs a tracking run's requests in.
type benchAuth struct {
	hdr atomic.Pointer[http.Header] // holds the Authorization value
}

func (b *benchAuth) use(user, pass string) {
	h := http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))}}
	b.hdr.Store(&h)
}

// header is what each request adds (nil for no auth). It goes on the
// request itself, not through a wrapping RoundTripper: http.Client runs a
// goroutine and a timer per request for a RoundTripper it does not know,
// which would slow the load generator of the basic-auth server alone.
func (b *benchAuth) header() http.Header {
	if b == nil {
		return nil
	}
	if h := b.hdr.Load(); h != nil {
		return *h
	}
	return nil
}

// env writes the basic-auth ini into dir and returns the variables naming it.
func (b *benchAuth) env(dir string) ([]string, error) {
	ini := filepath.Join(dir, "basic_auth.ini")
	body := fmt.Sprintf("[mlflow]\ndefault_permission = NO_PERMISSIONS\ndatabase_uri = sqlite:///%s\nadmin_username = admin\nadmin_password = %s\n",
		filepath.Join(dir, "basic_auth.db"), benchAdminPass)
	b.use("admin", benchAdminPass)
	return []string{"MLFLOW_AUTH_CONFIG_PATH=" + ini}, os.WriteFile(ini, []byte(body), 0o600)
}

// login creates the non-admin bench user as the admin and switches to it.
func (b *benchAuth) login(ctx context.Context, a *api) error {
	err := a.post(ctx, "/api/2.0/mlflow/users/create", map[string]any{"username": "bench", "password": benchUserPass}, nil)
	b.use("bench", benchUserPass)
	return err
}

func mlgateAuthServer() trackingServer {
	return trackingServer{system: systemMlgateAuth, dir: "mlgate-auth", auth: &benchAuth{},
		args: func(cfg *config, dir string, port int) (string, []string) {
			return cfg.mlgate, []string{"server", "--app-name", "basic-auth", "--backend-store-uri", "sqlite:///" + filepath.Join(dir, "mlgate.db"),
				"--default-artifact-root", filepath.Join(dir, "artifacts"), "--host", "127.0.0.1", "--port", fmt.Sprint(port)}
		}}
}

// permissionTargets compares mlgate server with its security middleware
// and basic-auth permissions against the same server with neither, and
// the server with its middleware alone against it without, each measured
// side by side with it (measureTracking), per op and concurrency (issue
// 20: ≥ 95%), with each one's server CPU time per request.
func permissionTargets(cfg *config, rep *bench.Report, add func(ok, known bool, name, detail string)) {
	turnTargets(cfg, rep, add, systemMlgateServer, systemMlgateServerOpen,
		"issue 20: mlgate server with its security middleware ≥ 95%% of its throughput without, %s, c=%d")
	turnTargets(cfg, rep, add, systemMlgateAuth, systemMlgateServerOpen,
		"issue 20: mlgate server with the security middleware and basic-auth permissions ≥ 95%% of its throughput with neither, %s, c=%d")
}

// turnTargets checks, per op and concurrency, that system on keeps 95% of
// system off's throughput: the median of the rounds' ratios (to the mean
// of off and its A/A control when both were measured) when the two were
// measured in rounds, else the whole points'. title takes the op and the
// concurrency.
func turnTargets(cfg *config, rep *bench.Report, add func(ok, known bool, name, detail string), onSystem, offSystem, title string) {
	var off, on *bench.TrackingRun
	for i := range rep.Tracking {
		switch rep.Tracking[i].System {
		case offSystem:
			off = &rep.Tracking[i]
		case onSystem:
			on = &rep.Tracking[i]
		}
	}
	ms := func(d time.Duration) string { return bench.Ms(d) + " ms" }
	for _, op := range trackingOps {
		for _, c := range cfg.trackConcs {
			name := fmt.Sprintf(title, op, c)
			a, b := on.Op(op, c), off.Op(op, c)
			if a == nil || b == nil || b.Throughput == 0 {
				add(false, false, name, "not measured in this run")
				continue
			}
			base, pair := baselineRates(offSystem, op, c)
			rs := ratios(turnRates[turnKey{onSystem, op, c}], base)
			ratio, how := a.Throughput/b.Throughput, "whole points"
			if len(rs) > 0 {
				ratio = median(rs)
				how = fmt.Sprintf("median of %d rounds' ratios %.0f%%", len(rs), 100*ratio)
				if pair {
					how += " to the mean of the two servers without (the A/A pair)"
				}
				if a.Mode == "lockstep" {
					how = "in lockstep, " + how
				}
				how += fmt.Sprintf(" (rounds %.0f–%.0f%%", 100*rs[0], 100*rs[len(rs)-1])
				if aa, ok := medianRoundRatio(turnKey{systemMlgateServerControl, op, c}, turnKey{offSystem, op, c}); ok {
					how += fmt.Sprintf("; A/A control %.0f%%", 100*aa)
				}
				how += ")"
			}
			add(ratio >= 0.95, true, name, fmt.Sprintf("%s (%s vs %s req/s overall = %.0f%%); p50 %s vs %s; server CPU %s vs %s µs per request",
				how, bench.Rate(a.Throughput), bench.Rate(b.Throughput), 100*a.Throughput/b.Throughput, ms(a.Latency.P50), ms(b.Latency.P50),
				bench.Us(a.PerRequest(a.ServerCPU)), bench.Us(b.PerRequest(b.ServerCPU))))
		}
	}
}

// baselineRates are what a target compares with, round by round: the mean
// of the server without and its A/A twin when both were measured (two
// identical servers' luck averaged, pair true), else the server without
// alone.
func baselineRates(off, op string, c int) (rates []float64, pair bool) {
	a, b := turnRates[turnKey{off, op, c}], turnRates[turnKey{systemMlgateServerControl, op, c}]
	if off == systemMlgateServerControl || len(a) == 0 || len(a) != len(b) {
		return a, false
	}
	mean := make([]float64, len(a))
	for i := range a {
		mean[i] = (a[i] + b[i]) / 2
	}
	return mean, true
}

// measureTracking measures every op at every concurrency on the sessions,
// recording each server's CPU time. Several sessions (the mlgate servers)
// are warmed up on each op; at concurrency 1 they are then measured in
// lockstep (lockstepRounds), at higher ones they take turns in slices
// (turnSlices, as the serving pairs do), so that the drift of a shared
// machine hits them alike and their ratios can be trusted.
func measureTracking(ctx context.Context, cfg *config, ss ...*trackingSession) {
	for _, name := range trackingOps {
		live := liveSessions(ss)
		for _, s := range live {
			s.t.Ops = append(s.t.Ops, bench.TrackingOp{Op: name})
			if len(live) > 1 {
				bench.Closed(ctx, s.ops[name], 16, bench.Bounds{Duration: cfg.warm})
			}
		}
		for _, c := range cfg.trackConcs {
			live := liveSessions(live)
			one := func(s *trackingSession, b bench.Bounds) bench.Result {
				cpu := startCPU(s.proc.Cmd.Process.Pid)
				r := bench.Closed(ctx, s.ops[name], c, b)
				r.ServerCPU, r.ClientCPU = cpu.stop()
				return r
			}
			var res []bench.Result
			if len(live) == 1 {
				res = []bench.Result{one(live[0], bench.Bounds{Duration: cfg.point, MaxRequests: cfg.maxReqPerPoint})}
			} else {
				b := bench.Bounds{Duration: cfg.point / pairedRounds, MaxRequests: cfg.maxReqPerPoint / pairedRounds}
				var parts [][]bench.Result
				if c == 1 {
					parts = lockstepRounds(ctx, live, name, b)
				} else {
					parts = turnSlices(len(live), turnRounds, func(i int) bench.Result { return one(live[i], b) })
				}
				for i, s := range live {
					res = append(res, bench.Merge(parts[i]))
					for _, r := range parts[i] {
						k := turnKey{s.t.System, name, c}
						turnRates[k] = append(turnRates[k], r.Throughput)
					}
				}
			}
			for i, s := range live {
				o := &s.t.Ops[len(s.t.Ops)-1]
				o.Results = append(o.Results, res[i])
				if res[i].Hist().Count() == 0 {
					s.t.Err = fmt.Sprintf("%s at concurrency %d: no successful answer (%d errors: %s)", name, c, res[i].Errors, res[i].FirstError)
				}
			}
		}
	}
}

// lockstepRounds measures op name at concurrency 1 on every session in
// lockstep (bench.Lockstep), in trackingRounds rounds that each give every
// session about b.Duration of its own time; each server's CPU time is
// taken over the round, the load generator's shared out evenly.
func lockstepRounds(ctx context.Context, live []*trackingSession, name string, b bench.Bounds) [][]bench.Result {
	ops := make([]bench.Op, len(live))
	for i, s := range live {
		ops[i] = s.ops[name]
	}
	parts := make([][]bench.Result, len(live))
	round := bench.Bounds{Duration: time.Duration(len(live)) * b.Duration, MaxRequests: b.MaxRequests}
	for range trackingRounds {
		marks := make([]cpuMark, len(live))
		for i, s := range live {
			marks[i] = startCPU(s.proc.Cmd.Process.Pid)
		}
		rs := bench.Lockstep(ctx, ops, round)
		for i := range live {
			server, client := marks[i].stop()
			rs[i].ServerCPU, rs[i].ClientCPU = server, client/time.Duration(len(live))
			parts[i] = append(parts[i], rs[i])
		}
	}
	return parts
}

// trackingRounds is how many rounds the mlgate tracking servers are
// measured in at each point, each giving every server cfg.point/pairedRounds
// of its own time (a slice in turns, or its share of a lockstep round):
// twice the serving pairs' rounds. A stall of the machine moves one
// round's ratio; the median of 12 holds.
const trackingRounds = 2 * pairedRounds

// turnRounds is how many slices in turns the tracking servers take at
// concurrency above 1: twice trackingRounds. Slices one after the other
// see the machine's drift that a lockstep round averages out (A/A rounds
// 84–112% at concurrency 16), and a median of 24 of them moves about
// 1/√2 as much as one of 12.
const turnRounds = 2 * trackingRounds

// turnKey names one system's op at one concurrency.
type turnKey struct {
	system, op string
	c          int
}

// turnRates holds the throughput of each round per system, op and
// concurrency, as measureTracking measured them side by side.
var turnRates = map[turnKey][]float64{}

// medianRoundRatio is the median over rounds of a's throughput over b's in
// the same round: a stall of the shared machine that hits one slice moves
// one round's ratio, not the median (0, false when not measured in rounds).
func medianRoundRatio(a, b turnKey) (float64, bool) {
	rs := ratios(turnRates[a], turnRates[b])
	if len(rs) == 0 {
		return 0, false
	}
	return median(rs), true
}

// ratios are ra's rates over rb's round by round, sorted (none when the
// two were not measured in the same rounds).
func ratios(ra, rb []float64) []float64 {
	if len(ra) == 0 || len(ra) != len(rb) {
		return nil
	}
	var rs []float64
	for i := range ra {
		if rb[i] > 0 {
			rs = append(rs, ra[i]/rb[i])
		}
	}
	sort.Float64s(rs)
	return rs
}

// median of sorted, non-empty rs.
func median(rs []float64) float64 {
	if n := len(rs); n%2 == 0 {
		return (rs[n/2-1] + rs[n/2]) / 2
	}
	return rs[len(rs)/2]
}

// liveSessions keeps the sessions that have not failed.
func liveSessions(ss []*trackingSession) []*trackingSession {
	var out []*trackingSession
	for _, s := range ss {
		if s.t.Err == "" {
			out = append(out, s)
		}
	}
	return out
}

// trackingTurnsNote explains the tracking servers' measurement in turns.
func trackingTurnsNote(cfg *config) string {
	return fmt.Sprintf("The mlgate tracking servers (plain, --disable-security-middleware, basic-auth, and a second --disable-security-middleware server as an A/A control) run side by side, each warmed up %s at "+
		"concurrency 16 on every op. At concurrency 16 every point is cut into %d slices of %s per server, taken in turns (a different one first in every round). "+
		"At concurrency 1 they are measured in lockstep instead: one sender sends a request to each server in turn, in a new random order every cycle, for %d rounds that give each server about %s of its own time; "+
		"a server's throughput is its answers over the time its own requests took. (This machine's CPU speed moves by about a fifth within 100 ms, so slices taken one after the other differ by ±20%% at concurrency 1; requests microseconds apart see the same speed.) "+
		"Each one's slices or rounds are merged. The middleware and basic-auth targets compare, round by round, with the mean of the two identical servers without (the A/A pair, so that one process's luck does not decide) and take the median of the rounds' throughput ratios (so that a stall of the machine during one slice does not decide it); "+
		"the A/A control's ratio to its twin, measured the same way, is how far two identical servers differ in that run. CPU per request is the server's process CPU time during its slices (in lockstep: during the round) over its requests.",
		cfg.warm, turnRounds, cfg.point/pairedRounds, trackingRounds, cfg.point/pairedRounds)
}
