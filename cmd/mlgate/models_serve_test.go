package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestModelsServeUsage(t *testing.T) {
	cases := []struct {
		name string
		args []string
		env  map[string]string
		in   string
	}{
		{"no model", []string{"models", "serve"}, nil, "-m/--model-uri is required"},
		{"bad timeout env", []string{"models", "serve", "-m", "x"}, map[string]string{"MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT": "soon"}, "MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT"},
		{"zero timeout", []string{"models", "serve", "-m", "x", "-t", "0"}, nil, "--timeout must be positive"},
		{"bad queue", []string{"models", "serve", "-m", "x", "--max-queue", "0"}, nil, "--max-queue"},
		{"bad log level", []string{"models", "serve", "-m", "x", "--log-level", "loud"}, nil, "bad --log-level"},
		{"zero log interval", []string{"models", "serve", "-m", "x", "--log-experiment", "e", "--log-interval", "0s"}, nil, "--log-interval must be positive"},
		{"watch a fixed version", []string{"models", "serve", "-m", "models:/m/3", "--watch-interval", "1s"}, nil, "--watch-interval follows"},
		{"canary share", []string{"models", "serve", "-m", "x", "--canary", "y", "--canary-percent", "150"}, nil, "--canary-percent must be between 0 and 100"},
		{"rollout of a fixed version", []string{"models", "serve", "-m", "models:/m/3", "--follow-rollout"}, nil, "--follow-rollout needs"},
		{"rollout and canary", []string{"models", "serve", "-m", "models:/m@champion", "--follow-rollout", "--canary", "models:/m/4"}, nil, "--follow-rollout needs"},
		{"negative tolerance", []string{"models", "serve", "-m", "x", "--shadow-tolerance", "-1"}, nil, "--shadow-tolerance must not be negative"},
		{"payload share", []string{"models", "serve", "-m", "x", "--log-experiment", "e", "--payload-log-sample", "1.5"}, nil, "--payload-log-sample must be between 0 and 1"},
		{"payloads without a run", []string{"models", "serve", "-m", "x", "--payload-log-sample", "0.1"}, nil, "needs --log-experiment"},
		{"payload rotate size", []string{"models", "serve", "-m", "x", "--payload-log-rotate", "big"}, nil, "payload-log-rotate"},
		{"payload interval", []string{"models", "serve", "-m", "x", "--payload-log-interval", "0s"}, nil, "--payload-log-interval"},
		{"missing ort lib", []string{"models", "serve", "-m", "x", "--onnxruntime-lib", "/nonexistent/lib.so"}, nil, "--onnxruntime-lib"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			getenv := func(k string) string { return c.env[k] }
			code := run(context.Background(), &cliEnv{stdout: &out, stderr: &errb, getenv: getenv}, c.args)
			if code != exitUsage || !strings.Contains(errb.String(), c.in) {
				t.Fatalf("exit %d, stderr %q; want %d containing %q", code, errb.String(), exitUsage, c.in)
			}
		})
	}
}

func TestModelsServeMissingModelFails(t *testing.T) {
	var out, errb bytes.Buffer
	env := &cliEnv{stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
	code := run(context.Background(), env, []string{"models", "serve", "-m", t.TempDir() + "/nope", "-p", "0"})
	if code != exitRuntime || !strings.Contains(errb.String(), "nope") {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
}
