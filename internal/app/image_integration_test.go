//go:build integration

package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/mlgate/mlgate/internal/oci"
	"github.com/mlgate/mlgate/internal/oci/ocitest"
	trackingregistry "github.com/mlgate/mlgate/registry"
	"github.com/mlgate/mlgate/tracking"
)

// testBase is the runtime base image `make gotest` builds (scripts/image.sh).
func testBase(t *testing.T) string {
	t.Helper()
	base := os.Getenv("MLGATE_TEST_BASE_IMAGE")
	if base == "" {
		t.Fatal("MLGATE_TEST_BASE_IMAGE is not set: run the tests with `make gotest`, which builds the runtime base with scripts/image.sh")
	}
	return base
}

// needTools fails unless the OCI tools the test drives are installed.
func needTools(t *testing.T, extra ...string) {
	t.Helper()
	if err := ocitest.Check(); err != nil {
		t.Fatal(err)
	}
	for _, tool := range extra {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed (.ci/run installs it from apt)", tool)
		}
	}
}

// registeredLinear logs the example model on an embedded server, registers
// it as linear with alias champion and returns a model source for it.
func registeredLinear(t *testing.T) *ModelSource {
	t.Helper()
	ctx := context.Background()
	_, url, _ := startServer(t, nil)
	discard := slog.New(slog.DiscardHandler)
	runID, err := logQuickstartRun(ctx, QuickstartOptions{ModelDir: linearDir(t), Stdout: io.Discard, Logger: discard}, url)
	if err != nil {
		t.Fatal(err)
	}
	c, err := tracking.NewClient(tracking.Config{TrackingURI: url, Logger: discard})
	if err != nil {
		t.Fatal(err)
	}
	reg := trackingregistry.NewClient(c.Transport())
	mv, err := reg.RegisterModel(ctx, "runs:/"+runID+"/model", "linear", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.SetRegisteredModelAlias(ctx, "linear", "champion", mv.Version); err != nil {
		t.Fatal(err)
	}
	src, err := NewModelSource(ModelSourceOptions{Tracking: tracking.Config{TrackingURI: url, Logger: discard}, CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func linearDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "examples", "models", "linear"))
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// runImage unpacks the layout's image and starts it with runc, with extra
// arguments appended to its entrypoint.
func runImage(t *testing.T, layoutDir, tag string, extra ...string) *ocitest.Container {
	t.Helper()
	tmp := t.TempDir()
	bundle := filepath.Join(tmp, "bundle")
	start := time.Now()
	if err := ocitest.Unpack(layoutDir, tag, bundle, extra...); err != nil {
		t.Fatal(err)
	}
	t.Logf("umoci unpack: %s", time.Since(start).Round(time.Millisecond))
	c, err := ocitest.Run(bundle, filepath.Join(tmp, "state"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Remove()
		if t.Failed() {
			t.Logf("container output:\n%s", c.Output())
		}
	})
	return c
}

// waitStatus polls url until it answers want or 30 s pass.
func waitStatus(t *testing.T, url string, want int, done <-chan error) {
	t.Helper()
	waitStatusWithin(t, url, want, done, 30*time.Second)
}

// waitStatusWithin polls url until it answers want or d passes.
func waitStatusWithin(t *testing.T, url string, want int, done <-chan error, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		select {
		case err := <-done:
			t.Fatalf("the container ended while waiting for %s: %v", url, err)
		default:
		}
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == want {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s never answered %d", url, want)
}

func TestBuildDockerImageServesUnderRunc(t *testing.T) {
	needTools(t)
	ctx := context.Background()
	src := registeredLinear(t)
	out := filepath.Join(t.TempDir(), "linear-image")
	built, err := BuildImage(ctx, BuildImageOptions{
		ModelURI: "models:/linear@champion", Name: "linear:v1", Base: testBase(t), Output: out, Source: src,
	})
	if err != nil {
		t.Fatal(err)
	}
	// The same inputs, written as a tarball, give the same digest, and
	// the tarball is a docker archive with the image's labels.
	tarPath := filepath.Join(t.TempDir(), "l.tar")
	again, err := BuildImage(ctx, BuildImageOptions{
		ModelURI: "models:/linear@champion", Name: "linear:v1", Base: testBase(t), Output: tarPath, Source: src,
	})
	if err != nil || again.Digest != built.Digest {
		t.Fatalf("second build: %v, digest %s vs %s", err, again.Digest, built.Digest)
	}
	needTools(t, "skopeo")
	raw, err := exec.Command("skopeo", "inspect", "docker-archive:"+tarPath).Output()
	if err != nil {
		t.Fatalf("skopeo inspect docker-archive: %v", err)
	}
	var info struct {
		RepoTags []string
		Labels   map[string]string
	}
	if err := json.Unmarshal(raw, &info); err != nil {
		t.Fatal(err)
	}
	if info.Labels[oci.LabelModelName] != "linear" || info.Labels[oci.LabelModelVersion] != "1" || info.Labels[oci.LabelModelURI] != "models:/linear@champion" {
		t.Fatalf("docker archive labels %v", info.Labels)
	}
	example, err := os.ReadFile(filepath.Join(linearDir(t), "serving_input_example.json"))
	if err != nil {
		t.Fatal(err)
	}
	request := string(example)
	want := startScoring(t, ServeOptions{ModelURI: linearDir(t), Host: "127.0.0.1"})
	wantCode, wantBody := invoke(t, want.Addr(), request)
	if wantCode != 200 {
		t.Fatalf("models serve: %d %s", wantCode, wantBody)
	}

	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	c := runImage(t, out, "v1", "--port", fmt.Sprint(port), "--drain-delay", "1s")
	waitStatus(t, "http://"+addr+"/v2/health/ready", 200, c.Done)
	code, body := invoke(t, addr, request)
	if code != 200 || body != wantBody {
		t.Fatalf("container answered %d %s; models serve answers %s", code, body, wantBody)
	}
	code, meta := call(t, "GET", "http://"+addr+"/v2/models/linear", "")
	if code != 200 || !strings.Contains(meta, `"name":"linear"`) {
		t.Fatalf("/v2/models/linear: %d %s", code, meta)
	}
	// SIGTERM: readiness fails at once while predictions are still served
	// for the drain delay, then the server exits cleanly.
	if err := c.Signal("TERM"); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, "http://"+addr+"/v2/health/ready", 503, c.Done)
	if code, body := invoke(t, addr, request); code != 200 || body != wantBody {
		t.Fatalf("during the drain: %d %s", code, body)
	}
	select {
	case err := <-c.Done:
		if err != nil {
			t.Fatalf("container exit: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the container did not exit after SIGTERM")
	}
	if !strings.Contains(c.Output(), "drained") {
		t.Fatalf("no drain in the container's log:\n%s", c.Output())
	}
}

func TestBuildDockerPushPullsBackTheSameDigest(t *testing.T) {
	needTools(t, "skopeo")
	reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer reg.Close()
	host := strings.TrimPrefix(reg.URL, "http://")
	ref := host + "/team/linear:v1"
	built, err := BuildImage(context.Background(), BuildImageOptions{
		ModelURI: linearDir(t), Name: ref, Base: testBase(t), Push: true, Source: registeredLinear(t),
		Remote: oci.Remote{Insecure: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	if built.Pushed != host+"/team/linear@"+built.Digest {
		t.Fatalf("pushed %s", built.Pushed)
	}
	out, err := exec.Command("skopeo", "inspect", "--tls-verify=false", "docker://"+ref).Output()
	if err != nil {
		t.Fatalf("skopeo inspect: %v", err)
	}
	var info struct {
		Digest string
		Labels map[string]string
	}
	if err := json.Unmarshal(out, &info); err != nil {
		t.Fatal(err)
	}
	if info.Digest != built.Digest || info.Labels[oci.LabelModelURI] != linearDir(t) {
		t.Fatalf("skopeo sees %s %v, built %s", info.Digest, info.Labels, built.Digest)
	}
}

func TestBuildDockerErrorsLeaveNoOutput(t *testing.T) {
	ctx := context.Background()
	src := registeredLinear(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "img")
	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/" {
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}`))
	}))
	defer refusing.Close()
	refused := strings.TrimPrefix(refusing.URL, "http://") + "/team/linear:v1"
	for _, c := range []struct {
		name string
		o    BuildImageOptions
		want string
	}{
		{"missing model", BuildImageOptions{ModelURI: "models:/nope@champion"}, "nope"},
		{"missing folder", BuildImageOptions{ModelURI: filepath.Join(dir, "absent")}, "absent"},
		{"other architecture", BuildImageOptions{ModelURI: linearDir(t), Platform: "linux/arm64"}, "is linux/amd64, not linux/arm64"},
		{"unreadable base", BuildImageOptions{ModelURI: linearDir(t), Base: dir + "/no-such-layout"}, "neither a local OCI layout nor an image reference"},
		{"push refused", BuildImageOptions{ModelURI: linearDir(t), Name: refused, Push: true, Remote: oci.Remote{Insecure: true}}, "403 Forbidden"},
		{"python model", BuildImageOptions{ModelURI: filepath.Join("..", "..", "flavors", "pyfunc", "testdata", "jsworker", "model")}, "has neither an onnx nor a python_function flavor"},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := c.o
			o.Output, o.Source = out, src
			if o.Name == "" {
				o.Name = "x:1"
			}
			if o.Base == "" {
				o.Base = testBase(t)
			}
			_, err := BuildImage(ctx, o)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error with %q", err, c.want)
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 0 {
				t.Fatalf("output left behind: %v", ents)
			}
		})
	}
}

func TestGenerateDockerfile(t *testing.T) {
	out := filepath.Join(t.TempDir(), "ctx")
	err := GenerateDockerfile(context.Background(), GenerateDockerfileOptions{
		ModelURI: "models:/linear@champion", OutDir: out, Base: "mlgate/mlgate:test", Source: registeredLinear(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	df, err := os.ReadFile(filepath.Join(out, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"FROM mlgate/mlgate:test\n", "LABEL io.mlgate.model.name=\"linear\"\n", "LABEL io.mlgate.model.version=\"1\"\n"} {
		if !strings.Contains(string(df), want) {
			t.Errorf("Dockerfile lacks %q:\n%s", want, df)
		}
	}
	if _, err := os.Stat(filepath.Join(out, oci.ModelContext, "model.onnx")); err != nil {
		t.Fatal(err)
	}
	// A failed generation leaves no folder behind.
	bad := filepath.Join(t.TempDir(), "bad")
	if err := GenerateDockerfile(context.Background(), GenerateDockerfileOptions{ModelURI: "models:/nope/1", OutDir: bad, Base: "x", Source: registeredLinear(t)}); err == nil {
		t.Fatal("generated for a missing model")
	}
	if _, err := os.Stat(bad); !os.IsNotExist(err) {
		t.Fatalf("left %s: %v", bad, err)
	}
}
