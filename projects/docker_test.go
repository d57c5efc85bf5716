package projects

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// The `docker run` line is MLflow's: --rm, -A arguments (one letter: one
// dash), volumes for a local tracking store and artifact folder, the
// project's volumes, then -e for the run's and the project's variables.
func TestDockerCommand(t *testing.T) {
	p := &Project{Name: "demo", Docker: &DockerEnv{Image: "img", Volumes: []string{"/data:/data"},
		Environment: []DockerVar{{Name: "SET", Value: "1"}, {Name: "COPIED", Copy: true}}}}
	env := map[string]string{"COPIED": "from-host"}
	args := []KV{{Name: "t", Flag: true}, {Name: "gpus", Value: "all"}, {Name: "m", Value: "1g"}}
	argv, err := dockerCommand("docker", "img", p, args, runInfo{RunID: "r1", ExperimentID: "7", ArtifactURI: "/srv/art/7/r1/artifacts", TrackingURI: "sqlite:////srv/mlflow.db"},
		func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	want := "docker run --rm -t --gpus all -m 1g -v /srv/mlflow.db:/mlflow/tmp/mlruns -v /srv/art/7/r1/artifacts:/srv/art/7/r1/artifacts -v /data:/data " +
		"-e MLFLOW_RUN_ID=r1 -e MLFLOW_TRACKING_URI=sqlite:////mlflow/tmp/mlruns -e MLFLOW_EXPERIMENT_ID=7 -e SET=1 -e COPIED=from-host img"
	if got := strings.Join(argv, " "); got != want {
		t.Fatalf("argv\n %s\nwant\n %s", got, want)
	}
	// An http tracking server is passed as is; S3 credentials are copied.
	env = map[string]string{"COPIED": "x", "AWS_ACCESS_KEY_ID": "k", "MLFLOW_S3_ENDPOINT_URL": "http://s3"}
	argv, err = dockerCommand("podman", "img", p, nil, runInfo{RunID: "r", ExperimentID: "0", ArtifactURI: "s3://b/0/r/artifacts", TrackingURI: "http://127.0.0.1:5000"},
		func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(argv, " ")
	for _, part := range []string{"podman run --rm -v /data:/data", "-e MLFLOW_TRACKING_URI=http://127.0.0.1:5000", "-e AWS_ACCESS_KEY_ID=k", "-e MLFLOW_S3_ENDPOINT_URL=http://s3"} {
		if !strings.Contains(got, part) {
			t.Errorf("%s\nlacks %q", got, part)
		}
	}
	// A variable to copy that the host lacks is an error naming it.
	_, err = dockerCommand("docker", "img", p, nil, runInfo{}, func(string) string { return "" })
	if !errors.Is(err, ErrDocker) || !strings.Contains(err.Error(), "COPIED") {
		t.Fatalf("missing host variable: %v", err)
	}
}

func TestNoContainerEngine(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := containerEngine(context.Background())
	if !errors.Is(err, ErrDocker) || !strings.Contains(err.Error(), "neither docker nor podman is on PATH") {
		t.Fatalf("got %v", err)
	}
}
