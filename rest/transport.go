package rest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/mlgate/mlgate/internal/version"
)

// maxErrorBody bounds how much of an error body is read.
const maxErrorBody = 64 << 10

// Transport calls an MLflow REST API. It is safe for concurrent use.
type Transport struct {
	cfg Config
	// sleep waits between attempts; tests replace it.
	sleep func(ctx context.Context, d time.Duration) error
}

// New returns a Transport for cfg.
func New(cfg Config) (*Transport, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Transport{cfg: c, sleep: sleepCtx}, nil
}

// BaseURL returns the server URL without a trailing slash.
func (t *Transport) BaseURL() string { return t.cfg.BaseURL }

// Config returns the effective configuration.
func (t *Transport) Config() Config { return t.cfg }

// Call sends one MLflow API call. path is relative to the server, for example
// "/api/2.0/mlflow/runs/get". For GET, req must be url.Values (or nil); for
// other methods it is JSON-encoded. A 2xx JSON answer is decoded into resp
// when resp is non-nil.
func (t *Transport) Call(ctx context.Context, method, path string, req, resp any) error {
	var body []byte
	target := t.cfg.BaseURL + path
	if method == http.MethodGet {
		if q, ok := req.(url.Values); ok && len(q) > 0 {
			target += "?" + q.Encode()
		}
	} else if req != nil {
		b, err := json.Marshal(req)
		if err != nil {
			return fmt.Errorf("encode %s %s: %w", method, path, err)
		}
		body = b
	}
	newReq := func(ctx context.Context) (*http.Request, error) {
		var r io.Reader
		if body != nil {
			r = bytes.NewReader(body)
		}
		hr, err := http.NewRequestWithContext(ctx, method, target, r)
		if err != nil {
			return nil, err
		}
		if body != nil {
			hr.Header.Set("Content-Type", "application/json")
		}
		return hr, nil
	}
	res, err := t.Do(ctx, newReq)
	if err != nil {
		return err
	}
	defer func() { _ = res.Body.Close() }()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		return fmt.Errorf("%s %s: read response: %w", method, path, err)
	}
	if resp == nil {
		return nil
	}
	if len(bytes.TrimSpace(data)) == 0 {
		data = []byte("{}")
	}
	if err := json.Unmarshal(data, resp); err != nil {
		return fmt.Errorf("%s %s: response body was not valid MLflow JSON: %w", method, path, err)
	}
	return nil
}

// Do sends the request built by newReq, retrying connection errors and
// retryable statuses (408, 429, 500, 502, 503, 504) with exponential backoff
// and jitter, honouring Retry-After. newReq is called once per attempt. It
// returns the 2xx response (the caller closes its body) or an *Error for a
// final non-2xx answer.
func (t *Transport) Do(ctx context.Context, newReq func(ctx context.Context) (*http.Request, error)) (*http.Response, error) {
	var lastErr error
	for attempt := 0; ; attempt++ {
		req, err := newReq(ctx)
		if err != nil {
			return nil, err
		}
		t.authorize(req)
		endpoint := req.Method + " " + req.URL.Path
		res, err := t.once(req)
		var wait time.Duration
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return nil, fmt.Errorf("%s: %w", endpoint, ctx.Err())
			}
			lastErr = fmt.Errorf("%s: %w", endpoint, err)
		case res.StatusCode >= 200 && res.StatusCode < 300:
			return res, nil
		default:
			b, _ := io.ReadAll(io.LimitReader(res.Body, maxErrorBody))
			_ = res.Body.Close()
			apiErr := parseError(endpoint, res.StatusCode, b)
			if !retryableStatus(res.StatusCode) {
				return nil, apiErr
			}
			lastErr = apiErr
			wait = retryAfter(res.Header.Get("Retry-After"), time.Now())
		}
		if attempt >= t.cfg.MaxRetries {
			if attempt > 0 {
				return nil, fmt.Errorf("giving up after %d attempts: %w", attempt+1, lastErr)
			}
			return nil, lastErr
		}
		if wait <= 0 {
			wait = t.backoff(attempt)
		}
		wait = min(wait, t.cfg.MaxBackoff)
		t.cfg.Logger.WarnContext(ctx, "retrying MLflow API call", "endpoint", endpoint, "attempt", attempt+1, "wait", wait, "err", lastErr)
		if err := t.sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("%w (last error: %w)", err, lastErr)
		}
	}
}

// once sends one attempt: the configured timeout bounds the wait for the
// headers and then each pause while the body is read.
func (t *Transport) once(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancelCause(req.Context())
	timer := time.AfterFunc(t.cfg.Timeout, func() { cancel(errAttemptTimeout) })
	res, err := t.cfg.HTTPClient.Do(req.WithContext(ctx))
	if err != nil {
		timer.Stop()
		cause := context.Cause(ctx)
		cancel(nil)
		if errors.Is(cause, errAttemptTimeout) {
			return nil, fmt.Errorf("%w after %s", errAttemptTimeout, t.cfg.Timeout)
		}
		return nil, err
	}
	res.Body = &cancelBody{
		ReadCloser: res.Body,
		touch:      func() { timer.Reset(t.cfg.Timeout) },
		stop:       func() { timer.Stop(); cancel(nil) },
	}
	return res, nil
}

var errAttemptTimeout = errors.New("request timed out")

// cancelBody turns the attempt timeout into an idle timeout while the body
// is read, and releases the attempt's context when the body is closed.
type cancelBody struct {
	io.ReadCloser
	touch, stop func()
}

func (b *cancelBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		b.touch()
	}
	return n, err
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.stop()
	return err
}

func (t *Transport) authorize(req *http.Request) {
	req.Header.Set("User-Agent", "mlgate-go-client/"+version.Version)
	if req.Header.Get("Authorization") != "" {
		return
	}
	switch {
	case t.cfg.Username != "" && t.cfg.Password != "":
		tok := base64.StdEncoding.EncodeToString([]byte(t.cfg.Username + ":" + t.cfg.Password))
		req.Header.Set("Authorization", "Basic "+tok)
	case t.cfg.Token != "":
		req.Header.Set("Authorization", "Bearer "+t.cfg.Token)
	}
}

func (t *Transport) backoff(attempt int) time.Duration {
	// MLflow: backoff_factor * 2^(attempt) seconds plus up to 1 s of jitter;
	// the first retry waits only the jitter.
	base := 0.0
	if attempt > 0 {
		base = t.cfg.BackoffFactor * float64(int(1)<<min(attempt-1, 16))
	}
	jitter := rand.Float64() //nolint:gosec // jitter, not security
	return time.Duration((base + jitter) * float64(time.Second))
}

func retryableStatus(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError,
		http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// retryAfter parses a Retry-After header (seconds or an HTTP date).
// maxRetryAfterSeconds bounds a Retry-After given in seconds (one day).
const maxRetryAfterSeconds = 24 * 60 * 60

func retryAfter(h string, now time.Time) time.Duration {
	if h == "" {
		return 0
	}
	if s, err := strconv.Atoi(h); err == nil {
		if s < 0 {
			return 0
		}
		if s > maxRetryAfterSeconds { // no overflow; the caller caps waits at MaxBackoff anyway
			s = maxRetryAfterSeconds
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil {
		return t.Sub(now)
	}
	return 0
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
