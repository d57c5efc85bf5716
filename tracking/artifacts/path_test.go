package artifacts

import (
	"errors"
	"testing"
)

func TestCleanPath(t *testing.T) {
	good := map[string]string{"": "", "a": "a", "a/b.txt": "a/b.txt", "a//b/": "a/b", "./a": "a", "a%20b": "a%20b"}
	for in, want := range good {
		got, err := CleanPath(in)
		if err != nil || got != want {
			t.Errorf("%q: got %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"..", "../a", "a/../../b", "/etc/passwd", "a\\b", "..%2fa", "%2e%2e/a", "%252e%252e%252fa",
		"%25252e%25252e/a", "a/%2e%2e/%2e%2e/b", "a\x00b", "%00", "%5c", "C:/x", "~/x"} {
		if _, err := CleanPath(in); !errors.Is(err, ErrBadPath) {
			t.Errorf("%q: err %v, want ErrBadPath", in, err)
		}
	}
}

func FuzzCleanPath(f *testing.F) {
	for _, s := range []string{"a/b", "../x", "%2e%2e/x", "a\\b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := CleanPath(s)
		if err != nil {
			return
		}
		if hasTraversal(c) || len(c) > 0 && c[0] == '/' {
			t.Fatalf("%q cleaned to unsafe %q", s, c)
		}
	})
}
