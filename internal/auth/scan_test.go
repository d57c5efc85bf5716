package auth

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
)

// TestMembers: every top-level member under each spelling of a name, raw
// and in order; nested members and other names are not matched.
func TestMembers(t *testing.T) {
	body := []byte(` { "run_id" : "a\"b", "metrics":[{"key":"run_id","v":[1,{"x":"]"}]}], "RunId":7, "n":null,"t":true, "run\u005fid":"esc" } `)
	for name, want := range map[string][]string{
		"run_id":  {`"a\"b"`, `7`, `"esc"`},
		"metrics": {`[{"key":"run_id","v":[1,{"x":"]"}]}]`},
		"n":       {"null"},
		"t":       {"true"},
		"key":     nil,
		"v":       nil,
	} {
		got := members(nil, body, name)
		if fmt.Sprintf("%s", got) != fmt.Sprintf("%s", want) || len(got) != len(want) {
			t.Errorf("%s: %s, want %s", name, got, want)
		}
	}
	for _, bad := range []string{``, `[]`, `{"a":`, `{"a" 1}`, `{"a":"x`, `{"a":[1,2}`, `{a:1}`, `{"\x":1}`} {
		_ = members(nil, []byte(bad), "a") // no panic, no hang
	}
}

// TestAmbiguousParameter refuses a body naming the resource twice under
// spellings a lax decoder would merge, so the check and the handler cannot
// read different runs.
func TestAmbiguousParameter(t *testing.T) {
	gin.SetMode(gin.TestMode)
	for body, want := range map[string]string{
		`{"run_id":"a","runId":"b"}`:  "ambiguous",
		`{"run_id":"a","RUN_ID":"b"}`: "ambiguous",
		`{"run_id":"a","run_id":"b"}`: "ambiguous",
		`{"run_id":"a","runId":"a"}`:  "a",
		`{"run_uuid":"c"}`:            "c",
		`{"metrics":[]}`:              "missing",
	} {
		c, _ := gin.CreateTestContext(httptest.NewRecorder())
		c.Request = httptest.NewRequest("POST", "/", strings.NewReader(body))
		r := &request{c: c}
		v, err := r.need("run_id")
		got := v
		switch {
		case err != nil && strings.Contains(err.Error(), "more than once"):
			got = "ambiguous"
		case err != nil:
			got = "missing"
		}
		if got != want {
			t.Errorf("%s: %q (%v), want %q", body, got, err, want)
		}
		rest := new(bytes.Buffer)
		_, _ = rest.ReadFrom(c.Request.Body)
		if rest.String() != body {
			t.Errorf("%s: the handler would read %q", body, rest)
		}
	}
	c, _ := gin.CreateTestContext(httptest.NewRecorder())
	c.Request = httptest.NewRequest("GET", "/?run_id=a&runId=b", nil)
	if _, err := (&request{c: c}).need("run_id"); err == nil {
		t.Error("query: two spellings with two values must be refused")
	}
}

// FuzzMembers checks the scanner against encoding/json on valid objects
// (every member found under its own name) and that nothing panics.
func FuzzMembers(f *testing.F) {
	for _, s := range []string{`{"run_id":"x","metrics":[{"a":1}]}`, `{"a\u0041":"\"}"}`, `{}`, `{"a":[[[]]],"b":{"c":"]}"}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var obj map[string]json.RawMessage
		if json.Unmarshal(b, &obj) != nil {
			_ = members(nil, b, "run_id")
			return
		}
		for k, v := range obj {
			found := false
			got := members(nil, b, k)
			for _, g := range got {
				var a, bb bytes.Buffer
				if json.Compact(&a, g) == nil && json.Compact(&bb, v) == nil && a.String() == bb.String() {
					found = true
				}
			}
			if !found {
				t.Fatalf("%q: member %q = %s not found in %q", b, k, v, got)
			}
		}
	})
}
