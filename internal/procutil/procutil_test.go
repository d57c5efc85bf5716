package procutil

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// groupMembers lists the live (non-zombie) processes of process group pgid.
func groupMembers(t *testing.T, pgid int) []int {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 3 || f[0] == "Z" || f[0] == "X" {
			continue
		}
		if g, _ := strconv.Atoi(f[2]); g == pgid {
			pids = append(pids, pid)
		}
	}
	return pids
}

func waitGroupGone(t *testing.T, pgid int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if len(groupMembers(t, pgid)) == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("process group %d still has members %v", pgid, groupMembers(t, pgid))
}

func TestStopIsGracefulThenKillsTheGroup(t *testing.T) {
	cases := []struct {
		name   string
		script string
		want   time.Duration // minimum time Stop takes
	}{
		// Exits on SIGTERM at once; its background sleep must die too.
		{"graceful", `sleep 60 & trap 'exit 0' TERM; echo started >&2; while :; do sleep 0.05; done`, 0},
		// Ignores SIGTERM: Stop must kill it after the timeout.
		{"stubborn", `trap '' TERM; sleep 60 & echo started >&2; while :; do sleep 0.05; done`, 300 * time.Millisecond},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Start(context.Background(), Config{Path: "/bin/sh", Args: []string{"-c", tc.script}, StopTimeout: 300 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			ready := make(chan error, 1)
			go func() {
				for !strings.Contains(p.Tail().String(), "started") {
					time.Sleep(10 * time.Millisecond)
				}
				ready <- nil
			}()
			if err := p.WaitReady(context.Background(), 5*time.Second, ready); err != nil {
				t.Fatal(err)
			}
			if n := len(groupMembers(t, p.Pid())); n < 2 {
				t.Fatalf("want the shell and its sleep in the group, got %d", n)
			}
			start := time.Now()
			p.Stop(context.Background())
			if d := time.Since(start); d < tc.want {
				t.Fatalf("Stop took %s, want ≥ %s", d, tc.want)
			}
			if !p.Exited() {
				t.Fatal("not exited after Stop")
			}
			waitGroupGone(t, p.Pid())
			p.Stop(context.Background()) // idempotent
		})
	}
}

func TestWaitReadyReportsEarlyExitWithStderr(t *testing.T) {
	p, err := Start(context.Background(), Config{Path: "/bin/sh", Args: []string{"-c", "echo 'boom: no module named foo' >&2; exit 3"}})
	if err != nil {
		t.Fatal(err)
	}
	err = p.WaitReady(context.Background(), 5*time.Second, make(chan error))
	if !errors.Is(err, ErrExited) {
		t.Fatalf("want ErrExited, got %v", err)
	}
	if !strings.Contains(err.Error(), "no module named foo") || !strings.Contains(err.Error(), "exit status 3") {
		t.Fatalf("error lacks the stderr tail or status: %v", err)
	}
}

func TestWaitReadyTimeoutAndContext(t *testing.T) {
	p, err := Start(context.Background(), Config{Path: "/bin/sh", Args: []string{"-c", "echo loading >&2; sleep 60"}, StopTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop(context.Background())
	err = p.WaitReady(context.Background(), 100*time.Millisecond, make(chan error))
	if !errors.Is(err, ErrNotReady) {
		t.Fatalf("want ErrNotReady, got %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.WaitReady(ctx, time.Minute, make(chan error)); !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
	failed := make(chan error, 1)
	failed <- errors.New("model failed")
	if err := p.WaitReady(context.Background(), time.Minute, failed); err == nil || err.Error() != "model failed" {
		t.Fatalf("want the reported failure, got %v", err)
	}
}

func TestContextCancelStopsTheGroup(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	p, err := Start(ctx, Config{Path: "/bin/sh", Args: []string{"-c", "sleep 60 & wait"}, StopTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case <-p.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("process survived the cancelled context")
	}
	waitGroupGone(t, p.Pid())
}

func TestStartMissingProgram(t *testing.T) {
	_, err := Start(context.Background(), Config{Path: "/nonexistent/python3"})
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/python3") {
		t.Fatalf("want an error naming the program, got %v", err)
	}
}

func TestTail(t *testing.T) {
	var seen []string
	tl := NewTail(3, 1<<10, func(l string) { seen = append(seen, l) })
	for _, chunk := range []string{"a\nb", "\nc\r\n", "d\ne\n", "", "part"} {
		if n, err := tl.Write([]byte(chunk)); err != nil || n != len(chunk) {
			t.Fatalf("Write(%q) = %d, %v", chunk, n, err)
		}
	}
	if got, want := tl.String(), "c\nd\ne\npart"; got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
	if got, want := strings.Join(seen, ","), "a,b,c,d,e"; got != want {
		t.Fatalf("onLine saw %q, want %q", got, want)
	}
	if got, want := tl.Last(2), "e\npart"; got != want {
		t.Fatalf("Last(2) = %q, want %q", got, want)
	}
	small := NewTail(100, 10, nil)
	small.Write([]byte(strings.Repeat("x", 50) + "\nyy\n"))
	if got := small.String(); got != "yy" {
		t.Fatalf("byte cap: got %q", got)
	}
}

func FuzzTail(f *testing.F) {
	f.Add([]byte("line one\nline two\r\npartial"), 3, 16)
	f.Add([]byte("\n\n\n"), 1, 1)
	f.Fuzz(func(t *testing.T, data []byte, lines, size int) {
		lines, size = lines%50, size%4096
		tl := NewTail(lines, size, nil)
		half := len(data) / 2
		tl.Write(data[:half])
		tl.Write(data[half:])
		got := tl.Lines()
		maxLines := lines
		if maxLines <= 0 {
			maxLines = 20
		}
		if len(got) > maxLines+1 {
			t.Fatalf("%d lines kept, cap %d", len(got), maxLines)
		}
	})
}

func TestTailKeepsTheEndOfAnOverlongLineInBoundedMemory(t *testing.T) {
	var seen []string
	tl := NewTail(5, 64, func(l string) { seen = append(seen, l) })
	chunk := []byte(strings.Repeat("a", 1000))
	for range 1000 { // a 1 MB line arriving in 1000-byte writes
		tl.Write(chunk)
	}
	if c := cap(tl.partial); c > 2*64 {
		t.Fatalf("the unterminated line holds a %d-byte buffer, want at most %d", c, 2*64)
	}
	tl.Write([]byte("bcd\n"))
	want := strings.Repeat("a", 61) + "bcd"
	if got := tl.String(); got != want {
		t.Fatalf("String() = %q, want the line's last 64 bytes", got)
	}
	tl.Write([]byte("next\n"))
	if len(seen) != 2 || seen[0] != want || seen[1] != "next" {
		t.Fatalf("onLine saw %d lines (%.80q), want the cut line and the next", len(seen), seen)
	}
	allocs := testing.AllocsPerRun(100, func() { tl.Write(chunk) })
	if allocs > 0 {
		t.Fatalf("%v allocations per chunk of an overlong line, want 0", allocs)
	}
}
