//go:build integration

package registry_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/mlgate/mlgate/artifacts"
	"github.com/mlgate/mlgate/registry"
	"github.com/mlgate/mlgate/rest"
	"github.com/mlgate/mlgate/rest/resttest"
)

var (
	mlflowServer *resttest.MLflow
	registered   struct {
		Runs   []string            `json:"runs"`
		Models []string            `json:"models"`
		Forms  map[string][][3]any `json:"forms"`
	}
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	py := os.Getenv("MLGATE_TEST_PYTHON")
	if py == "" {
		fmt.Fprintln(os.Stderr, "FAIL: MLGATE_TEST_PYTHON is not set: it must name the python of a venv with mlflow installed")
		return 1
	}
	dir, err := os.MkdirTemp("", "mlgate-registry-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	srv, err := resttest.StartMLflow(py, dir, resttest.Port())
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: start mlflow server:", err)
		return 1
	}
	defer srv.Stop()
	mlflowServer = srv
	out := filepath.Join(dir, "registered.json")
	cmd := exec.Command(py, "testdata/register.py", srv.URL, out, filepath.Join(dir, "py-downloads"))
	if b, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: register models with the python client: %v\n%s\n", err, b)
		return 1
	}
	b, err := os.ReadFile(out)
	if err == nil {
		err = json.Unmarshal(b, &registered)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL:", err)
		return 1
	}
	return m.Run()
}

func newClient(t *testing.T) (*registry.Client, *rest.Transport) {
	t.Helper()
	tr, err := rest.New(rest.Config{BaseURL: mlflowServer.URL, MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	return registry.NewClient(tr), tr
}

func treeOf(t *testing.T, dir string) [][3]any {
	t.Helper()
	var out [][3]any
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		sum := sha256.Sum256(b)
		out = append(out, [3]any{rel, float64(len(b)), hex.EncodeToString(sum[:])})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0].(string) < out[j][0].(string) })
	return out
}

// TestEveryURIFormMatchesPython resolves each URI form with the Go client,
// downloads it through the cache and compares the files (names, sizes and
// hashes) with what mlflow.artifacts.download_artifacts produced.
func TestEveryURIFormMatchesPython(t *testing.T) {
	ctx := context.Background()
	reg, tr := newClient(t)
	cache := &artifacts.Cache{Dir: t.TempDir()}
	if len(registered.Forms) != 8 {
		t.Fatalf("python registered %d forms", len(registered.Forms))
	}
	for uri, want := range registered.Forms {
		// MLflow's download adds registered_model_meta; the cache keeps the
		// artifacts only (ModelSource.Download writes that file).
		want = slices.DeleteFunc(want, func(f [3]any) bool { return f[0] == "registered_model_meta" })
		t.Run(strings.ReplaceAll(uri, "/", "_"), func(t *testing.T) {
			res, err := reg.Resolve(ctx, uri)
			if err != nil {
				t.Fatal(err)
			}
			repo, err := artifacts.Open(ctx, res.ArtifactURI, artifacts.Options{Tracking: tr})
			if err != nil {
				t.Fatal(err)
			}
			dir, err := cache.Fetch(ctx, repo, "", artifacts.DownloadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			got := treeOf(t, dir)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("%s (%s):\n go     %v\n python %v", uri, res.ArtifactURI, got, want)
			}
			again, err := cache.Fetch(ctx, repo, "", artifacts.DownloadOptions{})
			if err != nil || again != dir {
				t.Fatalf("second fetch %q %v, want cache hit %q", again, err, dir)
			}
		})
	}
	// Versions resolve to the expected numbers.
	for uri, want := range map[string]string{
		"models:/fraud/Production": "1", "models:/fraud/latest": "2", "models:/fraud@champion": "2", "models:/fraud/1": "1",
	} {
		res, err := reg.Resolve(ctx, uri)
		if err != nil || res.Name != "fraud" || res.Version != want {
			t.Errorf("%s -> %+v %v, want version %s", uri, res, err, want)
		}
	}
}

func TestResolveErrorsNameWhatIsMissing(t *testing.T) {
	ctx := context.Background()
	reg, _ := newClient(t)
	cases := map[string]string{
		"models:/fraud/Staging":    "no version of model 'fraud' in stage 'Staging'",
		"models:/fraud/9":          "no version 9 of model 'fraud'",
		"models:/nope/latest":      "no registered model 'nope'",
		"models:/fraud@gone":       "no alias 'gone' on model 'fraud'",
		"runs:/0123456789abcdef/m": "no run '0123456789abcdef'",
		"models:/":                 "missing model name",
	}
	for uri, want := range cases {
		_, err := reg.Resolve(ctx, uri)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), uri) {
			t.Errorf("Resolve(%q) error = %v, want it to name the URI and say %q", uri, err, want)
		}
	}
	var nf *registry.NotFoundError
	if _, err := reg.Resolve(ctx, "models:/fraud/Staging"); !errors.As(err, &nf) || nf.ErrorCode() != "RESOURCE_DOES_NOT_EXIST" {
		t.Errorf("stage miss is not a NotFoundError: %v", err)
	}
}

func TestRegistryClientOperations(t *testing.T) {
	ctx := context.Background()
	reg, _ := newClient(t)
	rm, err := reg.CreateRegisteredModel(ctx, "go-model", "from go", []registry.Tag{{Key: "team", Value: "ml"}})
	if err != nil || rm.Name != "go-model" {
		t.Fatalf("create %+v %v", rm, err)
	}
	if _, err := reg.CreateRegisteredModel(ctx, "go-model", "", nil); !rest.IsAlreadyExists(err) {
		t.Fatalf("duplicate create: %v", err)
	}
	src := fmt.Sprintf("runs:/%s/model", registered.Runs[0])
	mv, err := reg.RegisterModel(ctx, src, "go-model", 0)
	if err != nil || mv.Version != "1" || mv.Status != "READY" {
		t.Fatalf("register %+v %v", mv, err)
	}
	must(t, reg.SetRegisteredModelAlias(ctx, "go-model", "champion", "1"))
	byAlias, err := reg.GetModelVersionByAlias(ctx, "go-model", "champion")
	if err != nil || byAlias.Version != "1" {
		t.Fatalf("alias %+v %v", byAlias, err)
	}
	must(t, reg.SetModelVersionTag(ctx, "go-model", "1", "validated", "yes"))
	if _, err := reg.TransitionModelVersionStage(ctx, "go-model", "1", "Staging", false); err != nil {
		t.Fatal(err)
	}
	latest, err := reg.GetLatestVersions(ctx, "go-model", "Staging")
	if err != nil || len(latest) != 1 || latest[0].CurrentStage != "Staging" {
		t.Fatalf("latest %+v %v", latest, err)
	}
	upd, err := reg.UpdateModelVersion(ctx, "go-model", "1", "desc")
	if err != nil || upd.Description != "desc" {
		t.Fatalf("update %+v %v", upd, err)
	}
	if _, err := reg.UpdateRegisteredModel(ctx, "go-model", "new desc"); err != nil {
		t.Fatal(err)
	}
	must(t, reg.SetRegisteredModelTag(ctx, "go-model", "k", "v"))
	got, err := reg.GetRegisteredModel(ctx, "go-model")
	if err != nil || got.Description != "new desc" || len(got.Aliases) != 1 {
		t.Fatalf("get %+v %v", got, err)
	}
	ms, _, err := reg.SearchRegisteredModels(ctx, "name = 'go-model'", 10, nil, "")
	if err != nil || len(ms) != 1 {
		t.Fatalf("search %v %v", ms, err)
	}
	vs, _, err := reg.SearchModelVersions(ctx, "name = 'go-model'", 10, nil, "")
	if err != nil || len(vs) != 1 {
		t.Fatalf("search versions %v %v", vs, err)
	}
	dl, err := reg.GetModelVersionDownloadURI(ctx, "go-model", "1")
	if err != nil || !strings.Contains(dl, registered.Models[0]) && !strings.Contains(dl, registered.Runs[0]) {
		t.Fatalf("download uri %q %v", dl, err)
	}
	must(t, reg.DeleteModelVersionTag(ctx, "go-model", "1", "validated"))
	must(t, reg.DeleteRegisteredModelAlias(ctx, "go-model", "champion"))
	must(t, reg.DeleteRegisteredModelTag(ctx, "go-model", "k"))
	if _, err := reg.RenameRegisteredModel(ctx, "go-model", "go-model-2"); err != nil {
		t.Fatal(err)
	}
	must(t, reg.DeleteModelVersion(ctx, "go-model-2", "1"))
	must(t, reg.DeleteRegisteredModel(ctx, "go-model-2"))
	if _, err := reg.GetRegisteredModel(ctx, "go-model-2"); !rest.IsNotFound(err) {
		t.Fatalf("after delete: %v", err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
