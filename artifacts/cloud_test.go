package artifacts

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
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
	r, err := Open(ctx, "gs://bk", Options{GCS: GCSOptions{Endpoint: srv.URL + "/storage/v1/", DownloadChunkSize: 4}})
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
	opts := Options{GCS: GCSOptions{Endpoint: srv.URL + "/storage/v1/", Attempts: 2}}
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
