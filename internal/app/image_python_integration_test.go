//go:build integration && !race

// These tests build python_function images whose environment layer is
// hundreds of MB: gzip under the race detector takes minutes on it, so
// `make gotest` runs this file in a second go test without -race.

package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/layout"

	"github.com/mlgate/mlgate/internal/oci"
)

// Host Python a test base is made of: Debian's python3.11.
const hostPython = "/usr/bin/python3.11"

// pythonBase writes a base image like python:3.11-slim without a registry:
// the system layer of the runtime base (C library, libstdc++, CA
// certificates, users; no mlgate) and a layer with this machine's Debian
// python3.11, its standard library (without tests, IDLE, Tk and
// bytecode) and the shared libraries python3.11 and its extension modules
// need that the system layer lacks. Run as root, command python3.
func pythonBase(t *testing.T) string {
	t.Helper()
	if runtime.GOARCH != "amd64" {
		t.Fatalf("the Python test base is made for linux/amd64, not %s", runtime.GOARCH)
	}
	rt, err := oci.LoadBase(context.Background(), testBase(t), oci.Platform{OS: "linux", Architecture: "amd64"}, oci.Remote{})
	if err != nil {
		t.Fatal(err)
	}
	system, err := oci.LayersByHistory(rt, "system: ")
	if err != nil || len(system) != 1 {
		t.Fatalf("runtime base system layer: %v %v", system, err)
	}
	sysFiles, err := oci.Files(rt)
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for p := range sysFiles {
		have[filepath.Base(p)] = true
	}
	stage := t.TempDir()
	place := func(src, dest string) {
		t.Helper()
		dest = filepath.Join(stage, dest)
		if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
			t.Fatal(err)
		}
		src, err := filepath.EvalSymlinks(src) // the real file, not a link
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Link(src, dest); err == nil {
			return
		}
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dest, b, st.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
	place(hostPython, "usr/bin/python3.11")
	if err := os.Symlink("python3.11", filepath.Join(stage, "usr/bin/python3")); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(stage, "root"), 0o755); err != nil {
		t.Fatal(err)
	}
	skip := map[string]bool{"__pycache__": true, "test": true, "tests": true, "idlelib": true, "tkinter": true, "turtledemo": true,
		"ensurepip": true, "lib2to3": true, "config-3.11-x86_64-linux-gnu": true, "sitecustomize.py": true, "EXTERNALLY-MANAGED": true}
	var modules []string
	err = filepath.WalkDir("/usr/lib/python3.11", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if skip[d.Name()] {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		if strings.HasSuffix(p, ".so") {
			modules = append(modules, p)
		}
		place(p, strings.TrimPrefix(p, "/"))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Shared libraries by soname, from ldd, into the folder the system
	// layer keeps libstdc++ in.
	out, err := exec.Command("ldd", append([]string{hostPython}, modules...)...).Output()
	if err != nil {
		t.Fatalf("ldd: %v", err)
	}
	for _, m := range regexp.MustCompile(`(?m)^\s*(\S+) => (/\S+) \(`).FindAllStringSubmatch(string(out), -1) {
		if soname := m[1]; !have[soname] {
			have[soname] = true
			place(m[2], "usr/lib/x86_64-linux-gnu/"+soname)
		}
	}
	img, err := oci.Build(oci.Spec{
		Platform: oci.Platform{OS: "linux", Architecture: "amd64"},
		Layers: []oci.LayerSpec{system[0], {
			Trees:   []oci.Tree{{Src: stage, Dest: "/", Links: true}},
			Comment: "Python 3.11 from " + hostPython,
		}},
		Env: []string{"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8"},
		Cmd: []string{"python3"},
	})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "python-base")
	if err := oci.WriteLayout(dir, "python:3.11", img); err != nil {
		t.Fatal(err)
	}
	return dir
}

// testLog writes a logger's lines to the test log.
type testLog struct{ t *testing.T }

func (w testLog) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// testUV is the uv of the interop venv.
func testUV(t *testing.T) string {
	t.Helper()
	py := os.Getenv("MLGATE_TEST_PYTHON")
	if py == "" {
		t.Fatal("MLGATE_TEST_PYTHON is not set (make test sets it)")
	}
	return filepath.Join(filepath.Dir(py), "uv")
}

// pyModel writes a python_function model folder with requirements.txt.
func pyModel(t *testing.T, requirements string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "model")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"MLmodel":          "flavors:\n  python_function:\n    loader_module: mlgate_test\n    python_version: 3.11.2\n",
		"requirements.txt": requirements,
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func localSource(t *testing.T) *ModelSource {
	t.Helper()
	src, err := NewModelSource(ModelSourceOptions{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// layerInfo lists the layers of the layout's image: history line and
// compressed size.
func layerInfo(t *testing.T, dir string) ([]string, []int64) {
	t.Helper()
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	img, err := idx.Image(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	var comments []string
	var sizes []int64
	for i, h := range cf.History {
		comments = append(comments, h.CreatedBy)
		n, _ := layers[i].Size()
		sizes = append(sizes, n)
	}
	return comments, sizes
}

func TestBuildDockerPythonModelServesUnderRunc(t *testing.T) {
	needTools(t)
	ctx := context.Background()
	model, requests := buildModel(t, "sklearn_pipeline")
	start := time.Now()
	base := pythonBase(t)
	t.Logf("Python test base written in %s", time.Since(start).Round(time.Millisecond))
	out := filepath.Join(t.TempDir(), "pipe-image")
	start = time.Now()
	built, err := BuildImage(ctx, BuildImageOptions{
		ModelURI: model, Name: "pipe:v1", Base: base, Runtime: testBase(t), UV: testUV(t), Output: out, Source: localSource(t),
		Logger: slog.New(slog.NewTextHandler(testLog{t}, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("python_function image %s built in %s", built.Digest, time.Since(start).Round(time.Millisecond))
	comments, sizes := layerInfo(t, out)
	for i := range comments {
		t.Logf("layer %d: %6.1f MB compressed  %s", i, float64(sizes[i])/1e6, comments[i])
	}
	if len(comments) != 6 || !strings.HasPrefix(comments[2], ortLayerComment) || !strings.HasPrefix(comments[3], mlgateLayerComment) ||
		!strings.HasPrefix(comments[4], "python environment of ") || !strings.HasPrefix(comments[5], "mlgate models build-docker") {
		t.Fatalf("layers: %q", comments)
	}

	want := startScoring(t, ServeOptions{ModelURI: model, Host: "127.0.0.1", Python: os.Getenv("MLGATE_TEST_PYTHON")})
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	start = time.Now()
	c := runImage(t, out, "v1", "--port", fmt.Sprint(port))
	waitStatusWithin(t, "http://"+addr+"/v2/health/ready", 200, c.Done, 3*time.Minute)
	t.Logf("container ready in %s", time.Since(start).Round(time.Millisecond))
	for _, r := range requests {
		ct, _ := r["content_type"].(string)
		body, ok := r["body"].(string)
		if !ok {
			b, err := json.Marshal(r["body"])
			if err != nil {
				t.Fatal(err)
			}
			body = string(b)
		}
		wantCode, wantBody := call(t, "POST", "http://"+want.Addr()+"/invocations", body, "Content-Type", ct)
		code, got := call(t, "POST", "http://"+addr+"/invocations", body, "Content-Type", ct)
		if code != wantCode || got != wantBody {
			t.Errorf("%s: container answered %d %s; models serve answers %d %s", r["name"], code, got, wantCode, wantBody)
		}
		if expect, _ := r["expect_ok"].(bool); expect != (code == 200) {
			t.Errorf("%s: %d, mlflow answers ok=%v", r["name"], code, expect)
		}
	}
	if err := c.Signal("TERM"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-c.Done:
		if err != nil {
			t.Fatalf("container exit: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the container did not exit after SIGTERM")
	}
}

func TestBuildDockerPythonImageIsReproducibleAndLayered(t *testing.T) {
	ctx := context.Background()
	base, rtDir := pythonBase(t), testBase(t)
	model := pyModel(t, "six==1.17.0\n")
	o := BuildImageOptions{ModelURI: model, Name: "six:v1", Base: base, Runtime: rtDir, UV: testUV(t), Source: localSource(t)}
	layoutDir := filepath.Join(t.TempDir(), "a")
	o.Output = layoutDir
	a, err := BuildImage(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	o.Output = filepath.Join(t.TempDir(), "b.tar")
	b, err := BuildImage(ctx, o)
	if err != nil || b.Digest != a.Digest {
		t.Fatalf("second build: %v, digest %s vs %s", err, b.Digest, a.Digest)
	}
	img, baseImg, rt := testLayoutImage(t, layoutDir), testLayoutImage(t, base), testLayoutImage(t, rtDir)
	digests := func(img oci.Image) []string {
		layers, err := img.Layers()
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, l := range layers {
			d, err := l.Digest()
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, d.String())
		}
		return out
	}
	// The base's layers, then the runtime's ONNX Runtime and mlgate layers
	// (not its system layer), then the environment and the model.
	got, baseL, rtL := digests(img), digests(baseImg), digests(rt)
	if len(got) != 6 || !slices.Equal(got[:2], baseL) || !slices.Equal(got[2:4], rtL[1:]) {
		t.Fatalf("layers %v; base %v, runtime %v", got, baseL, rtL)
	}
	files, err := oci.Files(img)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/opt/ml/env/six.py", "/opt/ml/model/MLmodel", "/usr/local/bin/mlgate", "/usr/lib/mlgate/libonnxruntime.so.1", hostPython} {
		if _, ok := files[p]; !ok {
			t.Errorf("%s is not in the image", p)
		}
	}
	if _, ok := files["/opt/ml/env/.lock"]; ok {
		t.Error("uv's lock file is in the image")
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	wantEntry := "/usr/local/bin/mlgate models serve -m /opt/ml/model --host 0.0.0.0 --port 8080 --env-manager local --python /usr/bin/python3.11"
	if e := strings.Join(cf.Config.Entrypoint, " "); e != wantEntry {
		t.Errorf("entrypoint %q, want %q", e, wantEntry)
	}
	for _, kv := range []string{"PYTHONPATH=/opt/ml/env", "MLGATE_PYTHON=/usr/bin/python3.11", "ONNXRUNTIME_LIB=/usr/lib/mlgate/libonnxruntime.so.1", "PATH=/usr/local/bin:/usr/bin:/bin"} {
		if !slices.Contains(cf.Config.Env, kv) {
			t.Errorf("env %v lacks %s", cf.Config.Env, kv)
		}
	}
	if v := cf.Config.Labels[labelPythonVersion]; v != "3.11" || cf.Config.User != "" {
		t.Errorf("python label %q, user %q", v, cf.Config.User)
	}
}

// testLayoutImage opens the image of a layout written by BuildImage.
func testLayoutImage(t *testing.T, dir string) oci.Image {
	t.Helper()
	img, err := oci.LoadBase(context.Background(), dir, oci.Platform{OS: "linux", Architecture: runtime.GOARCH}, oci.Remote{})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestBuildDockerPythonErrorsLeaveNoOutput(t *testing.T) {
	ctx := context.Background()
	base := pythonBase(t)
	dir := t.TempDir()
	for _, c := range []struct {
		name string
		o    BuildImageOptions
		want []string
	}{
		{"base without python", BuildImageOptions{ModelURI: pyModel(t, "six==1.17.0\n"), Base: testBase(t)},
			[]string{"has no Python for the python_function model", "no executable python3.N in /usr/local/bin, /usr/bin, /bin", "--base with Python 3"}},
		{"requirements that cannot be installed", BuildImageOptions{ModelURI: pyModel(t, "mlgate-no-such-package-xq7==1.0\n")},
			[]string{"cannot be built for Python 3.11 of base image", "mlgate-no-such-package-xq7 was not found"}},
		{"no uv", BuildImageOptions{ModelURI: pyModel(t, "six==1.17.0\n"), UV: filepath.Join(dir, "no-uv")},
			[]string{"MLGATE_UV"}},
		{"runtime without mlgate", BuildImageOptions{ModelURI: pyModel(t, "six==1.17.0\n"), Runtime: base},
			[]string{"has 0 layers made by \"ONNX Runtime ...\"", "runtime image"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := c.o
			o.Name, o.Output, o.Source = "x:1", filepath.Join(dir, "img"), localSource(t)
			if o.Base == "" {
				o.Base = base
			}
			if o.Runtime == "" {
				o.Runtime = testBase(t)
			}
			if o.UV == "" {
				o.UV = testUV(t)
			}
			_, err := BuildImage(ctx, o)
			for _, w := range c.want {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Fatalf("got %v, want an error with %q", err, w)
				}
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 0 {
				t.Fatalf("output left behind: %v", ents)
			}
		})
	}
}
