package app

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

func startServer(t testing.TB, mod func(*ServerOptions)) (*Server, string, string) {
	t.Helper()
	dir := t.TempDir()
	o := ServerOptions{
		BackendStoreURI:      "sqlite:///" + filepath.Join(dir, "s.db"),
		ArtifactsDestination: filepath.Join(dir, "artifacts"),
		ServeArtifacts:       true,
		Host:                 "127.0.0.1",
		Port:                 0,
	}
	if mod != nil {
		mod(&o)
	}
	s, err := NewServer(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Stop(ctx); err != nil {
			t.Error(err)
		}
	})
	return s, s.URL(), dir
}

func call(t *testing.T, method, url, body string, hdr ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" && method != http.MethodPut {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestServerLifecycleAndRoutes(t *testing.T) {
	_, url, dir := startServer(t, nil)
	if code, body := call(t, "GET", url+"/health", ""); code != 200 || body != "OK" {
		t.Fatalf("health %d %q", code, body)
	}
	if code, body := call(t, "GET", url+"/version", ""); code != 200 || body != "3.17.2" {
		t.Fatalf("version %d %q", code, body)
	}
	code, body := call(t, "POST", url+"/api/2.0/mlflow/runs/create", `{"experiment_id":"0"}`)
	if code != 200 {
		t.Fatalf("create run %d %s", code, body)
	}
	var run struct {
		Run struct {
			Info struct {
				RunID string `json:"run_id"`
			}
		} `json:"run"`
	}
	_ = json.Unmarshal([]byte(body), &run)
	id := run.Run.Info.RunID
	art := url + "/api/2.0/mlflow-artifacts/artifacts/0/" + id + "/artifacts"
	if code, body := call(t, "PUT", art+"/d/a.txt", "hello"); code != 200 || body != "{}" {
		t.Fatalf("put %d %s", code, body)
	}
	if code, body := call(t, "GET", art+"/d/a.txt", ""); code != 200 || body != "hello" {
		t.Fatalf("get %d %s", code, body)
	}
	if code, body := call(t, "GET", url+"/api/2.0/mlflow-artifacts/artifacts?path=0/"+id+"/artifacts/d", ""); code != 200 || !strings.Contains(body, `"path":"a.txt"`) {
		t.Fatalf("proxy list %d %s", code, body)
	}
	if code, body := call(t, "GET", url+"/api/2.0/mlflow/artifacts/list?run_id="+id+"&path=d", ""); code != 200 || !strings.Contains(body, `"path":"d/a.txt"`) || !strings.Contains(body, `"root_uri":"mlflow-artifacts:/0/`+id+`/artifacts"`) {
		t.Fatalf("run list %d %s", code, body)
	}
	if code, body := call(t, "GET", url+"/get-artifact?run_id="+id+"&path=d/a.txt", ""); code != 200 || body != "hello" {
		t.Fatalf("get-artifact %d %s", code, body)
	}
	// a model version's artifacts, through the registry's download URI
	if code, body := call(t, "PUT", art+"/model/MLmodel", "flavors: {}"); code != 200 {
		t.Fatalf("put model %d %s", code, body)
	}
	if code, body := call(t, "POST", url+"/api/2.0/mlflow/registered-models/create", `{"name":"m"}`); code != 200 {
		t.Fatalf("create model %d %s", code, body)
	}
	for i, src := range []string{"runs:/" + id + "/model", "mlflow-artifacts:/0/" + id + "/artifacts/model"} {
		if code, body := call(t, "POST", url+"/api/2.0/mlflow/model-versions/create", `{"name":"m","source":"`+src+`","run_id":"`+id+`"}`); code != 200 {
			t.Fatalf("create version %d %s", code, body)
		}
		v := string(rune('1' + i))
		if code, body := call(t, "GET", url+"/model-versions/get-artifact?name=m&version="+v+"&path=MLmodel", ""); code != 200 || body != "flavors: {}" {
			t.Fatalf("model-versions/get-artifact v%s (%s): %d %s", v, src, code, body)
		}
	}
	code, body = call(t, "POST", url+"/api/2.0/mlflow/logged-models", `{"experiment_id":"0","name":"lm"}`)
	var lm struct {
		Model struct {
			Info struct {
				ModelID     string `json:"model_id"`
				ArtifactURI string `json:"artifact_uri"`
			} `json:"info"`
		} `json:"model"`
	}
	if err := json.Unmarshal([]byte(body), &lm); code != 200 || err != nil {
		t.Fatalf("create logged model %d %s", code, body)
	}
	if code, body := call(t, "PUT", url+"/api/2.0/mlflow-artifacts/artifacts/"+strings.TrimPrefix(lm.Model.Info.ArtifactURI, "mlflow-artifacts:/")+"/sub/MLmodel", "x"); code != 200 {
		t.Fatalf("put logged model artifact %d %s", code, body)
	}
	if code, body := call(t, "GET", url+"/api/2.0/mlflow/logged-models/"+lm.Model.Info.ModelID+"/artifacts/directories?artifact_directory_path=sub", ""); code != 200 || !strings.Contains(body, `"path":"sub/MLmodel"`) {
		t.Fatalf("logged model directories %d %s", code, body)
	}
	if code, body := call(t, "POST", url+"/api/2.0/mlflow-artifacts/mpu/create/x", `{"path":"x","num_parts":2}`); code != 501 || !strings.Contains(body, "Multipart upload is not supported") {
		t.Fatalf("mpu %d %s", code, body)
	}
	if code, body := call(t, "DELETE", art+"/d", ""); code != 200 {
		t.Fatalf("delete %d %s", code, body)
	}
	if code, _ := call(t, "GET", art+"/d/a.txt", ""); code != 404 {
		t.Fatalf("get after delete %d", code)
	}
	if code, body := call(t, "GET", url+"/api/2.0/mlflow/no-such-thing", ""); code != 404 || !strings.Contains(body, "ENDPOINT_NOT_FOUND") {
		t.Fatalf("unknown route %d %s", code, body)
	}
	if code, body := call(t, "GET", url+"/metrics", ""); code != 200 || !strings.Contains(body, "mlgate_server_requests_total") || !strings.Contains(body, "mlgate_server_request_duration_seconds") || !strings.Contains(body, "go_goroutines ") || !strings.Contains(body, "process_open_fds ") {
		t.Fatalf("metrics %d", code)
	}

	// traversal battery on every artifact route
	outside := filepath.Join(dir, "outside")
	if err := os.MkdirAll(outside, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(outside, "secret.txt"), []byte("SECRET"), 0o644); err != nil {
		t.Fatal(err)
	}
	runRoot := filepath.Join(dir, "artifacts", "0", id, "artifacts")
	if err := os.MkdirAll(runRoot, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(runRoot, "link")); err != nil {
		t.Fatal(err)
	}
	bad := []string{
		"../../../outside/secret.txt", "..%2f..%2f..%2foutside%2fsecret.txt", "%2e%2e/%2e%2e/%2e%2e/outside/secret.txt",
		"%252e%252e%252f%252e%252e%252f%252e%252e%252foutside%252fsecret.txt", "d/../../../../outside/secret.txt",
		"..\\..\\..\\outside\\secret.txt", "%5c..%5c..%5coutside", "link/secret.txt",
	}
	for _, p := range bad {
		for _, tc := range []struct{ method, url, body string }{
			{"GET", art + "/" + p, ""},
			{"PUT", art + "/" + p, "pwned"},
			{"DELETE", art + "/" + p, ""},
			{"GET", url + "/api/2.0/mlflow-artifacts/artifacts?path=0/" + id + "/artifacts/" + p, ""},
			{"GET", url + "/api/2.0/mlflow/artifacts/list?run_id=" + id + "&path=" + p, ""},
			{"GET", url + "/get-artifact?run_id=" + id + "&path=" + p, ""},
			{"GET", url + "/model-versions/get-artifact?name=m&version=1&path=" + p, ""},
		} {
			code, body := call(t, tc.method, tc.url, tc.body)
			if code == 200 && (strings.Contains(body, "SECRET") || tc.method != "GET") || code >= 500 {
				t.Errorf("%s %s: %d %s", tc.method, tc.url, code, body)
			}
			if strings.Contains(body, "SECRET") {
				t.Errorf("%s %s leaked the secret", tc.method, tc.url)
			}
		}
	}
	if b, _ := os.ReadFile(filepath.Join(outside, "secret.txt")); string(b) != "SECRET" {
		t.Fatalf("secret overwritten: %q", b)
	}
	for _, abs := range []string{"/etc/passwd", "//etc/passwd"} {
		if code, body := call(t, "GET", url+"/get-artifact?run_id="+id+"&path="+abs, ""); code != 400 {
			t.Errorf("absolute %s: %d %s", abs, code, body)
		}
	}
}

func TestServerNoServeArtifacts(t *testing.T) {
	_, url, _ := startServer(t, func(o *ServerOptions) { o.ServeArtifacts = false })
	if code, body := call(t, "PUT", url+"/api/2.0/mlflow-artifacts/artifacts/x.txt", "x"); code != 503 {
		t.Fatalf("proxy with serving off: %d %s", code, body)
	}
}

func TestServerBasicAuth(t *testing.T) {
	h, _ := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	r, _ := bcrypt.GenerateFromPassword([]byte("ro"), bcrypt.MinCost)
	users := filepath.Join(t.TempDir(), "users")
	if err := os.WriteFile(users, []byte("alice:"+string(h)+"\nbob:"+string(r)+":read\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, url, _ := startServer(t, func(o *ServerOptions) { o.Auth, o.AuthUsersFile = "basic", users })
	basic := func(u, p string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(u+":"+p)) }
	if code, _ := call(t, "GET", url+"/health", ""); code != 200 {
		t.Fatalf("health needs no auth: %d", code)
	}
	if code, body := call(t, "GET", url+"/api/2.0/mlflow/experiments/get?experiment_id=0", ""); code != 401 || !strings.Contains(body, "UNAUTHENTICATED") {
		t.Fatalf("no credentials: %d %s", code, body)
	}
	if code, _ := call(t, "GET", url+"/api/2.0/mlflow/experiments/get?experiment_id=0", "", "Authorization", basic("bob", "ro")); code != 200 {
		t.Fatalf("reader read: %d", code)
	}
	if code, body := call(t, "POST", url+"/api/2.0/mlflow/experiments/create", `{"name":"x"}`, "Authorization", basic("bob", "ro")); code != 403 || !strings.Contains(body, "PERMISSION_DENIED") {
		t.Fatalf("reader write: %d %s", code, body)
	}
	if code, _ := call(t, "POST", url+"/api/2.0/mlflow/experiments/create", `{"name":"x"}`, "Authorization", basic("alice", "pw")); code != 200 {
		t.Fatalf("writer write: %d", code)
	}
}

func TestServerOptionsValidate(t *testing.T) {
	for _, o := range []ServerOptions{{Auth: "magic"}, {Auth: "basic"}, {Port: 70000}} {
		if err := o.validate(); err == nil {
			t.Errorf("%+v: want an error", o)
		}
	}
}

// TestServerStopClosesConnectionsWithoutRequest: a connection opened
// ahead of need does not hold the tracking server's shutdown for 5 s.
func TestServerStopClosesConnectionsWithoutRequest(t *testing.T) {
	s, url, _ := startServer(t, nil)
	silent, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	if status, _ := call(t, "GET", url+"/health", ""); status != 200 {
		t.Fatalf("health %d", status)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("stop took %v with a connection that sent nothing", took)
	}
}

// TestServerStopDeliversAcceptedWebhookEvents stops a server right after a
// request that fires a webhook to a slow receiver: Stop returns only once
// the event is delivered, so a replica's rolling restart loses none.
func TestServerStopDeliversAcceptedWebhookEvents(t *testing.T) {
	got := make(chan string, 4)
	rcv := &http.Server{ReadHeaderTimeout: time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		time.Sleep(300 * time.Millisecond)
		got <- string(b)
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = rcv.Serve(ln) }()
	t.Cleanup(func() { _ = rcv.Close() })
	s, url, _ := startServer(t, func(o *ServerOptions) {
		o.WebhookAllowedSchemes, o.WebhookAllowPrivateIPs = []string{"http"}, true
	})
	api := url + "/api/2.0/mlflow"
	for _, c := range [][2]string{
		{"/webhooks", `{"name": "h", "url": "http://` + ln.Addr().String() + `/", "events": [{"entity": "REGISTERED_MODEL", "action": "CREATED"}]}`},
		{"/registered-models/create", `{"name": "m"}`},
	} {
		if code, body := call(t, http.MethodPost, api+c[0], c[1]); code != http.StatusOK {
			t.Fatalf("%s: %d %s", c[0], code, body)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case b := <-got:
		if !strings.Contains(b, `"registered_model"`) {
			t.Fatalf("delivered %s", b)
		}
	default:
		t.Fatal("Stop returned before the accepted webhook event was delivered")
	}
}
