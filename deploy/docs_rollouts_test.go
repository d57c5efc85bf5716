package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	"sigs.k8s.io/yaml"
)

var yamlBlock = regexp.MustCompile("(?s)```yaml\n(.*?)```")

// TestDocsRolloutsKubernetes: the values in docs/rollouts.md render with
// the serving chart into replicas that follow the rollout and log to
// tracking, and its controller Job is a valid batch/v1 Job whose command
// line the built mlgate accepts.
func TestDocsRolloutsKubernetes(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot, "docs", "rollouts.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := yamlBlock.FindAllStringSubmatch(string(b), -1)
	if len(blocks) != 2 {
		t.Fatalf("docs/rollouts.md has %d yaml blocks, want the chart values and the Job", len(blocks))
	}
	var vals map[string]any
	if err := yaml.Unmarshal([]byte(blocks[0][1]), &vals); err != nil {
		t.Fatal(err)
	}
	_, c := checkServeChart(t, renderChart(t, serveChart, vals))
	if argValue(c.Args, "-m") != "models:/fraud@champion" || argValue(c.Args, "--watch-interval") != "10s" ||
		!slices.Contains(c.Args, "--follow-rollout") || argValue(c.Args, "--log-experiment") != "serving" {
		t.Errorf("replica args %q: want -m models:/fraud@champion --watch-interval 10s --follow-rollout --log-experiment serving", c.Args)
	}
	if envOf(c)["MLFLOW_TRACKING_URI"] == "" {
		t.Error("the replicas get no MLFLOW_TRACKING_URI")
	}

	obj, err := decodeStrict([]byte(blocks[1][1]))
	if err != nil {
		t.Fatal(err)
	}
	job, ok := obj.(*batchv1.Job)
	if !ok {
		t.Fatalf("the second block is a %T, want a Job", obj)
	}
	pod := job.Spec.Template.Spec
	if len(pod.Containers) != 1 || pod.RestartPolicy != "OnFailure" {
		t.Fatalf("Job pod %+v", pod)
	}
	jc := pod.Containers[0]
	if !slices.Equal(jc.Command, []string{"mlgate"}) || len(jc.Args) < 2 || jc.Args[0] != "rollout" || jc.Args[1] != "run" {
		t.Fatalf("Job command %q %q", jc.Command, jc.Args)
	}
	if envOf(jc)["MLFLOW_TRACKING_URI"] == "" {
		t.Error("the Job gets no MLFLOW_TRACKING_URI")
	}
	out, err := exec.Command(mlgateBin(t), append(jc.Args, "--help")...).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Usage: mlgate rollout run") {
		t.Errorf("mlgate %q --help: %v\n%s", jc.Args, err, out)
	}
}
