package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// TestGeneratedDockerfiles runs `mlgate models generate-dockerfile` for an
// onnx model and a python_function model and checks each Dockerfile with
// BuildKit's parser and linter: one stage on the expected base, every COPY
// source in the build context (or another image), the requirements
// installed for python_function, and mlgate serving /opt/ml/model as an
// exec-form entrypoint.
func TestGeneratedDockerfiles(t *testing.T) {
	bin := mlgateBin(t)
	for _, c := range []struct {
		model, base string
		python      bool
	}{
		{filepath.Join(repoRoot, "examples", "models", "linear"), "mlgate/mlgate:", false},
		{filepath.Join(repoRoot, "pkgformat", "testdata", "golden", "sklearn"), "python:3.11-slim", true},
	} {
		ctx := filepath.Join(t.TempDir(), "ctx")
		out, err := exec.Command(bin, "models", "generate-dockerfile", "-m", c.model, "-d", ctx).CombinedOutput()
		if err != nil {
			t.Fatalf("generate-dockerfile %s: %v\n%s", c.model, err, out)
		}
		src, err := os.ReadFile(filepath.Join(ctx, "Dockerfile"))
		if err != nil {
			t.Fatal(err)
		}
		stages := dockerfile(t, src)
		if len(stages) != 1 || !strings.HasPrefix(stages[0].BaseName, c.base) {
			t.Fatalf("%s: stages %+v, want one FROM %s", c.model, stages, c.base)
		}
		s := stages[0]
		for _, cp := range commandsOf[*instructions.CopyCommand](s) {
			if cp.From != "" {
				if !c.python || !strings.HasPrefix(cp.From, "mlgate/mlgate:") {
					t.Errorf("%s: COPY --from=%s", c.model, cp.From)
				}
				continue
			}
			for _, p := range cp.SourcePaths {
				if _, err := os.Stat(filepath.Join(ctx, p)); err != nil {
					t.Errorf("%s: COPY source %s is not in the build context: %v", c.model, p, err)
				}
			}
		}
		runs := commandsOf[*instructions.RunCommand](s)
		if c.python != (len(runs) == 1) {
			t.Fatalf("%s: %d RUN instructions", c.model, len(runs))
		}
		if c.python {
			cmd := strings.Join(runs[0].CmdLine, " ")
			if !strings.Contains(cmd, "pip install") || !strings.Contains(cmd, "-r /opt/ml/model/requirements.txt") || runs[0].PrependShell {
				t.Errorf("the requirements are not installed in exec form: %q", cmd)
			}
		}
		eps := commandsOf[*instructions.EntrypointCommand](s)
		if len(eps) != 1 || eps[0].PrependShell || !strings.HasSuffix(eps[0].CmdLine[0], "mlgate") ||
			!strings.Contains(strings.Join(eps[0].CmdLine, " "), "models serve -m /opt/ml/model --host 0.0.0.0 --port 8080") {
			t.Errorf("%s: entrypoint %+v", c.model, eps)
		}
	}
}
