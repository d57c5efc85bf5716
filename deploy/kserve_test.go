package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"text/template"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/objectmeta"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	apivalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"sigs.k8s.io/yaml"
)

// The KServe release whose CRDs the objects are checked against. The CRDs
// are read from the Go module github.com/kserve/kserve (config/crd/full)
// as `go mod download` fetches it: its Go packages do not build with the
// k8s.io versions of this module, and the CRDs are not copied here.
const (
	kserveModule = "github.com/kserve/kserve"
	kserveVer    = "v0.17.0"
	kserveSum    = "h1:IaynaBFzVQz1Xyrw5n3ncqzd5Y7L1RkO+YWvVwwtMQE="
)

var (
	kserveOnce sync.Once
	kserveDir  string
	errKServe  error
)

// kserveSource returns the folder of the KServe module, downloaded once
// into the module cache and checked against its pinned go.sum hash.
func kserveSource(t *testing.T) string {
	t.Helper()
	kserveOnce.Do(func() {
		tmp, err := os.MkdirTemp("", "kserve-crd-")
		if err != nil {
			errKServe = err
			return
		}
		defer os.RemoveAll(tmp)
		cmd := exec.Command("go", "mod", "download", "-json", kserveModule+"@"+kserveVer)
		cmd.Dir = tmp // outside any module: nothing is added to go.mod or go.sum
		cmd.Env = append(os.Environ(), "GOFLAGS=", "GOWORK=off")
		out, err := cmd.Output()
		var info struct{ Dir, Sum, Error string }
		if jerr := json.Unmarshal(out, &info); jerr != nil || err != nil || info.Error != "" {
			errKServe = fmt.Errorf("go mod download %s@%s: %w %s %s", kserveModule, kserveVer, errors.Join(err, jerr), info.Error, out)
			return
		}
		if info.Sum != kserveSum {
			errKServe = fmt.Errorf("%s@%s: hash %s, want %s", kserveModule, kserveVer, info.Sum, kserveSum)
			return
		}
		kserveDir = info.Dir
	})
	if errKServe != nil {
		t.Fatal(errKServe)
	}
	return kserveDir
}

// crdValidator checks custom objects against one version of a CRD's
// OpenAPI schema as the API server does: the schema (types, enums,
// required fields), unknown fields (what pruning would drop), the CEL
// rules and the metadata.
type crdValidator struct {
	gvk        string // apiVersion + " " + kind
	structural *structuralschema.Structural
	schema     apivalidation.SchemaCreateValidator
	cel        *cel.Validator
}

func loadCRD(t *testing.T, file, version string) *crdValidator {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(kserveSource(t), "config", "crd", "full", file))
	if err != nil {
		t.Fatal(err)
	}
	var crd apiextensionsv1.CustomResourceDefinition
	if err := yaml.UnmarshalStrict(b, &crd); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	for _, v := range crd.Spec.Versions {
		if v.Name != version {
			continue
		}
		var internal apiextensions.JSONSchemaProps
		if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(v.Schema.OpenAPIV3Schema, &internal, nil); err != nil {
			t.Fatal(err)
		}
		s, err := structuralschema.NewStructural(&internal)
		if err != nil {
			t.Fatal(err)
		}
		sv, _, err := apivalidation.NewSchemaValidator(&internal)
		if err != nil {
			t.Fatal(err)
		}
		return &crdValidator{
			gvk:        crd.Spec.Group + "/" + version + " " + crd.Spec.Names.Kind,
			structural: s,
			schema:     sv,
			cel:        cel.NewValidator(s, true, celconfig.PerCallLimit),
		}
	}
	t.Fatalf("%s has no version %s", file, version)
	return nil
}

// validate returns every way doc breaks the CRD.
func (v *crdValidator) validate(doc []byte) []string {
	var obj map[string]any
	if err := yaml.Unmarshal(doc, &obj); err != nil {
		return []string{err.Error()}
	}
	if got := fmt.Sprintf("%v %v", obj["apiVersion"], obj["kind"]); got != v.gvk {
		return []string{fmt.Sprintf("%s is not %s", got, v.gvk)}
	}
	var errs field.ErrorList
	errs = append(errs, apivalidation.ValidateCustomResource(nil, obj, v.schema)...)
	errs = append(errs, objectmeta.Validate(context.Background(), nil, obj, v.structural, true)...)
	celErrs, _ := v.cel.Validate(context.Background(), nil, v.structural, obj, nil, celconfig.RuntimeCELCostBudget)
	errs = append(errs, celErrs...)
	var out []string
	for _, e := range errs {
		out = append(out, e.Error())
	}
	// metadata is decoded strictly on its own; pruning covers the rest
	if md, ok := obj["metadata"]; ok {
		b, _ := json.Marshal(md)
		var m metav1.ObjectMeta
		if err := yaml.UnmarshalStrict(b, &m); err != nil {
			out = append(out, "metadata: "+err.Error())
		}
	}
	pruned := pruning.PruneWithOptions(deepCopyJSON(obj), v.structural, true, structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true})
	for _, p := range pruned {
		out = append(out, "unknown field "+p)
	}
	return out
}

func deepCopyJSON(obj map[string]any) map[string]any {
	b, _ := json.Marshal(obj)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return out
}

func readKServe(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("kserve", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// runtimeSpec is the part of the ClusterServingRuntime the tests read.
type runtimeSpec struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        metav1.ObjectMeta `json:"metadata"`
	Spec            struct {
		SupportedModelFormats []struct {
			Name       string `json:"name"`
			Version    string `json:"version"`
			AutoSelect bool   `json:"autoSelect"`
		} `json:"supportedModelFormats"`
		ProtocolVersions []string           `json:"protocolVersions"`
		Containers       []corev1.Container `json:"containers"`
	} `json:"spec"`
}

type inferenceService struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        metav1.ObjectMeta `json:"metadata"`
	Spec            struct {
		Predictor struct {
			Model struct {
				ModelFormat struct {
					Name string `json:"name"`
				} `json:"modelFormat"`
				ProtocolVersion string `json:"protocolVersion"`
				Runtime         string `json:"runtime"`
				StorageURI      string `json:"storageUri"`
			} `json:"model"`
		} `json:"predictor"`
	} `json:"spec"`
}

func TestKServeObjectsMatchCRDs(t *testing.T) {
	rt := loadCRD(t, "serving.kserve.io_clusterservingruntimes.yaml", "v1alpha1")
	isvc := loadCRD(t, "serving.kserve.io_inferenceservices.yaml", "v1beta1")
	for _, c := range []struct {
		file string
		v    *crdValidator
	}{{"clusterservingruntime.yaml", rt}, {"inferenceservice.yaml", isvc}} {
		if errs := c.v.validate(readKServe(t, c.file)); len(errs) > 0 {
			t.Errorf("%s:\n  %s", c.file, strings.Join(errs, "\n  "))
		}
	}
}

// TestKServeCRDRejectsMistakes makes sure the validation above can fail.
func TestKServeCRDRejectsMistakes(t *testing.T) {
	rt := loadCRD(t, "serving.kserve.io_clusterservingruntimes.yaml", "v1alpha1")
	isvc := loadCRD(t, "serving.kserve.io_inferenceservices.yaml", "v1beta1")
	good := string(readKServe(t, "clusterservingruntime.yaml"))
	goodISVC := string(readKServe(t, "inferenceservice.yaml"))
	cases := []struct {
		name, doc string
		v         *crdValidator
	}{
		{"misspelt field", strings.Replace(good, "supportedModelFormats:", "supportedModelFormat:", 1), rt},
		{"misspelt nested field", strings.Replace(good, "autoSelect: true", "autoselect: true", 1), rt},
		{"wrong type", strings.Replace(good, "priority: 2", "priority: high", 1), rt},
		{"below minimum", strings.Replace(good, "priority: 2", "priority: 0", 1), rt},
		{"unknown metadata field", strings.Replace(good, "  name: kserve-mlgate", "  name: kserve-mlgate\n  labelz: {}", 1), rt},
		{"misspelt predictor field", strings.Replace(goodISVC, "storageUri:", "storageURI:", 1), isvc},
		{"wrong kind", strings.Replace(goodISVC, "kind: InferenceService", "kind: InferenceServices", 1), isvc},
	}
	for _, c := range cases {
		if c.doc == good || c.doc == goodISVC {
			t.Fatalf("%s: the replacement did not apply", c.name)
		}
		errs := c.v.validate([]byte(c.doc))
		if len(errs) == 0 {
			t.Errorf("%s: accepted", c.name)
		}
		t.Logf("%s: %v", c.name, errs)
	}
}

// TestKServeRuntimeServes runs mlgate as KServe would run the runtime's
// container for the example InferenceService: {{.Name}} rendered, the
// model in place of /mnt/models. Every declared protocol is answered under
// the InferenceService's name.
func TestKServeRuntimeServes(t *testing.T) {
	var rt runtimeSpec
	// partial views: TestKServeObjectsMatchCRDs checks every field
	if err := yaml.Unmarshal(readKServe(t, "clusterservingruntime.yaml"), &rt); err != nil {
		t.Fatal(err)
	}
	var is inferenceService
	if err := yaml.Unmarshal(readKServe(t, "inferenceservice.yaml"), &is); err != nil {
		t.Fatal(err)
	}
	m := is.Spec.Predictor.Model
	if m.Runtime != rt.Metadata.Name {
		t.Errorf("the InferenceService names runtime %q, the runtime is %q", m.Runtime, rt.Metadata.Name)
	}
	formats := map[string]bool{}
	for _, f := range rt.Spec.SupportedModelFormats {
		formats[f.Name] = true
	}
	if !formats["mlflow"] || !formats["onnx"] || !formats[m.ModelFormat.Name] {
		t.Errorf("formats %v: want mlflow and onnx, and the InferenceService's %s", formats, m.ModelFormat.Name)
	}
	if !containsStr(rt.Spec.ProtocolVersions, m.ProtocolVersion) {
		t.Errorf("the InferenceService speaks %s, the runtime %v", m.ProtocolVersion, rt.Spec.ProtocolVersions)
	}
	if len(rt.Spec.Containers) != 1 || rt.Spec.Containers[0].Name != "kserve-container" {
		t.Fatal("want one container named kserve-container")
	}
	c := rt.Spec.Containers[0]
	if argValue(c.Args, "-m") != "/mnt/models" || argValue(c.Args, "--port") != "8080" || argValue(c.Args, "--name") != "{{.Name}}" {
		t.Errorf("args %q: want KServe's -m /mnt/models --name {{.Name}} --port 8080", c.Args)
	}
	if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet == nil || c.ReadinessProbe.HTTPGet.Port.String() != "8080" {
		t.Error("want a readiness probe on port 8080")
	}
	checkFlags(t, c.Args[2:], "models", "serve")

	// KServe renders the container, as JSON, as a Go template over the
	// InferenceService's metadata (ReplacePlaceholders in its controller)
	data, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := template.New("container").Parse(string(data))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := tpl.Execute(&b, is.Metadata); err != nil {
		t.Fatal(err)
	}
	var rendered corev1.Container
	if err := json.Unmarshal(b.Bytes(), &rendered); err != nil {
		t.Fatal(err)
	}
	args := rendered.Args
	if argValue(args, "--name") != is.Metadata.Name {
		t.Fatalf("rendered args %q: want --name %s", args, is.Metadata.Name)
	}
	run := startMlgate(t, args, map[string]string{"-m": exampleModel(t), "--drain-delay": "1s"}, nil) // the drain is TestServeChartBakedModel's
	run.waitStatus(t, c.ReadinessProbe.HTTPGet.Path, 200, 60*time.Second)
	name := is.Metadata.Name
	for _, p := range rt.Spec.ProtocolVersions {
		switch p {
		case "v2":
			run.waitStatus(t, "/v2/models/"+name+"/ready", 200, time.Second)
			body := `{"inputs":[{"name":"input","shape":[2,3],"datatype":"FP32","data":[1,2,3,0.5,-1,0]}]}`
			res, err := http.Post(run.base+"/v2/models/"+name+"/infer", "application/json", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			var out struct {
				ModelName string `json:"model_name"`
				Outputs   []struct {
					Shape []int     `json:"shape"`
					Data  []float64 `json:"data"`
				} `json:"outputs"`
			}
			err = json.NewDecoder(res.Body).Decode(&out)
			res.Body.Close()
			if err != nil || res.StatusCode != 200 || out.ModelName != name || len(out.Outputs) != 1 || len(out.Outputs[0].Data) != 2 {
				t.Errorf("v2 infer: %s %+v %v", res.Status, out, err)
			}
		case "v1":
			run.waitStatus(t, "/v1/models/"+name, 200, time.Second)
			body := `{"instances": [[1, 2, 3], [0.5, -1, 0]]}`
			res, err := http.Post(run.base+"/v1/models/"+name+":predict", "application/json", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			var out struct {
				Predictions json.RawMessage `json:"predictions"`
			}
			err = json.NewDecoder(res.Body).Decode(&out)
			res.Body.Close()
			if err != nil || res.StatusCode != 200 || len(out.Predictions) == 0 {
				t.Errorf("v1 predict: %s %s %v", res.Status, out.Predictions, err)
			}
		default:
			t.Errorf("protocol %s is declared but not checked here: mlgate must serve it before the runtime declares it", p)
		}
	}
	run.stop(t, 40*time.Second)
}

func containsStr(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// TestKServeProtocolsServed checks that every protocol the runtime
// declares has its routes in serve/routes.go (and grpc-v2, which mlgate
// does not serve, stays undeclared).
func TestKServeProtocolsServed(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(repoRoot, "serve", "routes.go"))
	if err != nil {
		t.Fatal(err)
	}
	var rt runtimeSpec
	if err := yaml.Unmarshal(readKServe(t, "clusterservingruntime.yaml"), &rt); err != nil {
		t.Fatal(err)
	}
	routes := map[string]string{"v1": `"/v1/models/:name"`, "v2": `"/v2/models/:name/infer"`}
	for _, p := range rt.Spec.ProtocolVersions {
		want, ok := routes[p]
		if !ok {
			t.Errorf("protocol %s is declared but mlgate serves no route for it", p)
			continue
		}
		if !strings.Contains(string(src), want) {
			t.Errorf("protocol %s is declared but serve/routes.go has no %s route", p, want)
		}
	}
	if !containsStr(rt.Spec.ProtocolVersions, "v1") || !containsStr(rt.Spec.ProtocolVersions, "v2") {
		t.Errorf("the runtime declares %v, want v1 and v2", rt.Spec.ProtocolVersions)
	}
}
