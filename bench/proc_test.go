package bench

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"testing"
	"time"
)

func TestProcMemoryCountsTreeAndStops(t *testing.T) {
	dir := t.TempDir()
	// A shell whose child moves to its own process group (as worker
	// supervisors do) must still be counted through the parent link.
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatal(err)
	}
	p, err := Start("tree", dir, nil, dir, sh, "-c", "setsid sleep 30 & sleep 30 & wait")
	if err != nil {
		t.Fatal(err)
	}
	pgid := p.Cmd.Process.Pid
	var m Memory
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if m, err = GroupMemory(pgid); err == nil && m.N >= 3 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if m.N < 3 || m.RSS == 0 || m.HWM < m.RSS/2 {
		t.Fatalf("memory %+v (err %v): want the shell and both sleeps", m, err)
	}
	s := SampleMemory(pgid, 10*time.Millisecond)
	time.Sleep(50 * time.Millisecond)
	if peak := s.Stop(); peak == 0 {
		t.Error("sampler saw no memory")
	}
	tree := treePids(pgid)
	if len(tree) < 3 {
		t.Fatalf("tree %v: want the shell and both sleeps", tree)
	}
	p.Stop(2 * time.Second)
	if !p.Exited() {
		t.Fatal("process still running after Stop")
	}
	// Every process of the tree, the one that left the group included, must
	// be gone (or a zombie awaiting its reaper) shortly after Stop.
	deadline = time.Now().Add(3 * time.Second)
	for _, pid := range tree {
		for {
			rss, _, err := procStatus(pid)
			if err != nil || rss == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("pid %d still alive after Stop", pid)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func TestWaitReadyReportsExit(t *testing.T) {
	dir := t.TempDir()
	p, err := Start("fails", dir, nil, dir, "/bin/sh", "-c", "echo boom-marker >&2; exit 3")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop(time.Second)
	_, err = p.WaitReady(context.Background(), 10*time.Second, func(context.Context) error { return errors.New("not yet") })
	if err == nil {
		t.Fatal("want an error for a process that exits")
	}
	if msg := err.Error(); !contains(msg, "boom-marker") || !contains(msg, "exit status 3") {
		t.Errorf("error %q lacks the log tail or exit status", msg)
	}
	if _, err := os.Stat(p.LogPath); err != nil {
		t.Error(err)
	}
}

func TestWaitReadyMeasuresFirstSuccess(t *testing.T) {
	dir := t.TempDir()
	p, err := Start("ok", dir, nil, dir, "/bin/sh", "-c", "sleep 30")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop(time.Second)
	calls := 0
	d, err := p.WaitReady(context.Background(), 10*time.Second, func(context.Context) error {
		calls++
		if calls < 5 {
			return errors.New("not yet")
		}
		return nil
	})
	if err != nil || calls != 5 || d < 60*time.Millisecond {
		t.Fatalf("ready after %v, %d probes, err %v: want 5 probes 20ms apart", d, calls, err)
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}
