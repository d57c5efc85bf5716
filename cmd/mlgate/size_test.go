package main

import "testing"

func TestParseSize(t *testing.T) {
	good := map[string]int64{"1048576": 1 << 20, "64MB": 64e6, "64mb": 64e6, "1MiB": 1 << 20, "1.5KiB": 1536, "2G": 2 << 30, "10 KB": 10e3, "7B": 7}
	for in, want := range good {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "MB", "-1MB", "0", "lots", "1e400", "NaN", "9e18GB"} {
		if n, err := parseSize(bad); err == nil {
			t.Errorf("parseSize(%q) = %d, want an error", bad, n)
		}
	}
}

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"64MB", "1.5KiB", "-3", "1e30G"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseSize(s)
		if err == nil && n < 0 {
			t.Fatalf("parseSize(%q) = %d", s, n)
		}
	})
}
