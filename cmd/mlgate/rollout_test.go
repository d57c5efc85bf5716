package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/mlgate/mlgate/registry"
	"github.com/mlgate/mlgate/rest"
)

func TestRolloutUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		in   string
	}{
		{[]string{"rollout", "start", "--candidate", "2", "--experiment", "e"}, exitUsage, "--model is required"},
		{[]string{"rollout", "start", "--model", "m", "--experiment", "e"}, exitUsage, "--candidate and --experiment (or --prometheus-url) are required"},
		{[]string{"rollout", "start", "--model", "m", "--candidate", "2"}, exitUsage, "--candidate and --experiment (or --prometheus-url) are required"},
		{[]string{"rollout", "start", "--model", "m", "--candidate", "2", "--prometheus-url", "prometheus:9090"}, exitUsage, "want the http(s) base URL of a Prometheus server"},
		{[]string{"rollout", "start", "--model", "m", "--candidate", "2", "--experiment", "e", "--steps", "5,x"}, exitUsage, `"x" is not a whole number`},
		{[]string{"rollout", "status", "--model", "m", "--log-level", "loud"}, exitUsage, "bad --log-level"},
		{[]string{"rollout", "status", "--model", "m"}, exitRuntime, "need an http(s) registry server"},
		{[]string{"rollout", "nope"}, exitUsage, `unknown command "nope"`},
	} {
		code, _, stderr := runArgs(t, c.args...)
		if code != c.code || !strings.Contains(stderr, c.in) {
			t.Errorf("%v: exit %d, stderr %q; want %d containing %q", c.args, code, stderr, c.code, c.in)
		}
	}
}

// The rollout commands against an in-process `mlgate server`: start,
// status (text and JSON), abort, run of an ended rollout, promote.
func TestRolloutCommands(t *testing.T) {
	ctx := context.Background()
	url := startTestServer(t)
	tr, err := rest.New(rest.Config{BaseURL: url})
	if err != nil {
		t.Fatal(err)
	}
	reg := registry.NewClient(tr)
	if _, err := reg.CreateRegisteredModel(ctx, "m", "", nil); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := reg.CreateModelVersion(ctx, registry.CreateVersionRequest{Name: "m", Source: "s3://b/m"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := reg.SetRegisteredModelAlias(ctx, "m", "champion", "1"); err != nil {
		t.Fatal(err)
	}
	envs := map[string]string{"MLFLOW_REGISTRY_URI": url, "MLFLOW_TRACKING_URI": url}
	cli := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := run(ctx, &cliEnv{stdout: &out, stderr: &errb, getenv: func(k string) string { return envs[k] }}, append([]string{"rollout"}, args...))
		return code, out.String(), errb.String()
	}
	expect := func(code int, in string, args ...string) string {
		t.Helper()
		c, out, stderr := cli(args...)
		if c != code || !strings.Contains(out+stderr, in) {
			t.Fatalf("%v: exit %d, stdout %q, stderr %q; want %d with %q", args, c, out, stderr, code, in)
		}
		return out
	}
	expect(exitRuntime, "must increase", "start", "--model", "m", "--candidate", "2", "--experiment", "e", "--steps", "50,25")
	expect(exitRuntime, `no alias "gold"`, "start", "--model", "m", "--candidate", "2", "--experiment", "e", "--alias", "gold")
	expect(exitOK, "1 → 2 at 10%", "start", "--model", "m", "--candidate", "2", "--experiment", "e", "--steps", "10,100", "--interval", "1h")
	expect(exitRuntime, "in progress", "start", "--model", "m", "--candidate", "2", "--experiment", "e")
	out := expect(exitOK, "", "status", "--model", "m", "--json")
	var v struct {
		State struct {
			Weight int    `json:"weight"`
			Status string `json:"status"`
		} `json:"state"`
		Analysis struct {
			IntervalMs int64 `json:"interval_ms"`
		} `json:"analysis"`
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil || v.State.Weight != 10 || v.State.Status != "RUNNING" || v.Analysis.IntervalMs != time.Hour.Milliseconds() {
		t.Fatalf("status --json %q: %+v %v", out, v, err)
	}
	expect(exitOK, "weight:        10% (step 1 of 2: 10,100)", "status", "--model", "m")
	expect(exitOK, "aborted: weight 0, alias champion stays on version 1", "abort", "--model", "m", "--reason", "not today")
	expect(exitOK, "ABORTED (not today)", "status", "--model", "m")
	expect(exitRuntime, "already ended: not today", "run", "--model", "m")
	expect(exitOK, "started", "start", "--model", "m", "--candidate", "2", "--experiment", "e")
	expect(exitOK, "alias champion → version 2", "promote", "--model", "m")
	if mv, err := reg.GetModelVersionByAlias(ctx, "m", "champion"); err != nil || mv.Version != "2" {
		t.Fatalf("champion → %+v %v", mv, err)
	}
}
