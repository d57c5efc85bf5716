//go:build linux

package memtrim

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

func TestCodeMapping(t *testing.T) {
	cases := []struct {
		line   string
		lo, hi uintptr
		ok     bool
	}{
		{"00402000-012a8000 r-xp 00002000 fd:01 123 /usr/bin/mlgate", 0x402000, 0x12a8000, true},
		{"7f00-8f00 r-xp 00000000 fd:01 9 /lib/libonnxruntime.so.1", 0x7f00, 0x8f00, true},
		{"012a8000-020ed000 r--p 00ea8000 fd:01 123 /usr/bin/mlgate", 0, 0, false}, // read-only data
		{"020ee000-0220d000 rw-p 01ced000 fd:01 123 /usr/bin/mlgate", 0, 0, false}, // written data
		{"7ffd1000-7ffd3000 r-xp 00000000 00:00 0 [vdso]", 0, 0, false},            // not a file
		{"7f00-8f00 r-xs 00000000 fd:01 9 /dev/shm/x", 0, 0, false},                // shared
		{"8f00-7f00 r-xp 00000000 fd:01 9 /lib/x.so", 0, 0, false},                 // inverted
		{"zz-8f00 r-xp 00000000 fd:01 9 /lib/x.so", 0, 0, false},                   // bad hex
		{"7f00-8f00 r-xp 00000000 fd:01 9", 0, 0, false},                           // anonymous
	}
	for _, c := range cases {
		lo, hi, ok := codeMapping(c.line)
		if ok != c.ok || lo != c.lo || hi != c.hi {
			t.Errorf("codeMapping(%q) = %x, %x, %v; want %x, %x, %v", c.line, lo, hi, ok, c.lo, c.hi, c.ok)
		}
	}
}

func rssFileKB(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "RssFile:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no RssFile in /proc/self/status")
	return 0
}

// TestTrimDropsResidentCode trims this test binary's code and checks that
// its file-backed resident set shrank and that code still runs.
func TestTrimDropsResidentCode(t *testing.T) {
	before := rssFileKB(t)
	n, err := Trim()
	if err != nil {
		t.Fatal(err)
	}
	if n <= 0 {
		t.Fatalf("Trim advised %d bytes; the test binary's code is a private executable mapping", n)
	}
	after := rssFileKB(t)
	if after >= before {
		t.Fatalf("RssFile %d kB before Trim, %d kB after: nothing dropped", before, after)
	}
	// code paged back in on demand still works
	if got := strconv.Itoa(12345) + strings.Repeat("x", 2); got != "12345xx" {
		t.Fatalf("got %q", got)
	}
	t.Logf("advised %d bytes; RssFile %d kB -> %d kB", n, before, after)
}
