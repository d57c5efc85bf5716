//go:build unix

package pyenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// Lock runs fn holding an exclusive lock on the file path (flock), so
// that mlgate processes building the same environment take turns. Waiting
// ends with ctx.
func Lock(ctx context.Context, path string, fn func() error) error {
	if err := os.MkdirAll(dirOf(path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("%w: lock %s: %w", ErrEnv, path, err)
	}
	defer func() { _ = f.Close() }()
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			return fmt.Errorf("%w: lock %s: %w", ErrEnv, path, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: waiting for another builder of %s: %w", ErrEnv, path, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
	defer func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }()
	return fn()
}

func dirOf(path string) string {
	for i := len(path) - 1; i >= 0; i-- {
		if path[i] == '/' {
			return path[:i]
		}
	}
	return "."
}
