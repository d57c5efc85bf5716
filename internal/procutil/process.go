package procutil

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// ErrExited means the process ended before it became ready.
var ErrExited = errors.New("process exited")

// exitGrace is how long WaitReady waits for a failure report after the
// child exited.
const exitGrace = 500 * time.Millisecond

// ErrNotReady means the readiness wait timed out.
var ErrNotReady = errors.New("process not ready in time")

// Config says how to start a child process.
type Config struct {
	// Path is the program; Args are its arguments (without the program).
	Path string
	Args []string
	// Env is the full environment (nil: the parent's).
	Env []string
	// Dir is the working directory ("" = the parent's).
	Dir string
	// Stdin and Stdout are handed to the child as they are (*os.File
	// values are passed without copying goroutines). nil = /dev/null.
	Stdin  io.Reader
	Stdout io.Writer
	// Stderr receives the child's stderr besides the Tail (may be nil).
	Stderr io.Writer
	// StopTimeout is how long Stop (and context cancellation) waits after
	// SIGTERM before SIGKILL (default 5s).
	StopTimeout time.Duration
	// TailLines and TailBytes size the stderr tail (defaults 20, 8 KiB).
	TailLines, TailBytes int
	// OnStderrLine is called with every stderr line (for logging).
	OnStderrLine func(line string)
}

// Process is a started child in its own process group.
type Process struct {
	cmd     *exec.Cmd
	tail    *Tail
	timeout time.Duration
	done    chan struct{}
	err     error // set before done closes
	stopMu  sync.Mutex
}

// Start starts the child described by c in a new process group. The
// process lives until it exits, Stop or Kill is called, or ctx is
// cancelled (then the group gets SIGTERM and, after StopTimeout, SIGKILL).
func Start(ctx context.Context, c Config) (*Process, error) {
	if c.Path == "" {
		return nil, errors.New("procutil: empty program path")
	}
	if c.StopTimeout <= 0 {
		c.StopTimeout = 5 * time.Second
	}
	p := &Process{
		tail:    NewTail(c.TailLines, c.TailBytes, c.OnStderrLine),
		timeout: c.StopTimeout,
		done:    make(chan struct{}),
	}
	cmd := exec.CommandContext(ctx, c.Path, c.Args...)
	cmd.Env = c.Env
	cmd.Dir = c.Dir
	cmd.Stdin = c.Stdin
	cmd.Stdout = c.Stdout
	if c.Stderr != nil {
		cmd.Stderr = io.MultiWriter(p.tail, c.Stderr)
	} else {
		cmd.Stderr = p.tail
	}
	cmd.SysProcAttr = groupAttr()
	cmd.Cancel = func() error {
		if err := signalGroup(cmd.Process.Pid, syscall.SIGTERM); err != nil {
			return err
		}
		return nil
	}
	cmd.WaitDelay = c.StopTimeout
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", c.Path, err)
	}
	p.cmd = cmd
	go func() {
		err := cmd.Wait()
		// Whatever the leader did, leave nothing of its group behind.
		_ = signalGroup(cmd.Process.Pid, syscall.SIGKILL)
		p.err = err
		close(p.done)
	}()
	return p, nil
}

// Pid is the child's process id (also its process group id).
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Done is closed when the process has exited and been reaped.
func (p *Process) Done() <-chan struct{} { return p.done }

// Exited reports whether the process has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Err is the result of Wait (nil for exit status 0); valid after Done.
func (p *Process) Err() error {
	<-p.done
	return p.err
}

// Tail is the child's stderr tail.
func (p *Process) Tail() *Tail { return p.tail }

// ExitError describes how the process ended, with the last stderr lines:
// an error wrapping ErrExited. It blocks until the process has exited.
func (p *Process) ExitError(lines int) error {
	<-p.done
	how := "exit status 0"
	if p.err != nil {
		how = p.err.Error()
	}
	if t := p.tail.Last(lines); t != "" {
		return fmt.Errorf("%w (%s); last stderr lines:\n%s", ErrExited, how, t)
	}
	return fmt.Errorf("%w (%s) with no stderr output", ErrExited, how)
}

// Signal sends sig to the process group.
func (p *Process) Signal(sig syscall.Signal) error {
	if p.Exited() {
		return nil
	}
	return signalGroup(p.Pid(), sig)
}

// Kill sends SIGKILL to the whole process group and waits for the leader.
func (p *Process) Kill() {
	_ = p.Signal(syscall.SIGKILL)
	<-p.done
}

// Stop asks the group to stop (SIGTERM), waits up to StopTimeout (or until
// ctx is done), then kills the group. It returns once the process has been
// reaped; calling it again is harmless.
func (p *Process) Stop(ctx context.Context) {
	p.stopMu.Lock()
	defer p.stopMu.Unlock()
	if p.Exited() {
		return
	}
	_ = p.Signal(syscall.SIGTERM)
	t := time.NewTimer(p.timeout)
	defer t.Stop()
	select {
	case <-p.done:
	case <-t.C:
	case <-ctx.Done():
	}
	p.Kill()
}

// WaitReady waits until ready yields a value (nil: ready; an error: the
// child reported a failure), the process exits, timeout passes or ctx is
// done, whichever comes first. An early exit gives an error wrapping
// ErrExited with the last stderr lines; a timeout wraps ErrNotReady.
func (p *Process) WaitReady(ctx context.Context, timeout time.Duration, ready <-chan error) error {
	var tc <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		tc = t.C
	}
	select {
	case err := <-ready:
		return err
	case <-p.done:
		// The child's own account of its failure (read from its output)
		// may arrive just after the exit; prefer it.
		t := time.NewTimer(exitGrace)
		defer t.Stop()
		select {
		case err := <-ready:
			if err != nil {
				return err
			}
		case <-t.C:
		}
		return p.ExitError(15)
	case <-tc:
		return fmt.Errorf("%w after %s; last stderr lines:\n%s", ErrNotReady, timeout, p.tail.Last(15))
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Pipes returns a pipe pair for talking to a child over its stdin and
// stdout: the child ends (give them to Config.Stdin/Stdout, then close them
// after Start) and the parent ends.
func Pipes() (childIn, parentOut, parentIn, childOut *os.File, err error) {
	childIn, parentOut, err = os.Pipe()
	if err != nil {
		return nil, nil, nil, nil, err
	}
	parentIn, childOut, err = os.Pipe()
	if err != nil {
		_ = childIn.Close()
		_ = parentOut.Close()
		return nil, nil, nil, nil, err
	}
	return childIn, parentOut, parentIn, childOut, nil
}
