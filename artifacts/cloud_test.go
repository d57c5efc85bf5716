package artifacts

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestGCSFromEnv(t *testing.T) {
	env := map[string]string{
		"MLFLOW_GCS_DEFAULT_TIMEOUT":     "30",
		"MLFLOW_GCS_UPLOAD_CHUNK_SIZE":   "1048576",
		"MLFLOW_GCS_DOWNLOAD_CHUNK_SIZE": "2097152",
		"STORAGE_EMULATOR_HOST":          "127.0.0.1:4443",
	}
	o := gcsFromEnv(func(k string) string { return env[k] })
	if o.Timeout != 30*time.Second || o.UploadChunkSize != 1<<20 || o.DownloadChunkSize != 2<<20 || o.EmulatorHost != "127.0.0.1:4443" {
		t.Errorf("gcsFromEnv = %+v", o)
	}
	env["MLFLOW_ARTIFACT_UPLOAD_DOWNLOAD_TIMEOUT"] = "-1" // the newer name wins; -1 is none
	if o := gcsFromEnv(func(k string) string { return env[k] }); o.Timeout >= 0 {
		t.Errorf("timeout -1 gave %s, want a negative (none)", o.Timeout)
	}
	if o := gcsFromEnv(func(string) string { return "junk" }); o != (GCSOptions{EmulatorHost: "junk"}) {
		t.Errorf("junk values gave %+v, want the defaults", o)
	}
}

func TestAzureFromEnv(t *testing.T) {
	env := map[string]string{
		"AZURE_STORAGE_CONNECTION_STRING":         "AccountName=a;AccountKey=k",
		"AZURE_STORAGE_ACCESS_KEY":                "key",
		"AZURE_STORAGE_SAS_TOKEN":                 "?sv=1&sig=x",
		"MLFLOW_ARTIFACT_UPLOAD_DOWNLOAD_TIMEOUT": "12",
	}
	o := azureFromEnv(func(k string) string { return env[k] })
	want := AzureOptions{ConnectionString: "AccountName=a;AccountKey=k", AccessKey: "key", SASToken: "sv=1&sig=x", Timeout: 12 * time.Second}
	if o != want {
		t.Errorf("azureFromEnv = %+v, want %+v", o, want)
	}
}

func TestCloudBadURIs(t *testing.T) {
	opts := Options{Azure: AzureOptions{AccessKey: "a2V5"}}
	for _, uri := range []string{
		"gs:///no-bucket",
		"wasbs://account.blob.core.windows.net/no-container",
		"wasbs://c@account.dfs.core.windows.net/not-the-blob-endpoint",
		"abfss://c@/p",
		"abfss://account.dfs.core.windows.net/p",
	} {
		if _, err := Open(context.Background(), uri, opts); !errors.Is(err, ErrBadPath) || !strings.Contains(err.Error(), uri) {
			t.Errorf("open %s: %v, want ErrBadPath naming it", uri, err)
		}
	}
}

func TestAzureURIs(t *testing.T) {
	for uri, want := range map[string][2]string{
		"wasbs://ctr@acct.blob.core.windows.net/a/b%20c/": {"https://acct.blob.core.windows.net/ctr", "a/b%20c"},
		"abfss://fs@acct.dfs.core.windows.net/x/y%20z":    {"https://acct.blob.core.windows.net/fs", "x/y z"},
		"wasbs://ctr@acct.blob.core.chinacloudapi.cn":     {"https://acct.blob.core.chinacloudapi.cn/ctr", ""},
	} {
		u, err := url.Parse(uri)
		if err != nil {
			t.Fatal(err)
		}
		r, err := openAzure(context.Background(), uri, u, AzureOptions{AccessKey: "a2V5"})
		if err != nil {
			t.Fatalf("open %s: %v", uri, err)
		}
		ar := r.(*azureRepo)
		if got := [2]string{ar.ctr.URL(), ar.prefix}; got != want {
			t.Errorf("%s: container URL and prefix %q, want %q", uri, got, want)
		}
	}
}

func TestURIPath(t *testing.T) {
	for uri, want := range map[string]string{
		"gs://b":                                 "",
		"gs://b/":                                "",
		"gs://b/a/b%20c/?x=1#frag":               "a/b%20c",
		"gs://b/path with space":                 "path with space",
		"wasbs://c@a.blob.core.windows.net//x//": "x",
	} {
		if got := uriPath(uri); got != want {
			t.Errorf("uriPath(%q) = %q, want %q", uri, got, want)
		}
	}
}

// TestGCSRangesOfAServerThatIgnoresThem checks reads against a JSON API
// that answers every read with the whole object, and an empty object that
// has no byte 0 to start a range at.
func TestGCSRangesOfAServerThatIgnoresThem(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Query().Get("alt") != "media":
			http.Error(w, "not a read", http.StatusBadRequest)
		case strings.HasSuffix(r.URL.Path, "/o/empty") && r.Header.Get("Range") != "":
			w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
		case strings.HasSuffix(r.URL.Path, "/o/empty"):
			w.WriteHeader(http.StatusOK)
		default:
			_, _ = io.WriteString(w, "0123456789")
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	r, err := Open(ctx, "gs://bk", Options{GCS: GCSOptions{Endpoint: srv.URL + "/storage/v1/", Anonymous: true, DownloadChunkSize: 4}})
	if err != nil {
		t.Fatal(err)
	}
	rc, err := r.(RangeOpener).OpenRange(ctx, "obj", 3, 4)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	_ = rc.Close()
	if err != nil || string(got) != "3456" {
		t.Errorf("range 3+4 = %q, %v; want 3456", got, err)
	}
	for rel, want := range map[string]string{"obj": "0123456789", "empty": ""} {
		rc, _, err := r.Open(ctx, rel)
		if err != nil {
			t.Fatalf("open %s: %v", rel, err)
		}
		got, err := io.ReadAll(rc)
		_ = rc.Close()
		if err != nil || string(got) != want {
			t.Errorf("open %s in chunks = %q, %v; want %q", rel, got, err, want)
		}
	}
}

// TestGCSErrorAnswers maps the JSON API's error answers: a refused
// credential is ErrPermission, a service in trouble ErrUnavailable after
// its attempts, each naming the store and keeping the service's message.
func TestGCSErrorAnswers(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		code := http.StatusForbidden
		if strings.Contains(r.URL.Path, "/b/busy/") {
			code = http.StatusServiceUnavailable
		}
		w.WriteHeader(code)
		_, _ = io.WriteString(w, `{"error":{"code":`+strconv.Itoa(code)+`,"message":"sa@p.iam does not have storage.objects.list access"}}`)
	}))
	defer srv.Close()
	opts := Options{GCS: GCSOptions{Endpoint: srv.URL + "/storage/v1/", Anonymous: true, Attempts: 2}}
	for uri, want := range map[string]struct {
		err   error
		code  string
		calls int32
	}{
		"gs://denied/p": {ErrPermission, "PERMISSION_DENIED", 1},
		"gs://busy/p":   {ErrUnavailable, "TEMPORARILY_UNAVAILABLE", 2},
	} {
		calls.Store(0)
		r, err := Open(context.Background(), uri, opts)
		if err != nil {
			t.Fatal(err)
		}
		_, err = r.List(context.Background(), "")
		var se *StoreError
		if !errors.Is(err, want.err) || !errors.As(err, &se) || se.ErrorCode() != want.code || calls.Load() != want.calls ||
			!strings.Contains(err.Error(), uri) || !strings.Contains(err.Error(), "storage.objects.list") {
			t.Errorf("list %s: %v after %d calls; want %v (%s) after %d, naming the store and the service's message", uri, err, calls.Load(), want.err, want.code, want.calls)
		}
	}
}

// TestGCSApplicationDefaultCredentials reaches a store with a service
// account key named by GOOGLE_APPLICATION_CREDENTIALS: its token (from a
// token endpoint on loopback) goes with each request, and a refused key is
// ErrPermission.
func TestGCSApplicationDefaultCredentials(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	var refuse atomic.Bool
	tokens := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if refuse.Load() || r.ParseForm() != nil || r.Form.Get("assertion") == "" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"error":"invalid_grant","error_description":"Invalid JWT Signature."}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"access_token":"tok-123","token_type":"Bearer","expires_in":3600}`)
	}))
	defer tokens.Close()
	store := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok-123" {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"error":{"code":401,"message":"no token"}}`)
			return
		}
		_, _ = io.WriteString(w, `{"items":[{"name":"p/a.txt","size":"5"}]}`)
	}))
	defer store.Close()
	sa, err := json.Marshal(map[string]string{
		"type": "service_account", "project_id": "p", "private_key_id": "k1", "client_id": "1",
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": "sa@p.iam.gserviceaccount.com", "token_uri": tokens.URL + "/token",
	})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "sa.json")
	if err := os.WriteFile(file, sa, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", file)
	ctx := context.Background()
	r, err := Open(ctx, "gs://bk/p", Options{GCS: GCSOptions{Endpoint: store.URL + "/storage/v1/"}})
	if err != nil {
		t.Fatal(err)
	}
	if es, err := r.List(ctx, ""); err != nil || entriesString(es) != "a.txt:5" {
		t.Errorf("list with the service account's token = %q, %v", entriesString(es), err)
	}
	refuse.Store(true)
	r, err = Open(ctx, "gs://bk/p", Options{GCS: GCSOptions{Endpoint: store.URL + "/storage/v1/", Attempts: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.List(ctx, ""); !errors.Is(err, ErrPermission) || !strings.Contains(err.Error(), "invalid_grant") {
		t.Errorf("list with a refused key: %v, want ErrPermission with the token endpoint's answer", err)
	}
}
