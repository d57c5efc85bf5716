package deploy

import (
	"bytes"
	"encoding/json"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/labels"
)

var serveChart = filepath.Join("helm", "mlgate")

// checkPod asserts what every chart's pod needs: probes on a declared
// container port, the grace period longer than the drain, non-root and a
// read-only root with writable cache and /tmp. It returns the container.
func checkPod(t *testing.T, dep *appsv1.Deployment, readyPath, livePath string) corev1.Container {
	t.Helper()
	spec := dep.Spec.Template.Spec
	if len(spec.Containers) != 1 {
		t.Fatalf("want one container, got %d", len(spec.Containers))
	}
	c := spec.Containers[0]
	port := argValue(c.Args, "--port")
	if len(c.Ports) != 1 || strconv.Itoa(int(c.Ports[0].ContainerPort)) != port {
		t.Errorf("container ports %v do not match --port %s", c.Ports, port)
	}
	for name, p := range map[string]*corev1.Probe{"readiness": c.ReadinessProbe, "liveness": c.LivenessProbe} {
		want := map[string]string{"readiness": readyPath, "liveness": livePath}[name]
		if p == nil || p.HTTPGet == nil {
			t.Errorf("no HTTP %s probe", name)
			continue
		}
		if p.HTTPGet.Path != want {
			t.Errorf("%s probe on %s, want %s", name, p.HTTPGet.Path, want)
		}
		if p.HTTPGet.Port.String() != c.Ports[0].Name && p.HTTPGet.Port.String() != port {
			t.Errorf("%s probe on port %s, the container listens on %s (%s)", name, p.HTTPGet.Port.String(), c.Ports[0].Name, port)
		}
	}
	if argValue(c.Args, "--host") != "0.0.0.0" {
		t.Errorf("--host %q: the pod must listen on every address", argValue(c.Args, "--host"))
	}
	// non-root, as the image's USER
	psc := spec.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 {
		t.Error("the pod does not run as non-root")
	} else if uid := imageUID(t); *psc.RunAsUser != uid {
		t.Errorf("runAsUser %d, the image's USER is %d", *psc.RunAsUser, uid)
	}
	sc := c.SecurityContext
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
		t.Error("the container is not read-only, unprivileged, without capabilities")
	}
	mounts := map[string]bool{}
	for _, m := range c.VolumeMounts {
		mounts[m.MountPath] = true
	}
	if !mounts["/tmp"] {
		t.Error("/tmp is not writable")
	}
	for _, e := range c.Env {
		if e.Name == "MLGATE_CACHE" && !mounts[e.Value] {
			t.Errorf("MLGATE_CACHE=%s is not a mounted volume", e.Value)
		}
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Error("the container has no cpu/memory requests or memory limit")
	}
	return c
}

// imageUID is the uid of the Dockerfile's final USER.
func imageUID(t *testing.T) int64 {
	t.Helper()
	stages := readDockerfile(t)
	users := commandsOf[*instructions.UserCommand](stages[len(stages)-1])
	uid, _, _ := strings.Cut(users[len(users)-1].User, ":")
	n, err := strconv.ParseInt(uid, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// seconds parses a Go duration flag value.
func seconds(t *testing.T, v string) int64 {
	t.Helper()
	d, err := time.ParseDuration(v)
	if err != nil {
		t.Fatalf("duration %q: %v", v, err)
	}
	return int64(d / time.Second)
}

func envOf(c corev1.Container) map[string]string {
	m := map[string]string{}
	for _, e := range c.Env {
		m[e.Name] = e.Value
	}
	return m
}

// checkServeChart asserts the serving chart's objects for any values.
func checkServeChart(t *testing.T, r *rendered) (*appsv1.Deployment, corev1.Container) {
	t.Helper()
	dep := one[*appsv1.Deployment](t, r)
	c := checkPod(t, dep, "/v2/health/ready", "/v2/health/live")
	if c.Args[0] != "models" || c.Args[1] != "serve" {
		t.Fatalf("args %q: want models serve", c.Args)
	}
	checkFlags(t, c.Args[2:], "models", "serve")
	drain := seconds(t, argValue(c.Args, "--drain-delay"))
	shutdown := seconds(t, argValue(c.Args, "--shutdown-timeout"))
	if drain <= 0 {
		t.Error("no --drain-delay: load balancers would still send traffic to a stopping pod")
	}
	if g := dep.Spec.Template.Spec.TerminationGracePeriodSeconds; g == nil || *g <= drain+shutdown {
		t.Errorf("terminationGracePeriodSeconds %v is not above --drain-delay %ds + --shutdown-timeout %ds", g, drain, shutdown)
	}
	checkService(t, r, dep)
	if pdbs := count[*policyv1.PodDisruptionBudget](r); pdbs == 1 {
		pdb := one[*policyv1.PodDisruptionBudget](t, r)
		checkSelects(t, "PodDisruptionBudget", pdb.Spec.Selector.MatchLabels, dep)
	}
	return dep, c
}

// checkService asserts that the Service selects the pods and targets a
// named container port, and that a ServiceMonitor, when there is one,
// selects the Service and scrapes one of its ports.
func checkService(t *testing.T, r *rendered, dep *appsv1.Deployment) {
	t.Helper()
	svc := one[*corev1.Service](t, r)
	checkSelects(t, "Service", svc.Spec.Selector, dep)
	c := dep.Spec.Template.Spec.Containers[0]
	for _, p := range svc.Spec.Ports {
		if p.TargetPort.String() != c.Ports[0].Name {
			t.Errorf("Service port %s targets %s, the container port is %s", p.Name, p.TargetPort.String(), c.Ports[0].Name)
		}
	}
	if count[*serviceMonitor](r) == 0 {
		return
	}
	sm := one[*serviceMonitor](t, r)
	if !labels.SelectorFromSet(sm.Spec.Selector.MatchLabels).Matches(labels.Set(svc.Labels)) {
		t.Errorf("ServiceMonitor selector %v does not select the Service's labels %v", sm.Spec.Selector.MatchLabels, svc.Labels)
	}
	if len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Path != "/metrics" || sm.Spec.Endpoints[0].Port != svc.Spec.Ports[0].Name {
		t.Errorf("ServiceMonitor endpoints %+v: want /metrics on port %s", sm.Spec.Endpoints, svc.Spec.Ports[0].Name)
	}
}

func checkSelects(t *testing.T, what string, sel map[string]string, dep *appsv1.Deployment) {
	t.Helper()
	if len(sel) == 0 || !labels.SelectorFromSet(sel).Matches(labels.Set(dep.Spec.Template.Labels)) {
		t.Errorf("%s selector %v does not select the pods %v", what, sel, dep.Spec.Template.Labels)
	}
	if !labels.SelectorFromSet(dep.Spec.Selector.MatchLabels).Matches(labels.Set(dep.Spec.Template.Labels)) {
		t.Error("the Deployment's selector does not select its own pods")
	}
}

// TestServeChartBakedModel renders the defaults (the model baked into the
// image) and serves the example model with the very arguments of the
// Deployment: the probes turn ready, SIGTERM drains.
func TestServeChartBakedModel(t *testing.T) {
	r := renderChart(t, serveChart, nil)
	dep, c := checkServeChart(t, r)
	if m := argValue(c.Args, "-m"); m != "/opt/ml/model" {
		t.Errorf("-m %s, want the baked model /opt/ml/model", m)
	}
	if slices.Contains(c.Args, "--watch-interval") {
		t.Error("--watch-interval with a model that cannot move (mlgate refuses it)")
	}
	if *dep.Spec.Replicas != 2 || count[*autoscalingv2.HorizontalPodAutoscaler](r) != 0 {
		t.Error("defaults: want 2 replicas and no HPA")
	}
	if count[*policyv1.PodDisruptionBudget](r) != 1 || count[*serviceMonitor](r) != 0 {
		t.Error("defaults: want a PodDisruptionBudget and no ServiceMonitor")
	}

	run := startServe(t, c.Args, exampleModel(t))
	ready, live := c.ReadinessProbe.HTTPGet.Path, c.LivenessProbe.HTTPGet.Path
	run.waitStatus(t, ready, 200, 60*time.Second)
	run.waitStatus(t, live, 200, time.Second)
	if err := run.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// during --drain-delay: readiness fails, liveness holds, still serving
	run.waitStatus(t, ready, 503, 2*time.Second)
	run.waitStatus(t, live, 200, time.Second)
	start := time.Now()
	run.wait(t, time.Duration(*dep.Spec.Template.Spec.TerminationGracePeriodSeconds)*time.Second)
	if d := seconds(t, argValue(c.Args, "--drain-delay")); time.Since(start) < time.Duration(d-1)*time.Second {
		t.Errorf("exited %s after the signal, before the %ds drain delay", time.Since(start), d)
	}
}

// TestServeChartRegistryModel follows a registry alias with credentials
// from a Secret.
func TestServeChartRegistryModel(t *testing.T) {
	r := renderChart(t, serveChart, map[string]any{
		"model":    map[string]any{"uri": "models:/iris@champion", "name": "iris", "watchInterval": "15s"},
		"tracking": map[string]any{"uri": "http://mlgate-server.ml:5000", "existingSecret": "mlflow-creds", "s3EndpointURL": "http://minio.ml:9000"},
	})
	_, c := checkServeChart(t, r)
	if argValue(c.Args, "-m") != "models:/iris@champion" || argValue(c.Args, "--watch-interval") != "15s" || argValue(c.Args, "--name") != "iris" {
		t.Errorf("args %q: want -m models:/iris@champion --watch-interval 15s --name iris", c.Args)
	}
	env := envOf(c)
	if env["MLFLOW_TRACKING_URI"] != "http://mlgate-server.ml:5000" || env["MLFLOW_S3_ENDPOINT_URL"] != "http://minio.ml:9000" {
		t.Errorf("env %v: want the tracking URI and the S3 endpoint", env)
	}
	if len(c.EnvFrom) != 1 || c.EnvFrom[0].SecretRef == nil || c.EnvFrom[0].SecretRef.Name != "mlflow-creds" {
		t.Errorf("envFrom %+v: want the Secret mlflow-creds", c.EnvFrom)
	}

	// a pinned version does not move: no --watch-interval
	r = renderChart(t, serveChart, map[string]any{"model": map[string]any{"uri": "models:/iris/3"}})
	_, c = checkServeChart(t, r)
	if slices.Contains(c.Args, "--watch-interval") {
		t.Errorf("args %q: --watch-interval with a pinned version", c.Args)
	}
}

// TestServeChartAutoscaling turns the HPA on, with the queue metric.
func TestServeChartAutoscaling(t *testing.T) {
	r := renderChart(t, serveChart, map[string]any{
		"autoscaling": map[string]any{"enabled": true, "minReplicas": 3, "maxReplicas": 7, "queue": map[string]any{"enabled": true}},
	})
	dep, _ := checkServeChart(t, r)
	if dep.Spec.Replicas != nil {
		t.Error("replicas is set while the HPA owns the count")
	}
	hpa := one[*autoscalingv2.HorizontalPodAutoscaler](t, r)
	if hpa.Spec.ScaleTargetRef.Kind != "Deployment" || hpa.Spec.ScaleTargetRef.Name != dep.Name {
		t.Errorf("the HPA scales %s/%s, not the Deployment %s", hpa.Spec.ScaleTargetRef.Kind, hpa.Spec.ScaleTargetRef.Name, dep.Name)
	}
	if *hpa.Spec.MinReplicas != 3 || hpa.Spec.MaxReplicas != 7 || len(hpa.Spec.Metrics) != 2 {
		t.Fatalf("HPA %+v", hpa.Spec)
	}
	cpu, queue := hpa.Spec.Metrics[0], hpa.Spec.Metrics[1]
	if cpu.Resource == nil || cpu.Resource.Name != corev1.ResourceCPU || cpu.Resource.Target.AverageUtilization == nil {
		t.Errorf("first metric %+v: want CPU utilization", cpu)
	}
	if queue.Pods == nil || queue.Pods.Target.AverageValue == nil {
		t.Fatalf("second metric %+v: want a Pods metric with an average value", queue)
	}
	// the metric is one that mlgate exports
	src, err := os.ReadFile(filepath.Join(repoRoot, "serve", "metrics.go"))
	if err != nil {
		t.Fatal(err)
	}
	name := queue.Pods.Metric.Name
	if !regexp.MustCompile(`Name: +"` + regexp.QuoteMeta(name) + `"`).Match(src) {
		t.Errorf("the HPA scales on %s, which serve/metrics.go does not define", name)
	}

	// CPU only
	r = renderChart(t, serveChart, map[string]any{"autoscaling": map[string]any{"enabled": true}})
	if hpa := one[*autoscalingv2.HorizontalPodAutoscaler](t, r); len(hpa.Spec.Metrics) != 1 {
		t.Errorf("queue metric off: want only CPU, got %d metrics", len(hpa.Spec.Metrics))
	}
}

func TestServeChartServiceMonitor(t *testing.T) {
	r := renderChart(t, serveChart, map[string]any{
		"serviceMonitor":      map[string]any{"enabled": true, "labels": map[string]any{"release": "prometheus"}},
		"podDisruptionBudget": map[string]any{"enabled": false},
	})
	checkServeChart(t, r)
	sm := one[*serviceMonitor](t, r)
	if sm.Labels["release"] != "prometheus" {
		t.Errorf("ServiceMonitor labels %v: want release=prometheus", sm.Labels)
	}
	if count[*policyv1.PodDisruptionBudget](r) != 0 {
		t.Error("podDisruptionBudget.enabled=false still renders one")
	}
}

// TestServeChartRefusesShortGrace: a grace period that does not cover the
// drain is refused at render time.
func TestServeChartRefusesShortGrace(t *testing.T) {
	_, err := renderManifests(serveChart, map[string]any{"terminationGracePeriodSeconds": 20})
	if err == nil || !strings.Contains(err.Error(), "must exceed") {
		t.Fatalf("grace 20s < 5s drain + 30s shutdown: err = %v", err)
	}
	r := renderChart(t, serveChart, map[string]any{"terminationGracePeriodSeconds": 36})
	dep, _ := checkServeChart(t, r)
	if *dep.Spec.Template.Spec.TerminationGracePeriodSeconds != 36 {
		t.Error("terminationGracePeriodSeconds is not the value given")
	}
}

// TestServeChartRegistryServes runs the registry mode for real: a
// `mlgate server` on 127.0.0.1 holds the example model as version 1 of
// "iris" with the alias "champion", and the Deployment's arguments and
// environment (its tracking URI pointed at that server) serve it under
// the name iris.
func TestServeChartRegistryServes(t *testing.T) {
	dir := t.TempDir()
	reg := startMlgate(t, []string{"server", "--host", "", "--port", "",
		"--backend-store-uri", "sqlite:///" + filepath.Join(dir, "mlflow.db"),
		"--artifacts-destination", filepath.Join(dir, "artifacts")}, nil, nil)
	reg.waitStatus(t, "/health", 200, 30*time.Second)
	// as the mlflow client logs a model: a run, its files through the
	// artifacts proxy, a version whose source is in the run's artifacts
	var run struct {
		Run struct {
			Info struct {
				RunID       string `json:"run_id"`
				ArtifactURI string `json:"artifact_uri"`
			} `json:"info"`
		} `json:"run"`
	}
	if err := json.Unmarshal(postJSON(t, reg.base+"/api/2.0/mlflow/runs/create", `{"experiment_id":"0"}`), &run); err != nil {
		t.Fatal(err)
	}
	art, ok := strings.CutPrefix(run.Run.Info.ArtifactURI, "mlflow-artifacts:/")
	if !ok {
		t.Fatalf("artifact URI %s: want mlflow-artifacts:/", run.Run.Info.ArtifactURI)
	}
	model := exampleModel(t)
	files, err := os.ReadDir(model)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(model, f.Name()))
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodPut, reg.base+"/api/2.0/mlflow-artifacts/artifacts/"+strings.TrimPrefix(art, "/")+"/model/"+f.Name(), bytes.NewReader(b))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("PUT %s: %s", f.Name(), res.Status)
		}
	}
	postJSON(t, reg.base+"/api/2.0/mlflow/registered-models/create", `{"name":"iris"}`)
	postJSON(t, reg.base+"/api/2.0/mlflow/model-versions/create",
		`{"name":"iris","source":"`+run.Run.Info.ArtifactURI+`/model","run_id":"`+run.Run.Info.RunID+`"}`)
	postJSON(t, reg.base+"/api/2.0/mlflow/registered-models/alias", `{"name":"iris","alias":"champion","version":"1"}`)

	r := renderChart(t, serveChart, map[string]any{
		"model":    map[string]any{"uri": "models:/iris@champion", "name": "iris", "watchInterval": "1s"},
		"tracking": map[string]any{"uri": "http://mlgate-server.ml:5000"},
	})
	_, c := checkServeChart(t, r)
	var env []string
	for k, v := range envOf(c) {
		if k == "MLFLOW_TRACKING_URI" {
			v = reg.base // the in-cluster name, here on loopback
		}
		if k == "MLGATE_CACHE" {
			v = filepath.Join(dir, "cache")
		}
		env = append(env, k+"="+v)
	}
	srv := startMlgate(t, c.Args, map[string]string{"--drain-delay": "1s"}, env) // the drain is TestServeChartBakedModel's
	srv.waitStatus(t, c.ReadinessProbe.HTTPGet.Path, 200, 60*time.Second)
	srv.waitStatus(t, "/v2/models/iris/ready", 200, time.Second)
	srv.stop(t, 40*time.Second)
}

func postJSON(t *testing.T, url, body string) []byte {
	t.Helper()
	res, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("POST %s: %s %s", url, res.Status, b)
	}
	return b
}
