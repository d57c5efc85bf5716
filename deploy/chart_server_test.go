package deploy

import (
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
)

var serverChart = filepath.Join("helm", "mlgate-server")

// serverShutdownSeconds is how long mlgate server drains requests after
// SIGTERM: the bound RunServer puts on Stop in internal/app/server.go.
func serverShutdownSeconds(t *testing.T) int64 {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(repoRoot, "internal", "app", "server.go"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`context\.WithTimeout\(context\.Background\(\), (\d+) ?\* ?time\.Second\)`).FindAllSubmatch(src, -1)
	if len(m) != 1 {
		t.Fatalf("internal/app/server.go: want one shutdown bound context.WithTimeout(context.Background(), N*time.Second), found %d", len(m))
	}
	n, err := strconv.ParseInt(string(m[0][1]), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

var serverValues = map[string]any{
	"database": map[string]any{"existingSecret": "mlflow-db"},
	"s3":       map[string]any{"existingSecret": "mlflow-s3", "endpointURL": "http://minio.ml:9000", "region": "eu-west-1"},
}

func withValues(base map[string]any, extra map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range extra {
		out[k] = v
	}
	return out
}

// checkServerChart asserts the tracking server chart's objects for any
// values and returns its container.
func checkServerChart(t *testing.T, r *rendered) (*appsv1.Deployment, corev1.Container) {
	t.Helper()
	dep := one[*appsv1.Deployment](t, r)
	c := checkPod(t, dep, "/health", "/health")
	if c.Args[0] != "server" {
		t.Fatalf("args %q: want server", c.Args)
	}
	checkFlags(t, c.Args[1:], "server")
	checkService(t, r, dep)

	// the DSN comes from the Secret through $(VAR) expansion
	uri := argValue(c.Args, "--backend-store-uri")
	name, ok := strings.CutPrefix(uri, "$(")
	name, ok2 := strings.CutSuffix(name, ")")
	if !ok || !ok2 {
		t.Fatalf("--backend-store-uri %q: want $(VAR) from a Secret", uri)
	}
	var ref *corev1.SecretKeySelector
	for _, e := range c.Env {
		if e.Name == name && e.ValueFrom != nil {
			ref = e.ValueFrom.SecretKeyRef
		}
	}
	if ref == nil || ref.Name != "mlflow-db" || ref.Key != "dsn" {
		t.Errorf("%s is not the key dsn of the Secret mlflow-db: %+v", name, ref)
	}
	// the drain: preStop sleep, then the server's own drain, within the grace period
	pre := c.Lifecycle
	// Kubernetes' sleep handler, not an exec: the images have no sleep binary.
	if pre == nil || pre.PreStop == nil || pre.PreStop.Sleep == nil || pre.PreStop.Exec != nil {
		t.Fatalf("no preStop sleep handler: %+v", pre)
	}
	sleep := pre.PreStop.Sleep.Seconds
	shutdown := serverShutdownSeconds(t)
	if g := dep.Spec.Template.Spec.TerminationGracePeriodSeconds; g == nil || *g <= sleep+shutdown {
		t.Errorf("terminationGracePeriodSeconds %v is not above the preStop %ds + %ds", g, sleep, shutdown)
	}
	return dep, c
}

// TestServerChart renders the tracking server over PostgreSQL and S3 and
// runs `mlgate server` with the Deployment's arguments (a SQLite file and
// a folder in place of the database and the bucket): /health answers,
// SIGTERM ends it cleanly.
func TestServerChart(t *testing.T) {
	r := renderChart(t, serverChart, serverValues)
	dep, c := checkServerChart(t, r)
	if *dep.Spec.Replicas < 2 {
		t.Errorf("replicas %d: the chart is for several replicas", *dep.Spec.Replicas)
	}
	if d := argValue(c.Args, "--artifacts-destination"); !strings.HasPrefix(d, "s3://") {
		t.Errorf("--artifacts-destination %q: want s3://", d)
	}
	env := envOf(c)
	if env["MLFLOW_S3_ENDPOINT_URL"] != "http://minio.ml:9000" || env["AWS_REGION"] != "eu-west-1" {
		t.Errorf("env %v: want MLFLOW_S3_ENDPOINT_URL and AWS_REGION", env)
	}
	if len(c.EnvFrom) != 1 || c.EnvFrom[0].SecretRef == nil || c.EnvFrom[0].SecretRef.Name != "mlflow-s3" {
		t.Errorf("envFrom %+v: want the Secret mlflow-s3", c.EnvFrom)
	}

	dir := t.TempDir()
	run := startMlgate(t, c.Args, map[string]string{
		"--backend-store-uri":     "sqlite:///" + filepath.Join(dir, "mlflow.db"),
		"--artifacts-destination": filepath.Join(dir, "artifacts"),
	}, nil)
	run.waitStatus(t, c.ReadinessProbe.HTTPGet.Path, 200, 30*time.Second)
	run.waitStatus(t, "/api/2.0/mlflow/experiments/get-by-name?experiment_name=Default", 200, time.Second)
	// the security middleware lets in-cluster clients in by the Service's
	// name and pod IPs, and refuses other Host headers (DNS rebinding)
	for host, want := range map[string]int{dep.Name + ":5000": 200, "10.1.2.3:5000": 200, "evil.example": 403} {
		req, err := http.NewRequest(http.MethodGet, run.base+"/api/2.0/mlflow/experiments/get-by-name?experiment_name=Default", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = host
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		if res.StatusCode != want {
			t.Errorf("Host %s: status %d, want %d (args %q)", host, res.StatusCode, want, c.Args)
		}
	}
	run.stop(t, time.Duration(serverShutdownSeconds(t))*time.Second)
}

func TestServerChartOptions(t *testing.T) {
	r := renderChart(t, serverChart, withValues(serverValues, map[string]any{
		"auth":           map[string]any{"enabled": true, "existingSecret": "mlflow-users"},
		"autoscaling":    map[string]any{"enabled": true},
		"serviceMonitor": map[string]any{"enabled": true},
	}))
	dep, c := checkServerChart(t, r)
	if argValue(c.Args, "--auth") != "basic" {
		t.Errorf("args %q: want --auth basic", c.Args)
	}
	users := argValue(c.Args, "--auth-users")
	mounted := false
	for _, m := range c.VolumeMounts {
		for _, v := range dep.Spec.Template.Spec.Volumes {
			if v.Name == m.Name && v.Secret != nil && v.Secret.SecretName == "mlflow-users" && strings.HasPrefix(users, m.MountPath+"/") {
				mounted = true
			}
		}
	}
	if !mounted {
		t.Errorf("--auth-users %s is not in a mount of the Secret mlflow-users", users)
	}
	if dep.Spec.Replicas != nil || count[*autoscalingv2.HorizontalPodAutoscaler](r) != 1 || count[*serviceMonitor](r) != 1 {
		t.Error("want an HPA owning the replica count and a ServiceMonitor")
	}
	// without the artifacts proxy
	r = renderChart(t, serverChart, withValues(serverValues, map[string]any{"artifacts": map[string]any{"serve": false, "destination": ""}}))
	_, c = checkServerChart(t, r)
	if !slices.Contains(c.Args, "--no-serve-artifacts") || slices.Contains(c.Args, "--artifacts-destination") {
		t.Errorf("args %q: want --no-serve-artifacts only", c.Args)
	}
}

// TestServerChartRefuses: values that cannot work for several replicas
// fail at render time with a message.
func TestServerChartRefuses(t *testing.T) {
	cases := []struct {
		vals map[string]any
		want string
	}{
		{nil, "database.existingSecret is required"},
		{withValues(serverValues, map[string]any{"artifacts": map[string]any{"destination": "/data/artifacts", "serve": true}}), "must be s3://"},
		{withValues(serverValues, map[string]any{"auth": map[string]any{"enabled": true}}), "auth.existingSecret is required"},
		{withValues(serverValues, map[string]any{"terminationGracePeriodSeconds": 12}), "must exceed"},
	}
	for _, c := range cases {
		_, err := renderManifests(serverChart, c.vals)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("values %v: err = %v, want %q", c.vals, err, c.want)
		}
	}
}
