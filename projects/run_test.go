package projects

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlgate/mlgate/tracking"
)

// embeddedClient is a tracking client on mlgate's embedded SQLite store.
func embeddedClient(t *testing.T) *tracking.Client {
	t.Helper()
	dir := t.TempDir()
	c, err := tracking.NewClient(tracking.Config{TrackingURI: "sqlite:///" + filepath.Join(dir, "t.db"), ArtifactsDestination: filepath.Join(dir, "art")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

// fakeEngine puts a `docker` on PATH that answers info and image inspect
// and records the argv of `run` (a fake of the engine, for the code
// around it).
func fakeEngine(t *testing.T) (argvFile string) {
	t.Helper()
	bin := t.TempDir()
	argvFile = filepath.Join(t.TempDir(), "argv")
	script := `#!/bin/sh
case "$1" in
  info) exit 0 ;;
  image) echo sha256:0123abcd ;;
  run) printf '%s\n' "$@" > ` + argvFile + ` ;;
  *) echo "unexpected $1" >&2; exit 9 ;;
esac
`
	if err := os.WriteFile(filepath.Join(bin, "docker"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	return argvFile
}

// A docker_env project runs through the engine with MLflow's arguments and
// the run's variables, and the run carries the docker tags.
func TestRunDockerProject(t *testing.T) {
	argvFile := fakeEngine(t)
	c := embeddedClient(t)
	proj := t.TempDir()
	write(t, proj, "MLproject", "name: dock\ndocker_env:\n  image: example/img:1\n  environment: [[\"MODE\", \"test\"]]\nentry_points:\n  main:\n    parameters: {n: {type: float, default: 2}}\n    command: \"python t.py {n}\"\n")
	res, err := Run(context.Background(), proj, Options{Tracking: c, DockerArgs: []KV{{Name: "t", Flag: true}, {Name: "shm-size", Value: "1g"}}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(argvFile)
	if err != nil {
		t.Fatal(err)
	}
	argv := strings.Split(strings.TrimSpace(string(b)), "\n")
	got := strings.Join(argv, " ")
	for _, part := range []string{"run --rm -t --shm-size 1g", "-e MLFLOW_RUN_ID=" + res.RunID, "-e MLFLOW_EXPERIMENT_ID=0", "-e MODE=test", "example/img:1 python t.py 2"} {
		if !strings.Contains(got, part) {
			t.Errorf("docker %s\nlacks %q", got, part)
		}
	}
	r, err := c.GetRun(context.Background(), res.RunID)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{TagEnv: "docker", TagDockerImageURI: "example/img:1", TagDockerImageID: "sha256:0123abcd", TagBackend: "local", TagEntryPoint: "main"} {
		if got, _ := r.Tag(k); got != v {
			t.Errorf("tag %s = %q, want %q", k, got, v)
		}
	}
	if r.Info.Status != tracking.StatusFinished || res.Status != tracking.StatusFinished {
		t.Fatalf("status %s / %s", r.Info.Status, res.Status)
	}
	// A project without a name cannot tag its image: refused before a run.
	write(t, proj, "MLproject", "docker_env: {image: x}\nentry_points:\n  main: {command: \"true\"}\n")
	if _, err := Run(context.Background(), proj, Options{Tracking: c}); !errors.Is(err, ErrSpec) || !strings.Contains(err.Error(), "needs a name") {
		t.Fatalf("unnamed docker project: %v", err)
	}
}

// --run-id resumes a run: MLflow adds no params or source tags to it, only
// the backend (and run name) tags, and ends it by the exit status.
func TestRunResumesRunID(t *testing.T) {
	c := embeddedClient(t)
	ctx := context.Background()
	run, err := c.CreateRun(ctx, "0")
	if err != nil {
		t.Fatal(err)
	}
	proj := t.TempDir()
	write(t, proj, "MLproject", "entry_points:\n  main:\n    parameters: {a: {default: x}}\n    command: \"test \\\"$MLFLOW_RUN_ID\\\" = "+run.Info.RunID+"\"\n")
	res, err := Run(ctx, proj, Options{Tracking: c, RunID: run.Info.RunID, RunName: "again", EnvManager: ManagerLocal})
	if err != nil {
		t.Fatalf("%v (the child did not see the resumed run's id?)", err)
	}
	r, err := c.GetRun(ctx, run.Info.RunID)
	if err != nil {
		t.Fatal(err)
	}
	if res.RunID != run.Info.RunID || r.Info.Status != tracking.StatusFinished || r.Info.RunName != "again" {
		t.Fatalf("result %+v, run %+v", res, r.Info)
	}
	if _, ok := r.Param("a"); ok {
		t.Error("params were logged to a resumed run")
	}
	if _, ok := r.Tag(tracking.TagSourceType); ok {
		t.Error("source tags were set on a resumed run")
	}
	if v, _ := r.Tag(TagBackend); v != "local" {
		t.Errorf("backend tag %q", v)
	}
}
