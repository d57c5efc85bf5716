package bench

import (
	"os"
	"os/exec"
	"syscall"
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
	// Burn until the kernel's own account (getrusage) shows 150 ms of CPU:
	// on a loaded machine 150 ms of wall time can give far less.
	start := rusageCPU(t)
	x := 1.0
	for deadline := time.Now().Add(20 * time.Second); rusageCPU(t)-start < 150*time.Millisecond; {
		if time.Now().After(deadline) {
			t.Fatal("20 s of busy work did not get 150 ms of CPU")
		}
		for range 100000 {
			x = x*1.0000001 + 1e-9
		}
	}
	burnt := rusageCPU(t) - start
	after, err := ProcessCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if got := after - before; got < burnt/2 {
		t.Errorf("%v of busy work (getrusage) added %v of CPU to ProcessCPU (x=%v)", burnt, got, x)
	}
}

// rusageCPU is this process's user+system CPU as getrusage reports it.
func rusageCPU(t *testing.T) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestGroupCPUCountsTheTree burns CPU in a child that leaves the process
// group (as worker supervisors do) and checks the group's reading grows.
func TestGroupCPUCountsTheTree(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p, err := Start("busy", dir, nil, dir, sh, "-c", `setsid sh -c 'while :; do :; done' & wait`)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop(2 * time.Second)
	pgid := p.Cmd.Process.Pid
	before, err := GroupCPU(pgid)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(400 * time.Millisecond)
	after, err := GroupCPU(pgid)
	if err != nil {
		t.Fatal(err)
	}
	if after-before < 100*time.Millisecond {
		t.Errorf("a busy loop for 400 ms added %v of group CPU", after-before)
	}
	if _, err := GroupCPU(1 << 30); err == nil {
		t.Error("a group with no process has a CPU time")
	}
}

func TestPerRequestAndUs(t *testing.T) {
	r := &Result{Requests: 4, ServerCPU: 400 * time.Microsecond}
	if got := r.PerRequest(r.ServerCPU); got != 100*time.Microsecond {
		t.Errorf("per request %v, want 100µs", got)
	}
	if got := (&Result{}).PerRequest(time.Second); got != 0 {
		t.Errorf("no requests: %v, want 0", got)
	}
	if Us(100*time.Microsecond) != "100" || Us(0) != "–" {
		t.Errorf("Us: %q %q", Us(100*time.Microsecond), Us(0))
	}
}
