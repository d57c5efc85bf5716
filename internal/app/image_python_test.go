package app

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlgate/mlgate/internal/oci"
)

// syntheticBase is an image holding the given files (path -> content) with
// an optional entrypoint.
func syntheticBase(t *testing.T, files map[string]string, entrypoint ...string) oci.Image {
	t.Helper()
	root := t.TempDir()
	for p, content := range files {
		full := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	img, err := oci.Build(oci.Spec{
		Platform:   oci.Platform{OS: "linux", Architecture: "amd64"},
		Layers:     []oci.LayerSpec{{Trees: []oci.Tree{{Src: root, Dest: "/"}}}},
		Entrypoint: entrypoint,
	})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestMlgateLayersFromABaseThatHasMlgate(t *testing.T) {
	ctx := context.Background()
	platform := oci.Platform{OS: "linux", Architecture: "amd64"}
	for name, c := range map[string]struct {
		base oci.Image
		want string
	}{
		"mlgate in /usr/local/bin": {syntheticBase(t, map[string]string{"usr/local/bin/mlgate": "elf", "usr/bin/python3.11": "elf"}), baseBinary},
		"mlgate as entrypoint":     {syntheticBase(t, map[string]string{"opt/bin/mlgate": "elf"}, "/opt/bin/mlgate"), "/opt/bin/mlgate"},
	} {
		files, err := oci.Files(c.base)
		if err != nil {
			t.Fatal(err)
		}
		// No runtime image is given: a base with mlgate needs none.
		bin, layers, env, err := mlgateLayers(ctx, BuildImageOptions{Base: name}, platform, c.base, files)
		if err != nil || bin != c.want || len(layers) != 0 || len(env) != 0 {
			t.Errorf("%s: bin %q, %d layers, env %v, err %v", name, bin, len(layers), env, err)
		}
	}
	plain := syntheticBase(t, map[string]string{"usr/bin/python3.11": "elf"})
	files, err := oci.Files(plain)
	if err != nil {
		t.Fatal(err)
	}
	_, _, _, err = mlgateLayers(ctx, BuildImageOptions{Base: "python-only"}, platform, plain, files)
	if err == nil || !strings.Contains(err.Error(), "no runtime image was given") {
		t.Fatalf("a base without mlgate and no runtime: %v", err)
	}
}
