package bundle_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/mlgate/mlgate/ui"
	"github.com/mlgate/mlgate/ui/bundle"
)

// TestBundleMatchesSources rebuilds the UI from ui/web and checks the
// committed ui/dist is that build (run `make ui` after editing ui/web).
func TestBundleMatchesSources(t *testing.T) {
	files, err := bundle.Build("../web", bundle.AssetPrefix)
	if err != nil {
		t.Fatal(err)
	}
	diffs, err := bundle.Diff("../dist", files)
	if err != nil {
		t.Fatal(err)
	}
	if len(diffs) > 0 {
		t.Fatalf("ui/dist is not the build of ui/web (run make ui):\n%s", strings.Join(diffs, "\n"))
	}
	if size := bundle.Size(files); size > 300<<10 {
		t.Fatalf("compressed JS+CSS is %d bytes, over the 300 KiB budget", size)
	}
	if "/"+bundle.AssetPrefix != ui.AssetPrefix {
		t.Fatalf("index.html loads assets from %q, package ui serves %q", bundle.AssetPrefix, ui.AssetPrefix)
	}
}

// TestJSUnit runs the front-end unit tests (filter building, series
// downsampling and smoothing) with node's built-in test runner.
func TestJSUnit(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is not installed (apt-get install npm): the UI's JS unit tests need it")
	}
	out, err := exec.Command(node, "--test", "../web/test/").CombinedOutput()
	if err != nil {
		t.Fatalf("node --test: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "# fail 0") {
		t.Fatalf("node --test did not report its results:\n%s", out)
	}
	t.Logf("%s", out[strings.LastIndex(string(out), "# tests"):])
}
