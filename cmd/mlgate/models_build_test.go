package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBuildDockerUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		in   string
	}{
		{[]string{"models", "build-docker"}, "-m/--model-uri is required"},
		{[]string{"models", "build-docker", "-m", "x", "--enable-mlserver"}, "--enable-mlserver is not supported"},
		{[]string{"models", "generate-dockerfile"}, "-m/--model-uri is required"},
		{[]string{"build-base", "--system", "x"}, "are required"},
	} {
		code, _, stderr := runArgs(t, c.args...)
		if code != exitUsage || !strings.Contains(stderr, c.in) {
			t.Errorf("%v: exit %d, stderr %q (want %q)", c.args, code, stderr, c.in)
		}
	}
	var out, errb bytes.Buffer
	env := &cliEnv{stdout: &out, stderr: &errb, getenv: func(k string) string {
		if k == "SOURCE_DATE_EPOCH" {
			return "yesterday"
		}
		return ""
	}}
	if code := run(context.Background(), env, []string{"models", "build-docker", "-m", "x"}); code != exitUsage || !strings.Contains(errb.String(), "SOURCE_DATE_EPOCH") {
		t.Errorf("bad SOURCE_DATE_EPOCH: exit %d, %q", code, errb.String())
	}
}

func TestBuildDockerDefaults(t *testing.T) {
	for ref, want := range map[string]string{
		"mlflow-pyfunc":                 "mlflow-pyfunc.tar",
		"reg.example:5000/team/iris:v2": "iris.tar",
		"iris@sha256:abc":               "iris.tar",
	} {
		if got := imageFileName(ref); got != want {
			t.Errorf("imageFileName(%q) = %q, want %q", ref, got, want)
		}
	}
	env := &cliEnv{getenv: func(k string) string { return map[string]string{"MLGATE_CACHE": "/c"}[k] }}
	if got := defaultBase(env); got != filepath.Join("/c", "images", "mlgate-runtime") {
		t.Errorf("default base %q", got)
	}
	env.getenv = func(k string) string { return map[string]string{"MLGATE_BASE_IMAGE": "reg/mlgate:1"}[k] }
	if got := defaultBase(env); got != "reg/mlgate:1" {
		t.Errorf("MLGATE_BASE_IMAGE ignored: %q", got)
	}
}

func TestBuildDockerMissingBaseIsClear(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join("..", "..", "examples", "models", "linear")
	var out, errb bytes.Buffer
	env := &cliEnv{stdout: &out, stderr: &errb, getenv: func(k string) string {
		return map[string]string{"MLGATE_CACHE": filepath.Join(dir, "cache")}[k]
	}}
	code := run(context.Background(), env, []string{"models", "build-docker", "-m", model, "-o", filepath.Join(dir, "img")})
	if code != exitRuntime || !strings.Contains(errb.String(), "no runtime base image at") || !strings.Contains(errb.String(), "make image") {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("left %v", ents)
	}
}
