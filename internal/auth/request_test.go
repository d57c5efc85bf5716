package auth

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
)

// TestQueryValsAsParseQuery: the check reads a query parameter as
// url.ParseQuery does, in every spelling the fold matches.
func TestQueryValsAsParseQuery(t *testing.T) {
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"run_id=a", []string{"a"}},
		{"runId=a&RUN_ID=b", []string{"a", "b"}},
		{"run_id=a%20b", []string{"a b"}},
		{"run%5Fid=c", []string{"c"}},
		{"run_id=%zz&run_id=d", []string{"d"}},
		{"run_id=e;x&run_id=f", []string{"f"}},
		{"&&run_id&other=1", []string{""}},
		{"run_idx=g&xrun_id=h", nil},
		{"", nil},
	} {
		c, _ := gin.CreateTestContext(httptest.NewRecorder())
		c.Request = httptest.NewRequest("GET", "/x?"+tc.query, nil)
		r := &request{c: c}
		got := r.queryVals(nil, "run_id")
		var want []string
		for k, vs := range c.Request.URL.Query() {
			if foldName(k) == "runid" {
				want = append(want, vs...)
			}
		}
		if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", tc.want) || len(got) != len(want) {
			t.Errorf("%q: %q, want %q (url.Values: %q)", tc.query, got, tc.want, want)
		}
	}
}

// TestSameFold: the allocation-free comparison agrees with foldName.
func TestSameFold(t *testing.T) {
	names := []string{"run_id", "RUN_ID", "runId", "run__id_", "runid", "run_i", "run_idd", "", "_", "rün_id", "RUN_\u212A", "_run_ID"}
	for _, a := range names {
		for _, b := range names {
			if got, want := sameFold(a, b), foldName(a) == foldName(b); got != want {
				t.Errorf("sameFold(%q, %q) = %v, foldName says %v", a, b, got, want)
			}
		}
	}
}

// FuzzNameFastPaths checks the allocation-light readers against the
// definitions they shortcut: foldName against lower-casing with the
// underscores removed, sameFold against foldName, plainString against
// encoding/json.
func FuzzNameFastPaths(f *testing.F) {
	for _, s := range []string{"run_id", "RUN_ID|runId", `"experiment_id"`, `"a\"b"`, "\"caf\u00e9\"", "K\u212a|k", `"\t"`, ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := foldName(s), strings.ToLower(strings.ReplaceAll(s, "_", "")); got != want {
			t.Fatalf("foldName(%q) = %q, want %q", s, got, want)
		}
		a, b, _ := strings.Cut(s, "|")
		if got, want := sameFold(a, b), foldName(a) == foldName(b); got != want {
			t.Fatalf("sameFold(%q, %q) = %v, foldName says %v", a, b, got, want)
		}
		if got, ok := plainString([]byte(s)); ok {
			var want string
			if err := json.Unmarshal([]byte(s), &want); err != nil || got != want {
				t.Fatalf("plainString(%q) = %q, encoding/json: %q, %v", s, got, want, err)
			}
		}
	})
}

// TestLoadBodyReplays: the check reads the body's run_id and the handler
// then reads the whole body, whether its length is declared or chunked; a
// body over maxAuthBody is not read for the check but still reaches the
// handler whole.
func TestLoadBodyReplays(t *testing.T) {
	big := `{"run_id":"r","pad":"` + strings.Repeat("x", maxAuthBody) + `"}`
	for _, tc := range []struct {
		name, body string
		chunked    bool
		want       string
	}{
		{"declared", `{"run_id":"r1","metrics":[]}`, false, "r1"},
		{"chunked", `{"runId":"r2"}`, true, "r2"},
		{"empty", ``, false, ""},
		{"over the bound", big, false, ""},
	} {
		c, _ := gin.CreateTestContext(httptest.NewRecorder())
		c.Request = httptest.NewRequest("POST", "/", strings.NewReader(tc.body))
		if tc.chunked {
			c.Request.ContentLength = -1
		}
		r := &request{c: c}
		got, _, err := r.param("run_id")
		if err != nil || got != tc.want {
			t.Errorf("%s: run_id %q (%v), want %q", tc.name, got, err, tc.want)
		}
		rest, err := io.ReadAll(c.Request.Body)
		if err != nil || string(rest) != tc.body {
			t.Errorf("%s: the handler read %d bytes (%v), want the %d sent", tc.name, len(rest), err, len(tc.body))
		}
		if err := c.Request.Body.Close(); err != nil {
			t.Errorf("%s: close: %v", tc.name, err)
		}
	}
}
