package bench

import (
	"os"
	"testing"
	"time"
)

func TestParseStatCPU(t *testing.T) {
	// a command name with a space and a parenthesis, utime 250, stime 50
	line := []byte("4242 (my (odd) cmd) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 9 0 1234 1000 10\n")
	d, err := parseStatCPU(line)
	if err != nil {
		t.Fatal(err)
	}
	if d != 3*time.Second {
		t.Errorf("cpu = %v, want 3s", d)
	}
	for _, bad := range []string{"", "12 no-parens S 1", "1 (x) S 1 2 3", "1 (x) S 1 2 3 4 5 6 7 8 9 10 -5 1 0"} {
		if _, err := parseStatCPU([]byte(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestProcessCPUGrowsWithWork(t *testing.T) {
	before, err := ProcessCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	x := 1.0
	for start := time.Now(); time.Since(start) < 150*time.Millisecond; {
		for range 100000 {
			x = x*1.0000001 + 1e-9
		}
	}
	after, err := ProcessCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if after-before < 50*time.Millisecond {
		t.Errorf("150 ms of busy work added %v of CPU (x=%v)", after-before, x)
	}
}
