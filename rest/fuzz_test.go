package rest

import (
	"testing"
	"time"
)

// FuzzParseError feeds arbitrary error bodies to the MLflow error parser.
func FuzzParseError(f *testing.F) {
	f.Add(500, []byte(`{"error_code":"INTERNAL_ERROR","message":"boom"}`))
	f.Add(404, []byte(``))
	f.Add(400, []byte(`{"error_code":1}`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		e := parseError("GET /x", status, body)
		if e.Code == "" || e.StatusCode != status {
			t.Fatalf("parseError(%d, %q) = %+v", status, body, e)
		}
		_ = e.Error()
	})
}

// FuzzRetryAfter checks that no Retry-After header yields a negative wait
// when given in seconds, and that parsing never panics.
func FuzzRetryAfter(f *testing.F) {
	f.Add("5")
	f.Add("Wed, 21 Oct 2015 07:28:00 GMT")
	f.Add("-3")
	f.Fuzz(func(t *testing.T, h string) {
		d := retryAfter(h, time.Unix(0, 0))
		if len(h) > 0 && h[0] >= '0' && h[0] <= '9' && d < 0 {
			t.Fatalf("retryAfter(%q) = %v", h, d)
		}
	})
}
