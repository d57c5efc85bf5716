package projects

import (
	"errors"
	"strings"
	"testing"
)

func TestSplitSubdir(t *testing.T) {
	for in, want := range map[string][2]string{
		"/p":                       {"/p", ""},
		"'/p#sub/dir'":             {"/p", "sub/dir"},
		"https://h/r.git#a/b/":     {"https://h/r.git", "a/b"},
		"file:///tmp/repo#x":       {"file:///tmp/repo", "x"},
		`"git@h:o/r.git#projects"`: {"git@h:o/r.git", "projects"},
	} {
		base, sub, err := splitSubdir(in)
		if err != nil || base != want[0] || sub != want[1] {
			t.Errorf("splitSubdir(%q) = %q, %q, %v; want %q", in, base, sub, err, want)
		}
	}
	for _, in := range []string{"/p#../etc", "/p#a/./b", ""} {
		if _, _, err := splitSubdir(in); !errors.Is(err, ErrSource) {
			t.Errorf("splitSubdir(%q): %v, want an ErrSource", in, err)
		}
	}
}

func TestLocalPathAndCredentials(t *testing.T) {
	dir := t.TempDir()
	for _, uri := range []string{dir, "file://" + dir} {
		if p, ok := localPath(uri); !ok || p != dir {
			t.Errorf("localPath(%q) = %q, %v", uri, p, ok)
		}
	}
	if _, ok := localPath("https://example.com/r.git"); ok {
		t.Error("an https URI is not local")
	}
	for in, want := range map[string]string{
		"https://user:tok@git.example.com/o/r.git": "https://git.example.com/o/r.git",
		"https://git.example.com/o/r.git":          "https://git.example.com/o/r.git",
		"git@github.com:o/r.git":                   "git@github.com:o/r.git",
	} {
		if got := stripCredentials(in); got != want || strings.Contains(got, "tok") {
			t.Errorf("stripCredentials(%q) = %q, want %q", in, got, want)
		}
	}
}
