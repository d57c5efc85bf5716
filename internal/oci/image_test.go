package oci

import (
	"context"
	"encoding/base64"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

var amd64 = v1.Platform{OS: "linux", Architecture: "amd64"}

// baseImage builds a small base for platform with an entrypoint and env.
func baseImage(t *testing.T, p v1.Platform) v1.Image {
	t.Helper()
	img, err := Build(Spec{
		Platform:   p,
		Layers:     []LayerSpec{{Trees: []Tree{{Src: writeFiles(t, map[string]string{"usr/local/bin/mlgate": "#!"}), Dest: "/"}}, Comment: "base"}},
		Entrypoint: []string{"/usr/local/bin/mlgate"},
		Cmd:        []string{"version"},
		Env:        []string{"PATH=/usr/bin", "A=1"},
		User:       "65532:65532",
	})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func modelSpec(t *testing.T, base v1.Image) Spec {
	return Spec{
		Base:       base,
		Layers:     []LayerSpec{{Trees: []Tree{{Src: writeFiles(t, map[string]string{"MLmodel": "flavors: {onnx: {}}\n"}), Dest: ModelDir}}, Comment: "model"}},
		Entrypoint: ServeEntrypoint([]string{"/usr/local/bin/mlgate"}),
		Cmd:        []string{},
		Env:        []string{"A=2", "B=3"},
		Labels:     map[string]string{LabelModelURI: "models:/m/1"},
		Ports:      []string{"8080/tcp"},
	}
}

func digestOf(t *testing.T, img v1.Image) v1.Hash {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestBuildOnBaseIsReproducibleAndConfigured(t *testing.T) {
	base := baseImage(t, amd64)
	a, err := Build(modelSpec(t, base))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Build(modelSpec(t, baseImage(t, amd64)))
	if err != nil {
		t.Fatal(err)
	}
	if digestOf(t, a) != digestOf(t, b) {
		t.Fatal("two builds of the same inputs differ")
	}
	cf, err := a.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	if c.Entrypoint[0] != "/usr/local/bin/mlgate" || !slices.Contains(c.Entrypoint, ModelDir) || len(c.Cmd) != 0 {
		t.Fatalf("entrypoint %q cmd %q", c.Entrypoint, c.Cmd)
	}
	if !slices.Equal(c.Env, []string{"PATH=/usr/bin", "A=2", "B=3"}) || c.User != "65532:65532" {
		t.Fatalf("env %q user %q", c.Env, c.User)
	}
	if _, ok := c.ExposedPorts["8080/tcp"]; !ok || c.Labels[LabelModelURI] != "models:/m/1" {
		t.Fatalf("ports %v labels %v", c.ExposedPorts, c.Labels)
	}
	layers, _ := a.Layers()
	if len(layers) != 2 || len(cf.History) != 2 || cf.History[1].CreatedBy != "model" || !cf.Created.Equal(Epoch) {
		t.Fatalf("%d layers, history %+v, created %v", len(layers), cf.History, cf.Created)
	}
}

func writeLayoutOf(t *testing.T, imgs ...v1.Image) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "base")
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	for _, img := range imgs {
		cf, _ := img.ConfigFile()
		if err := p.AppendImage(img, layout.WithPlatform(v1.Platform{OS: cf.OS, Architecture: cf.Architecture})); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLoadBaseChoosesThePlatform(t *testing.T) {
	ctx := context.Background()
	amd, arm := baseImage(t, amd64), baseImage(t, v1.Platform{OS: "linux", Architecture: "arm64"})
	multi := writeLayoutOf(t, amd, arm)
	for _, ref := range []string{multi, "oci:" + multi, "oci-layout://" + multi} {
		img, err := LoadBase(ctx, ref, amd64, Remote{})
		if err != nil {
			t.Fatal(err)
		}
		if digestOf(t, img) != digestOf(t, amd) {
			t.Fatalf("%s: took the wrong image", ref)
		}
	}
	only := writeLayoutOf(t, arm)
	_, err := LoadBase(ctx, only, amd64, Remote{})
	if err == nil || !strings.Contains(err.Error(), "no image for linux/amd64") {
		t.Fatalf("arm64-only layout for amd64: %v", err)
	}
	// An image without platform in its descriptor is checked by its config.
	p, _ := layout.Write(filepath.Join(t.TempDir(), "plain"), empty.Index)
	if err := p.AppendImage(arm); err != nil {
		t.Fatal(err)
	}
	_, err = LoadBase(ctx, string(p), amd64, Remote{})
	if err == nil || !strings.Contains(err.Error(), "is linux/arm64, not linux/amd64") {
		t.Fatalf("arm64 base for amd64: %v", err)
	}
}

func TestLoadBaseUnreadable(t *testing.T) {
	ctx := context.Background()
	broken := t.TempDir()
	if err := os.WriteFile(filepath.Join(broken, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(broken, "index.json"), []byte(`{not json`), 0o644); err != nil {
		t.Fatal(err)
	}
	for ref, want := range map[string]string{
		broken:                    "not a readable OCI image layout",
		"oci:" + t.TempDir():      "not a readable OCI image layout",
		"Not A Valid Reference!!": "neither a local OCI layout nor an image reference",
	} {
		if _, err := LoadBase(ctx, ref, amd64, Remote{}); err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "base image") {
			t.Errorf("%s: %v (want %q)", ref, err, want)
		}
	}
}

// startRegistry serves an in-memory registry on 127.0.0.1; wrap may refuse
// requests.
func startRegistry(t *testing.T, wrap func(http.Handler) http.Handler) string {
	t.Helper()
	h := http.Handler(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func TestPushPullSameDigest(t *testing.T) {
	ctx := context.Background()
	host := startRegistry(t, nil)
	img, err := Build(modelSpec(t, baseImage(t, amd64)))
	if err != nil {
		t.Fatal(err)
	}
	r := Remote{Insecure: true}
	ref, err := Push(ctx, host+"/team/linear:v1", img, r)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(ref, "@"+digestOf(t, img).String()) {
		t.Fatalf("pushed ref %s", ref)
	}
	pref, err := name.ParseReference(host+"/team/linear:v1", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	pulled, err := remote.Image(pref)
	if err != nil {
		t.Fatal(err)
	}
	if digestOf(t, pulled) != digestOf(t, img) {
		t.Fatal("pulled digest differs")
	}
	// The pushed image serves as a base by reference.
	base, err := LoadBase(ctx, host+"/team/linear:v1", amd64, r)
	if err != nil || digestOf(t, base) != digestOf(t, img) {
		t.Fatalf("base from registry: %v", err)
	}
}

func TestPushRefused(t *testing.T) {
	host := startRegistry(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusForbidden)
				_, _ = w.Write([]byte(`{"errors":[{"code":"DENIED","message":"push to team/ is not allowed"}]}`))
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	img, err := Build(modelSpec(t, baseImage(t, amd64)))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Push(context.Background(), host+"/team/linear:v1", img, Remote{Insecure: true})
	if err == nil || !strings.Contains(err.Error(), "push "+host+"/team/linear:v1") || !strings.Contains(err.Error(), "DENIED") {
		t.Fatalf("refused push: %v", err)
	}
}

func TestWriteLayoutAndTarball(t *testing.T) {
	img, err := Build(modelSpec(t, baseImage(t, amd64)))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "out")
	if err := WriteLayout(dir, "linear:v1", img); err != nil {
		t.Fatal(err)
	}
	// Replacing a layout works; the result holds only the new image.
	if err := WriteLayout(dir, "linear:v2", img); err != nil {
		t.Fatal(err)
	}
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	im, _ := idx.IndexManifest()
	if len(im.Manifests) != 1 || im.Manifests[0].Annotations[RefNameAnnotation] != "v2" || im.Manifests[0].Digest != digestOf(t, img) {
		t.Fatalf("layout index %+v", im.Manifests)
	}
	ents, _ := os.ReadDir(filepath.Dir(dir))
	if len(ents) != 1 {
		t.Fatalf("temporary folders left: %v", ents)
	}
	file := filepath.Join(t.TempDir(), "linear.tar")
	if err := WriteTarball(file, "linear:v1", img); err != nil {
		t.Fatal(err)
	}
	back, err := tarball.ImageFromPath(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	bc, _ := back.ConfigName()
	ic, _ := img.ConfigName()
	if bc != ic {
		t.Fatalf("tarball config %s, built %s", bc, ic)
	}
}

func TestOutputsLeaveNothingOnFailure(t *testing.T) {
	// A layer whose file vanished after it was listed fails while written.
	src := writeFiles(t, map[string]string{"MLmodel": "m", "big.bin": "0123456789"})
	img, err := Build(Spec{Platform: amd64, Layers: []LayerSpec{{Trees: []Tree{{Src: src, Dest: ModelDir}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(src, "big.bin")); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if err := WriteLayout(filepath.Join(out, "img"), "x:1", img); err == nil {
		t.Fatal("layout of a broken image written")
	}
	if err := WriteTarball(filepath.Join(out, "img.tar"), "x:1", img); err == nil {
		t.Fatal("tarball of a broken image written")
	}
	if ents, _ := os.ReadDir(out); len(ents) != 0 {
		t.Fatalf("partial output left: %v", ents)
	}
	// A folder that is not a layout is never replaced.
	keep := writeFiles(t, map[string]string{"precious.txt": "data"})
	good := baseImage(t, amd64)
	if err := WriteLayout(keep, "x:1", good); err == nil || !strings.Contains(err.Error(), "not an OCI layout") {
		t.Fatalf("overwrote a folder: %v", err)
	}
	if _, err := os.Stat(filepath.Join(keep, "precious.txt")); err != nil {
		t.Fatal(err)
	}
}

func TestMergeEnvAndAnnotations(t *testing.T) {
	got := mergeEnv([]string{"PATH=/bin", "X=1"}, []string{"X=2", "Y", "PATH=/usr/bin"})
	if !slices.Equal(got, []string{"PATH=/usr/bin", "X=2", "Y"}) {
		t.Fatal(got)
	}
	img := mutate.Annotations(empty.Image, map[string]string{"a": "b"}).(v1.Image)
	if _, err := Build(Spec{Base: img}); err != nil {
		t.Fatal(err)
	}
}

func TestPushUsesDockerConfigCredentials(t *testing.T) {
	host := startRegistry(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if u, p, ok := r.BasicAuth(); !ok || u != "ci" || p != "s3cret" {
				w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	img, err := Build(modelSpec(t, baseImage(t, amd64)))
	if err != nil {
		t.Fatal(err)
	}
	ref := host + "/team/linear:v1"
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	if _, err := Push(context.Background(), ref, img, Remote{Insecure: true}); err == nil || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "docker config file") {
		t.Fatalf("push without credentials: %v", err)
	}
	cfg := t.TempDir()
	auth := base64.StdEncoding.EncodeToString([]byte("ci:s3cret"))
	if err := os.WriteFile(filepath.Join(cfg, "config.json"), []byte(`{"auths":{"`+host+`":{"auth":"`+auth+`"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_CONFIG", cfg)
	if _, err := Push(context.Background(), ref, img, Remote{Insecure: true}); err != nil {
		t.Fatalf("push with the docker config's credentials: %v", err)
	}
}
