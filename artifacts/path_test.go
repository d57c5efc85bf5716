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
	for _, in := range badRels {
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

func TestCheckRelRefusesUncleanPaths(t *testing.T) {
	for _, in := range append([]string{"a//b", "./a", "a/", "a/./b"}, badRels...) {
		if err := checkRel(in); !errors.Is(err, ErrBadPath) {
			t.Errorf("%q: %v, want ErrBadPath", in, err)
		}
	}
	for _, in := range []string{"", "a", "a/b.txt", "a b/c%20d"} {
		if err := checkRel(in); err != nil {
			t.Errorf("%q: %v", in, err)
		}
	}
}
