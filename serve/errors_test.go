package serve

import (
	"net/http"
	"testing"
)

func TestTrailingSlashRedirectsAsMLflow(t *testing.T) {
	_, ts := newTestServer(t, &echo{}, nil, nil)
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	cases := []struct {
		method, path, location string
	}{
		{"GET", "/ping/", "/ping"},
		{"GET", "/health//", "/health"},
		{"POST", "/invocations/?x=1", "/invocations?x=1"},
		{"POST", "/ping/", "/ping"}, // Starlette redirects whatever the method
		{"GET", "/v2/models/m/ready/", "/v2/models/m/ready"},
		{"GET", "/nope/", ""},
		{"GET", "/v2/", ""},               // a route of its own
		{"GET", "/v2/models//ready/", ""}, // an empty name matches no route: 404
		{"GET", "/invocations/x", ""},
	}
	for _, k := range cases {
		req, err := http.NewRequest(k.method, ts.URL+k.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if k.location == "" {
			if resp.StatusCode == http.StatusTemporaryRedirect || resp.StatusCode == http.StatusMovedPermanently {
				t.Errorf("%s %s: redirected to %q", k.method, k.path, resp.Header.Get("Location"))
			}
			continue
		}
		if resp.StatusCode != http.StatusTemporaryRedirect || resp.Header.Get("Location") != ts.URL+k.location ||
			resp.ContentLength != 0 || resp.Header.Get("Content-Type") != "" {
			t.Errorf("%s %s: %d %q (length %d, type %q), want 307 to %s with no body", k.method, k.path, resp.StatusCode,
				resp.Header.Get("Location"), resp.ContentLength, resp.Header.Get("Content-Type"), ts.URL+k.location)
		}
	}
}
