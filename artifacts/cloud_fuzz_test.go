package artifacts

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"strings"
	"testing"
)

// FuzzGCSListing serves arbitrary listing bodies from a Cloud Storage JSON
// API and checks that the entries accepted stay inside the listed folder.
func FuzzGCSListing(f *testing.F) {
	f.Add([]byte(`{"items":[{"name":"root/dir/a","size":"3"}],"prefixes":["root/dir/d/"]}`))
	f.Add([]byte(`{"items":[{"name":"root/dir/../../etc/passwd","size":12}],"prefixes":["root/dir/..%2f/"]}`))
	f.Add([]byte(`{"items":[{"name":"elsewhere","size":"x"}],"nextPageToken":""}`))
	fuzzListing(f, func(url string) (Repo, error) {
		return Open(context.Background(), "gs://bk/root", Options{GCS: GCSOptions{Endpoint: url + "/storage/v1/", Anonymous: true, Attempts: 1}})
	})
}

// fuzzListing answers every request of the store that open reaches at a
// server's URL with the fuzz input, and checks that the entries a listing
// of "dir" accepts stay inside it.
func fuzzListing(f *testing.F, open func(url string) (Repo, error)) {
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(body) }))
	f.Cleanup(srv.Close)
	repo, err := open(srv.URL)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		body = b
		if es, err := repo.List(context.Background(), "dir"); err == nil {
			checkInside(t, es, "dir")
		}
	})
}

// checkInside fails t when an entry of a listing of dir is no safe path
// inside dir.
func checkInside(t *testing.T, es []Entry, dir string) {
	t.Helper()
	for _, e := range es {
		if checkRel(e.Path) != nil || !strings.HasPrefix(e.Path, dir+"/") || path.Clean(e.Path) != e.Path {
			t.Fatalf("listing entry %q escapes its folder %q", e.Path, dir)
		}
	}
}

// FuzzCloudURIs opens arbitrary gs, wasbs and abfss URIs: each opens or
// fails with a *StoreError naming it, and never panics.
func FuzzCloudURIs(f *testing.F) {
	for _, s := range []string{"gs://b/p", "gs:///p", "wasbs://c@a.blob.core.windows.net/p%20q", "abfss://f@a.dfs.core.windows.net/x",
		"wasbs://a.blob.core.windows.net", "abfss://c:pw@a.dfs.x/y?q#f"} {
		f.Add(s)
	}
	// No credentials are looked up: an emulator for gs, an account key for azure.
	opts := Options{GCS: GCSOptions{EmulatorHost: "127.0.0.1:9"}, Azure: AzureOptions{AccessKey: "a2V5"}}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := url.Parse(s)
		if err != nil {
			return
		}
		var r Repo
		switch strings.ToLower(u.Scheme) {
		case "gs":
			r, err = openGCS(context.Background(), s, u, opts.GCS)
		case "wasbs", "abfss":
			r, err = openAzure(context.Background(), s, u, opts.Azure)
		default:
			return
		}
		var se *StoreError
		switch {
		case err != nil && (!errors.As(err, &se) || se.Store != s):
			t.Fatalf("open %q: %v is not a *StoreError naming it", s, err)
		case err == nil && r.URI() != s:
			t.Fatalf("open %q: the repo is %q", s, r.URI())
		}
	})
}
