//go:build integration && !race

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mlgate/mlgate/rest/resttest"
)

// The two examples of docs/rollouts.md (a full rollout, then a rollback)
// run as written with bash against the built binary, and print what their
// comments say. The test changes only what a shared test machine needs:
// free ports instead of 5000-5002, the binary it built instead of `make
// build onnxruntime` and bin/mlgate, a scratch folder, and shorter
// intervals: analysis 3s instead of 15s, the replicas' log and watch
// intervals 1s.
func TestDocsRolloutExamplesRun(t *testing.T) {
	if os.Getenv("ONNXRUNTIME_LIB") == "" {
		t.Fatal("ONNXRUNTIME_LIB is not set (make test sets it)")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(filepath.Join(root, "docs", "rollouts.md"))
	if err != nil {
		t.Fatal(err)
	}
	rollout, rollback := docBlock(t, string(doc), "## Example: a full rollout"), docBlock(t, string(doc), "## Example: a rollback")

	tmp := t.TempDir()
	bin := filepath.Join(tmp, "mlgate")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	script := rollout + rollback
	if !strings.HasPrefix(script, "make build onnxruntime\n") {
		t.Fatalf("the rollout example no longer starts with `make build onnxruntime`:\n%s", script)
	}
	script = strings.TrimPrefix(script, "make build onnxruntime\n")
	r := strings.NewReplacer("bin/mlgate ", bin+" ", "go run ./examples/train", "go run -C "+root+" ./examples/train",
		"--interval 15s", "--interval 3s", "--log-interval 5s", "--log-interval 1s", "--watch-interval 2s", "--watch-interval 1s", "--settle 2s", "--settle 1s", "5000", fmt.Sprint(resttest.FreePort(t)),
		"5001", fmt.Sprint(resttest.FreePort(t)), "5002", fmt.Sprint(resttest.FreePort(t)))
	script = r.Replace(script)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	// every background job (servers, load loops) ends with the script
	cmd := exec.CommandContext(ctx, "bash", "-c", script+"\n"+stopLine(t, string(doc))+"\nwait\n")
	cmd.Dir = tmp
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	cmd.Env = append(os.Environ(), "MLFLOW_TRACKING_URI=", "MLFLOW_REGISTRY_URI=")
	out, err := cmd.CombinedOutput()
	t.Logf("%s", out)
	if err != nil && ctx.Err() != nil {
		t.Fatalf("the examples did not finish: %v", err)
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`rollout \S+ started: version 1 → 2 at 10%`),
		regexp.MustCompile(`rollout \S+ promoted: alias champion → version 2`),
		regexp.MustCompile(`rollout:\s+\S+\s+PROMOTED`),
		regexp.MustCompile(`(?i)mlgate-model-version: 2`),
		regexp.MustCompile(`rollout \S+ started: version 2 → 1 at 10%`),
		regexp.MustCompile(`rollout run: rolled back: version 1: p99 latency [0-9.]+ ms is above 0.001 ms`),
		regexp.MustCompile(`(?m)^exit 1$`),
		regexp.MustCompile(`rollout:\s+\S+\s+ROLLED_BACK`),
		regexp.MustCompile(`"mlgate.rollout.rejected"`),
	} {
		if !want.Match(out) {
			t.Errorf("the examples' output has no %q", want)
		}
	}
}

// stopLine is the command the doc gives to stop the examples' jobs.
func stopLine(t *testing.T, doc string) string {
	t.Helper()
	m := regexp.MustCompile("Stop everything with `([^`]+)`").FindStringSubmatch(doc)
	if m == nil {
		t.Fatal("docs/rollouts.md no longer says how to stop everything")
	}
	return m[1]
}

// docBlock is the first ```sh block after heading in doc.
func docBlock(t *testing.T, doc, heading string) string {
	t.Helper()
	i := strings.Index(doc, "\n"+heading+"\n")
	if i < 0 {
		t.Fatalf("docs/rollouts.md has no %q", heading)
	}
	m := regexp.MustCompile("(?s)```sh\n(.*?)```").FindStringSubmatch(doc[i:])
	if m == nil {
		t.Fatalf("no sh block under %q", heading)
	}
	return m[1]
}
