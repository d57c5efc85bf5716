package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Proc is a server started as a child process in its own process group on
// loopback, with its output in a log file.
type Proc struct {
	Name    string
	Cmd     *exec.Cmd
	LogPath string
	Started time.Time
	done    chan struct{}
	waitErr error
	logFile *os.File
}

// FreePort returns a free TCP port on 127.0.0.1.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Start runs name's command with args and extra environment (KEY=VALUE),
// its output going to logDir/<name>.log.
func Start(name, logDir string, env []string, dir, bin string, args ...string) (*Proc, error) {
	logPath := filepath.Join(logDir, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout = f
	cmd.Stderr = f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p := &Proc{Name: name, Cmd: cmd, LogPath: logPath, done: make(chan struct{}), logFile: f}
	p.Started = time.Now()
	if err := cmd.Start(); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// Exited reports whether the process has ended.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// WaitReady calls probe every 20 ms until it succeeds and returns the time
// from process start to that success. It fails when the process exits, ctx
// ends or timeout passes, with the tail of the log.
func (p *Proc) WaitReady(ctx context.Context, timeout time.Duration, probe func(context.Context) error) (time.Duration, error) {
	deadline := time.Now().Add(timeout)
	var last error
	for {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := probe(pctx)
		cancel()
		if err == nil {
			return time.Since(p.Started), nil
		}
		last = err
		if p.Exited() {
			return 0, fmt.Errorf("%s exited (%s) before answering: %w\n%s", p.Name, fmt.Sprint(p.waitErr), last, p.LogTail(2000))
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return 0, fmt.Errorf("%s did not answer within %s: %w\n%s", p.Name, timeout, last, p.LogTail(2000))
		}
		select {
		case <-time.After(20 * time.Millisecond):
		case <-ctx.Done():
		}
	}
}

// LogTail returns the last n bytes of the process's log.
func (p *Proc) LogTail(n int) string {
	b, err := os.ReadFile(p.LogPath)
	if err != nil {
		return ""
	}
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(bytes.TrimSpace(b))
}

// Stop sends SIGTERM to the process group, waits up to grace, then kills
// the group and any descendant that had left it.
func (p *Proc) Stop(grace time.Duration) {
	defer func() { _ = p.logFile.Close() }()
	pgid := p.Cmd.Process.Pid
	tree := treePids(pgid)
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
	}
	// Children may outlive the leader: kill whatever is left.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	for _, pid := range tree {
		if pid != pgid {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
	}
}

// Memory is a process tree's resident memory in bytes.
type Memory struct {
	RSS uint64 `json:"rss_bytes"` // sum of VmRSS now
	HWM uint64 `json:"hwm_bytes"` // sum of each process's VmHWM (its own peak)
	N   int    `json:"processes"`
}

// GroupMemory sums VmRSS and VmHWM over a server's processes: every live
// process in process group pgid (a server started by Start has pid = pgid)
// and every descendant of pid pgid, which catches workers that a server
// starts in process groups of their own.
func GroupMemory(pgid int) (Memory, error) {
	var m Memory
	members, err := groupMembers(pgid)
	if err != nil {
		return m, err
	}
	for pid := range members {
		rss, hwm, err := procStatus(pid)
		if err != nil || rss == 0 { // gone, or a zombie
			continue
		}
		m.RSS += rss
		m.HWM += hwm
		m.N++
	}
	if m.N == 0 {
		return m, errors.New("no process in the group")
	}
	return m, nil
}

// groupMembers lists the processes of process group pgid and the
// descendants of its leader (workers that moved to a group of their own).
func groupMembers(pgid int) (map[int]bool, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	type info struct{ ppid, pgid int }
	procs := map[int]info{}
	children := map[int][]int{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		ppid, g, err := procStat(pid)
		if err != nil {
			continue
		}
		procs[pid] = info{ppid, g}
		children[ppid] = append(children[ppid], pid)
	}
	members := map[int]bool{}
	for pid, in := range procs {
		if in.pgid == pgid {
			members[pid] = true
		}
	}
	if _, ok := procs[pgid]; ok {
		queue := []int{pgid}
		for len(queue) > 0 {
			p := queue[0]
			queue = queue[1:]
			members[p] = true
			queue = append(queue, children[p]...)
		}
	}
	return members, nil
}

// GroupCPU sums the CPU time (user plus system) that the processes of
// process group pgid and its leader's descendants have used so far.
// Processes that ended are not counted, so compare two readings of a
// group whose processes live through both.
func GroupCPU(pgid int) (time.Duration, error) {
	members, err := groupMembers(pgid)
	if err != nil {
		return 0, err
	}
	var total time.Duration
	n := 0
	for pid := range members {
		d, err := ProcessCPU(pid)
		if err != nil {
			continue // gone
		}
		total += d
		n++
	}
	if n == 0 {
		return 0, errors.New("no process in the group")
	}
	return total, nil
}

// treePids lists root and its live descendants.
func treePids(root int) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	children := map[int][]int{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid, _, err := procStat(pid); err == nil {
			children[ppid] = append(children[ppid], pid)
		}
	}
	out := []int{}
	queue := []int{root}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		out = append(out, p)
		queue = append(queue, children[p]...)
	}
	return out
}

// procStat reads the parent pid and process group id, fields 4 and 5 of
// /proc/pid/stat.
func procStat(pid int) (ppid, pgid int, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	// The command name (field 2) may hold spaces: skip past its ")".
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, errors.New("bad stat")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 3 {
		return 0, 0, errors.New("bad stat")
	}
	if ppid, err = strconv.Atoi(f[1]); err != nil {
		return 0, 0, err
	}
	pgid, err = strconv.Atoi(f[2])
	return ppid, pgid, err
}

// procStatus reads VmRSS and VmHWM (bytes) from /proc/pid/status.
func procStatus(pid int) (rss, hwm uint64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		var dst *uint64
		switch {
		case strings.HasPrefix(line, "VmRSS:"):
			dst = &rss
		case strings.HasPrefix(line, "VmHWM:"):
			dst = &hwm
		default:
			continue
		}
		fs := strings.Fields(line)
		if len(fs) >= 2 {
			kb, _ := strconv.ParseUint(fs[1], 10, 64)
			*dst = kb * 1024
		}
	}
	return rss, hwm, sc.Err()
}

// MemSampler polls a process group's resident memory and keeps the peak of
// the summed VmRSS (the tree's peak, which per-process VmHWM cannot give).
type MemSampler struct {
	mu   sync.Mutex
	peak uint64
	stop chan struct{}
	done chan struct{}
}

// SampleMemory starts polling pgid every interval until Stop.
func SampleMemory(pgid int, interval time.Duration) *MemSampler {
	s := &MemSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			if m, err := GroupMemory(pgid); err == nil {
				s.mu.Lock()
				s.peak = max(s.peak, m.RSS)
				s.mu.Unlock()
			}
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// Stop ends sampling and returns the peak summed RSS in bytes.
func (s *MemSampler) Stop() uint64 {
	close(s.stop)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peak
}

// GroupOpenFiles counts the open file descriptors (/proc/PID/fd) of the
// processes GroupMemory sums.
func GroupOpenFiles(pgid int) (int, error) {
	members, err := groupMembers(pgid)
	if err != nil {
		return 0, err
	}
	n, seen := 0, 0
	for pid := range members {
		ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
		if err != nil {
			continue // gone
		}
		n += len(ents)
		seen++
	}
	if seen == 0 {
		return 0, errors.New("no process in the group")
	}
	return n, nil
}
