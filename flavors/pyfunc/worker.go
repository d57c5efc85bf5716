package pyfunc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mlgate/mlgate/flavors"
	"github.com/mlgate/mlgate/internal/procutil"
)

// spec says how to start one worker process.
type spec struct {
	name         string // for logs and errors, e.g. "python_function worker"
	path         string
	args         []string
	env          []string
	dir          string
	startTimeout time.Duration
	stopTimeout  time.Duration
}

// worker is one running worker process that completed its handshake.
type worker struct {
	slot int
	proc *procutil.Process
	info *WorkerInfo
	in   *os.File // the worker's stdin (we write requests)
	resp chan frame
	log  *slog.Logger

	closeOnce sync.Once
	stopping  atomic.Bool // set when mlgate ends the worker on purpose
}

type frame struct {
	kind byte
	body []byte
}

// startWorker starts a worker and waits for its handshake. ctx bounds the
// process's whole life (the pool's context), not only the start.
func startWorker(ctx context.Context, waitCtx context.Context, sp spec, slot int, log *slog.Logger) (*worker, error) {
	childIn, parentOut, parentIn, childOut, err := procutil.Pipes()
	if err != nil {
		return nil, err
	}
	wlog := log.With(slog.Int("worker", slot))
	proc, err := procutil.Start(ctx, procutil.Config{
		Path:        sp.path,
		Args:        sp.args,
		Env:         sp.env,
		Dir:         sp.dir,
		Stdin:       childIn,
		Stdout:      childOut,
		StopTimeout: sp.stopTimeout,
		TailLines:   40,
		TailBytes:   16 << 10,
		OnStderrLine: func(line string) {
			wlog.Debug("worker stderr", slog.String("line", line))
		},
	})
	_ = childIn.Close()
	_ = childOut.Close()
	if err != nil {
		_ = parentOut.Close()
		_ = parentIn.Close()
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s: program %q not found: %w", sp.name, sp.path, err)
		}
		return nil, fmt.Errorf("%s: %w", sp.name, err)
	}
	w := &worker{slot: slot, proc: proc, in: parentOut, resp: make(chan frame, 1), log: wlog.With(slog.Int("pid", proc.Pid()))}
	br := bufio.NewReaderSize(parentIn, 64<<10)
	ready := make(chan error, 1)
	go func() {
		info, err := readHandshake(br, func(line string) {
			wlog.Warn("worker printed on stdout before its handshake", slog.String("line", line))
		})
		if err != nil {
			if errors.Is(err, errNoHandshake) {
				// Stdout closed: the process is exiting; say how it ended.
				select {
				case <-proc.Done():
					err = proc.ExitError(15)
				case <-time.After(2 * time.Second):
				}
			}
			ready <- err
			_ = parentIn.Close()
			return
		}
		w.info = info
		ready <- nil
		w.readLoop(br)
		_ = parentIn.Close()
	}()
	if err := proc.WaitReady(waitCtx, sp.startTimeout, ready); err != nil {
		w.kill()
		var we *WorkerError
		if errors.As(err, &we) {
			// The worker explained itself; add its stderr for context.
			return nil, fmt.Errorf("%s failed to start: %w", sp.name, we)
		}
		if errors.Is(err, ErrProtocol) {
			return nil, fmt.Errorf("%s: %w; last stderr lines:\n%s", sp.name, err, proc.Tail().Last(15))
		}
		return nil, fmt.Errorf("%s failed to start: %w", sp.name, err)
	}
	w.log.Info("worker ready", slog.String("runtime", w.info.Runtime), slog.String("mlflow", w.info.MLflow))
	return w, nil
}

// readLoop delivers response frames until the stream ends.
func (w *worker) readLoop(br *bufio.Reader) {
	for {
		kind, body, err := readFrame(br)
		if err != nil {
			// The process is dying or broke the protocol: kill it so that
			// supervision replaces it.
			if !w.proc.Exited() && !w.stopping.Load() {
				w.log.Warn("worker stream failed; killing it", slog.Any("err", err))
				go w.kill()
			}
			return
		}
		select {
		case w.resp <- frame{kind: kind, body: body}:
		default:
			// An answer nobody asked for: the protocol is out of step.
			w.log.Warn("worker sent an unexpected frame; killing it", slog.String("type", string(kind)))
			go w.kill()
			return
		}
	}
}

// kill kills the worker's process group and waits for it.
func (w *worker) kill() {
	w.closeIn()
	w.proc.Kill()
}

// stop asks the worker to exit (stdin closed, then SIGTERM) and kills its
// group when it does not.
func (w *worker) stop(ctx context.Context) {
	w.closeIn()
	select {
	case <-w.proc.Done():
	case <-time.After(200 * time.Millisecond):
	case <-ctx.Done():
	}
	w.proc.Stop(ctx)
}

func (w *worker) closeIn() {
	w.stopping.Store(true)
	w.closeOnce.Do(func() { _ = w.in.Close() })
}

// deathError describes the worker's death for a request that it was
// serving or that found no live worker.
func (w *worker) deathError(doing string) error {
	return &unavailableError{msg: fmt.Sprintf("worker %d (pid %d) died %s: %v", w.slot, w.proc.Pid(), doing, w.proc.ExitError(10)), died: true}
}

// call sends one request and waits for its answer. On a deadline the
// worker is killed (it hangs past the request timeout) and replaced by
// supervision; on cancellation the answer is awaited in the background
// and the worker released then (done is called when the worker is free
// again or dead).
func (w *worker) call(ctx context.Context, kind byte, body []byte, hangTimeout time.Duration, done func(reusable bool)) (frame, error) {
	if dl, ok := ctx.Deadline(); ok {
		_ = w.in.SetWriteDeadline(dl)
	} else {
		_ = w.in.SetWriteDeadline(time.Now().Add(hangTimeout))
	}
	if err := writeFrame(w.in, kind, body); err != nil {
		w.kill()
		done(false)
		if ctx.Err() != nil {
			return frame{}, fmt.Errorf("worker %d did not read the request in time and was killed: %w", w.slot, ctx.Err())
		}
		return frame{}, w.deathError("while receiving the request")
	}
	select {
	case f := <-w.resp:
		done(true)
		return f, nil
	case <-w.proc.Done():
		// A response may have raced with the exit.
		select {
		case f := <-w.resp:
			done(false)
			return f, nil
		default:
		}
		done(false)
		return frame{}, w.deathError("while serving the request")
	case <-ctx.Done():
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		w.log.Warn("worker did not answer before the request deadline; killing it")
		w.kill()
		done(false)
		return frame{}, &timeoutError{slot: w.slot, err: ctx.Err()}
	}
	// Cancelled (the client went away): let the answer arrive in the
	// background, bounded by hangTimeout.
	go func() {
		t := time.NewTimer(hangTimeout)
		defer t.Stop()
		select {
		case <-w.resp:
			done(true)
		case <-w.proc.Done():
			done(false)
		case <-t.C:
			w.log.Warn("worker hung on an abandoned request; killing it", slog.Duration("after", hangTimeout))
			w.kill()
			done(false)
		}
	}()
	return frame{}, ctx.Err()
}

// unavailableError is a request that a dead (or absent) worker could not
// serve: 503 TEMPORARILY_UNAVAILABLE, wrapping flavors.ErrUnavailable.
// died marks a worker that died (exited or broke its stream) while it held
// the request: the pool retries such a request once.
type unavailableError struct {
	msg  string
	died bool
}

func (e *unavailableError) Error() string     { return e.msg }
func (e *unavailableError) ErrorCode() string { return "TEMPORARILY_UNAVAILABLE" }
func (e *unavailableError) Unwrap() error     { return flavors.ErrUnavailable }

// timeoutError is a request whose worker hung past its deadline.
type timeoutError struct {
	slot int
	err  error
}

func (e *timeoutError) Error() string {
	return fmt.Sprintf("worker %d did not answer within the request timeout; it was killed and is being replaced", e.slot)
}
func (e *timeoutError) ErrorCode() string { return "DEADLINE_EXCEEDED" }
func (e *timeoutError) Unwrap() error     { return e.err }
