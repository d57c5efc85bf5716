package artifacts

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"syscall"
	"time"
)

// Helpers the cloud backends (gs, wasbs/abfss) share.

// fileRel checks a relative path that must name a file: not the root.
func fileRel(rel string) error {
	if err := checkRel(rel); err != nil {
		return err
	}
	if rel == "" {
		return fmt.Errorf("%w: the root is a folder, not a file", ErrBadPath)
	}
	return nil
}

// trackedReader remembers the error of the reader it wraps, so that an
// upload can tell the caller's failing reader from a failing store.
type trackedReader struct {
	r   io.Reader
	err error
}

func (t *trackedReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		t.err = err
	}
	return n, err
}

// transportFailure reports whether err is a failure to reach a store:
// refused or reset connections, DNS failures, timeouts.
func transportFailure(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH) {
		return true
	}
	var dns *net.DNSError
	var op *net.OpError
	var ne net.Error
	var ue *url.Error
	return errors.As(err, &dns) || errors.As(err, &op) || errors.As(err, &ne) && ne.Timeout() ||
		errors.As(err, &ue) && !errors.Is(err, context.Canceled)
}

// dirKey is the key prefix of the objects under rel: prefix/rel/, or ""
// for the root of a bucket.
func dirKey(prefix, rel string) string {
	if k := joinKey(prefix, rel); k != "" {
		return k + "/"
	}
	return ""
}

// statusErr wraps err, an HTTP error answer with status code, with the
// sentinel the status means.
func statusErr(code int, err error) error {
	switch {
	case code == http.StatusNotFound:
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return fmt.Errorf("%w: %w", ErrPermission, err)
	case code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500:
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return err
}

// timeoutTransport is an HTTP transport whose connections and waits for
// an answer give up after timeout (negative: never); the transfer of a
// body is not bounded.
func timeoutTransport(timeout time.Duration) *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if timeout > 0 {
		tr.DialContext = (&net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}).DialContext
		tr.ResponseHeaderTimeout = timeout
	}
	return tr
}
