package deploy

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/lint/support"
	"helm.sh/helm/v3/pkg/releaseutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"
)

// strictCodecs decode Kubernetes objects into the upstream k8s.io/api
// types and fail on unknown and duplicate fields.
var strictCodecs = serializer.NewCodecFactory(scheme.Scheme, serializer.EnableStrict)

// decodeStrict decodes one manifest into its typed object: the k8s.io/api
// type of its apiVersion and kind, or one of the local types of CRDs
// (ServiceMonitor). Unknown fields are an error.
func decodeStrict(doc []byte) (runtime.Object, error) {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		return nil, err
	}
	if tm.APIVersion == "monitoring.coreos.com/v1" && tm.Kind == "ServiceMonitor" {
		var sm serviceMonitor
		if err := yaml.UnmarshalStrict(doc, &sm); err != nil {
			return nil, fmt.Errorf("ServiceMonitor: %w", err)
		}
		return &sm, nil
	}
	obj, _, err := strictCodecs.UniversalDeserializer().Decode(doc, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", tm.APIVersion, tm.Kind, err)
	}
	return obj, nil
}

// serviceMonitor is the part of prometheus-operator's ServiceMonitor
// (monitoring.coreos.com/v1) that the charts use; its field names are the
// operator's.
type serviceMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Selector          metav1.LabelSelector `json:"selector"`
		NamespaceSelector *struct {
			Any        bool     `json:"any,omitempty"`
			MatchNames []string `json:"matchNames,omitempty"`
		} `json:"namespaceSelector,omitempty"`
		JobLabel  string `json:"jobLabel,omitempty"`
		Endpoints []struct {
			Port          string `json:"port"`
			Path          string `json:"path,omitempty"`
			Scheme        string `json:"scheme,omitempty"`
			Interval      string `json:"interval,omitempty"`
			ScrapeTimeout string `json:"scrapeTimeout,omitempty"`
		} `json:"endpoints"`
	} `json:"spec"`
}

func (s *serviceMonitor) DeepCopyObject() runtime.Object { c := *s; return &c }

// rendered is a chart rendered for one set of values, decoded.
type rendered struct {
	objects []runtime.Object
	names   []string // "Kind/name" in order
}

// renderChart renders the chart in dir with the Helm SDK (release
// "demo" in namespace "ml"), lints it with the same values, and decodes
// every object strictly.
func renderChart(t *testing.T, dir string, vals map[string]any) *rendered {
	t.Helper()
	manifests, err := renderManifests(dir, vals)
	if err != nil {
		t.Fatal(err)
	}
	lintChart(t, dir, vals)
	r := &rendered{}
	for _, name := range slices.Sorted(maps.Keys(manifests)) {
		obj, err := decodeStrict([]byte(manifests[name]))
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, manifests[name])
		}
		acc, err := metaOf(obj)
		if err != nil {
			t.Fatal(err)
		}
		r.objects = append(r.objects, obj)
		r.names = append(r.names, fmt.Sprintf("%s/%s", kindOf(obj), acc.GetName()))
	}
	if len(r.objects) == 0 {
		t.Fatal("the chart rendered no objects")
	}
	return r
}

// renderManifests returns the chart's manifests, one per object, keyed by
// template file and index.
func renderManifests(dir string, vals map[string]any) (map[string]string, error) {
	ch, err := loader.Load(dir)
	if err != nil {
		return nil, err
	}
	opts := chartutil.ReleaseOptions{Name: "demo", Namespace: "ml", Revision: 1, IsInstall: true}
	rv, err := chartutil.ToRenderValues(ch, vals, opts, chartutil.DefaultCapabilities)
	if err != nil {
		return nil, err
	}
	files, err := engine.Render(ch, rv)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for name, content := range files {
		if filepath.Ext(name) != ".yaml" {
			continue
		}
		for key, doc := range releaseutil.SplitManifests(content) {
			if strings.TrimSpace(doc) != "" {
				out[name+"#"+key] = doc
			}
		}
	}
	return out, nil
}

// lintChart runs Helm's linter (helm lint) with vals; warnings and errors
// fail the test.
func lintChart(t *testing.T, dir string, vals map[string]any) {
	t.Helper()
	l := action.NewLint()
	l.Strict = true
	res := l.Run([]string{dir}, vals)
	for _, m := range res.Messages {
		if m.Severity >= support.WarningSev {
			t.Errorf("helm lint %s: %s", dir, m)
		}
	}
	for _, err := range res.Errors {
		t.Errorf("helm lint %s: %v", dir, err)
	}
}

func kindOf(obj runtime.Object) string {
	if sm, ok := obj.(*serviceMonitor); ok {
		return sm.Kind
	}
	gvks, _, err := scheme.Scheme.ObjectKinds(obj)
	if err != nil || len(gvks) == 0 {
		return fmt.Sprintf("%T", obj)
	}
	return gvks[0].Kind
}

func metaOf(obj runtime.Object) (metav1.Object, error) {
	if sm, ok := obj.(*serviceMonitor); ok {
		return &sm.ObjectMeta, nil
	}
	m, ok := obj.(metav1.Object)
	if !ok {
		return nil, fmt.Errorf("%T has no metadata", obj)
	}
	return m, nil
}

// one returns the only object of type T.
func one[T runtime.Object](t *testing.T, r *rendered) T {
	t.Helper()
	var found []T
	for _, o := range r.objects {
		if v, ok := o.(T); ok {
			found = append(found, v)
		}
	}
	if len(found) != 1 {
		var zero T
		t.Fatalf("want one %T, got %d among %v", zero, len(found), r.names)
	}
	return found[0]
}

// count returns how many objects of type T there are.
func count[T runtime.Object](r *rendered) int {
	n := 0
	for _, o := range r.objects {
		if _, ok := o.(T); ok {
			n++
		}
	}
	return n
}

// TestStrictDecodeRejectsTypos makes sure the decoding above can fail: an
// object with a misspelt field, a field of the wrong type, or a duplicate
// field is refused, while the same object spelt right decodes.
func TestStrictDecodeRejectsTypos(t *testing.T) {
	manifests, err := renderManifests(filepath.Join("helm", "mlgate"), nil)
	if err != nil {
		t.Fatal(err)
	}
	var dep string
	for name, doc := range manifests {
		if strings.HasPrefix(name, "mlgate/templates/deployment.yaml") {
			dep = doc
		}
	}
	if dep == "" {
		t.Fatal("no deployment rendered")
	}
	if _, err := decodeStrict([]byte(dep)); err != nil {
		t.Fatalf("the rendered Deployment does not decode: %v", err)
	}
	bad := map[string]string{
		"misspelt key":   strings.Replace(dep, "readinessProbe:", "readynessProbe:", 1),
		"wrong type":     strings.Replace(dep, "containerPort: 8080", "containerPort: http8080", 1),
		"duplicate key":  strings.Replace(dep, "  replicas: 2\n", "  replicas: 2\n  replicas: 3\n", 1),
		"unknown at top": dep + "extra: true\n",
	}
	for name, doc := range bad {
		if doc == dep {
			t.Fatalf("%s: the replacement did not apply", name)
		}
		if _, err := decodeStrict([]byte(doc)); err == nil {
			t.Errorf("%s: decoded without an error", name)
		}
	}
	sm := "apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata: {name: x}\nspec:\n  selector: {}\n  endpoints: [{port: http, intervall: 30s}]\n"
	if _, err := decodeStrict([]byte(sm)); err == nil {
		t.Error("a ServiceMonitor with a misspelt endpoint field decoded")
	}
}

// TestChartValuesSchema: each chart's values.schema.json refuses a
// misspelt value and a value of the wrong type at render time, so that a
// typo in -f values.yaml or --set is an error rather than a silent default.
func TestChartValuesSchema(t *testing.T) {
	cases := []struct {
		chart string
		vals  map[string]any
		want  string
	}{
		{serveChart, map[string]any{"serve": map[string]any{"drainDelay": "5s"}}, "drainDelay"},
		{serveChart, map[string]any{"serve": map[string]any{"port": "http"}}, "/serve/port"},
		{serveChart, map[string]any{"model": map[string]any{"watchInterval": "30 seconds"}}, "/model/watchInterval"},
		{serveChart, map[string]any{"replicas": 3}, "replicas"},
		{serverChart, withValues(serverValues, map[string]any{"databse": map[string]any{"existingSecret": "db"}}), "databse"},
		{serverChart, withValues(serverValues, map[string]any{"server": map[string]any{"logLevel": "verbose"}}), "/server/logLevel"},
	}
	for _, c := range cases {
		_, err := renderManifests(c.chart, c.vals)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %v: err = %v, want one naming %s", c.chart, c.vals, err, c.want)
		}
	}
}
