package artifacts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
)

// The Cloud Storage JSON API, spoken directly over net/http with
// golang.org/x/oauth2/google's application default credentials. (The
// cloud.google.com/go/storage SDK links gRPC, OpenTelemetry and the xDS
// protos whatever transport is used: it would double the binary, and
// break the images' size budget, for the five calls a store needs.)

const (
	gcsScope         = "https://www.googleapis.com/auth/devstorage.read_write"
	gcsDefaultHost   = "https://storage.googleapis.com/storage/v1/"
	gcsChunkAlign    = 256 << 10
	gcsDefaultChunk  = 16 << 20
	gcsFirstBackoff  = 200 * time.Millisecond
	gcsMaxBackoff    = 2 * time.Second
	gcsDefaultTries  = 5
	gcsDefaultTimout = 60 * time.Second
)

// gcsAPI is a JSON API client with its endpoints and options (defaults
// applied).
type gcsAPI struct {
	hc         *http.Client
	base       string // https://host/storage/v1
	uploadBase string // https://host/upload/storage/v1
	opts       GCSOptions
}

func newGCSAPI(ctx context.Context, opts GCSOptions) (*gcsAPI, error) {
	if opts.Timeout == 0 {
		opts.Timeout = gcsDefaultTimout
	}
	if opts.Attempts <= 0 {
		opts.Attempts = gcsDefaultTries
	}
	if opts.UploadChunkSize <= 0 {
		opts.UploadChunkSize = gcsDefaultChunk
	}
	opts.UploadChunkSize = (opts.UploadChunkSize + gcsChunkAlign - 1) / gcsChunkAlign * gcsChunkAlign
	tr := timeoutTransport(opts.Timeout)
	endpoint, emulator, auth := opts.Endpoint, opts.EmulatorHost, !opts.Anonymous
	switch {
	case endpoint != "":
	case emulator != "":
		auth = false
		// As the Google SDKs read STORAGE_EMULATOR_HOST: host:port (http)
		// or a URL; the JSON API under /storage/v1/; no credentials.
		if !strings.Contains(emulator, "://") {
			emulator = "http://" + emulator
		}
		u, err := url.Parse(emulator)
		if err != nil {
			return nil, fmt.Errorf("%w: STORAGE_EMULATOR_HOST %q: %w", ErrBadPath, emulator, err)
		}
		u.Path = "/storage/v1/"
		endpoint = u.String()
	default:
		endpoint = gcsDefaultHost
	}
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: GCS endpoint %q is not an http(s) URL", ErrBadPath, endpoint)
	}
	a := &gcsAPI{opts: opts, hc: &http.Client{Transport: tr}}
	a.base = strings.TrimSuffix(u.String(), "/")
	up := *u
	up.Path = "/upload" + strings.TrimSuffix(u.Path, "/")
	a.uploadBase = up.String()
	if auth {
		// Like MLflow, go on without credentials (public buckets) when
		// there are none.
		if creds, err := google.FindDefaultCredentials(context.WithoutCancel(ctx), gcsScope); err == nil {
			a.hc.Transport = &oauth2.Transport{Source: creds.TokenSource, Base: tr}
		}
	}
	return a, nil
}

func (a *gcsAPI) objectURL(bucket, key string) string {
	return a.base + "/b/" + url.PathEscape(bucket) + "/o/" + url.PathEscape(key)
}

// call sends the request mk makes (anew for each attempt) and returns a
// 2xx or 308 response; retryable failures are tried opts.Attempts times.
func (a *gcsAPI) call(ctx context.Context, mk func(context.Context) (*http.Request, error)) (*http.Response, error) {
	var err error
	for attempt := 1; ; attempt++ {
		var req *http.Request
		if req, err = mk(ctx); err != nil {
			return nil, err
		}
		var resp *http.Response
		resp, err = a.hc.Do(req)
		switch {
		case err != nil:
			err = gcsTransportErr(ctx, err)
		case resp.StatusCode < 300 || resp.StatusCode == http.StatusPermanentRedirect:
			return resp, nil
		default:
			err = gcsStatusErr(resp)
		}
		if attempt >= a.opts.Attempts || !errors.Is(err, ErrUnavailable) || !sleepCtx(ctx, backoff(attempt)) {
			return nil, err
		}
	}
}

func backoff(attempt int) time.Duration {
	return min(gcsFirstBackoff<<(attempt-1), gcsMaxBackoff)
}

// sleepCtx waits d unless ctx ends first (false).
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func gcsTransportErr(ctx context.Context, err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) { // the credentials were refused a token
		return fmt.Errorf("%w: google credentials: %w", ErrPermission, err)
	}
	if ctx.Err() == nil && transportFailure(err) {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return err
}

// gcsHTTPError is an error answer of the JSON API.
type gcsHTTPError struct {
	Code    int
	Message string
}

func (e *gcsHTTPError) Error() string {
	return fmt.Sprintf("google cloud storage: HTTP %d: %s", e.Code, e.Message)
}

// gcsStatusErr reads an error answer and maps it to the sentinels.
func gcsStatusErr(resp *http.Response) error {
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	e := &gcsHTTPError{Code: resp.StatusCode}
	var body struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(b, &body) == nil && body.Error.Message != "" {
		e.Message = body.Error.Message
	} else {
		e.Message = strings.TrimSpace(string(b))
	}
	return statusErr(resp.StatusCode, e)
}

func getRequest(u string) func(context.Context) (*http.Request, error) {
	return func(ctx context.Context) (*http.Request, error) {
		return http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	}
}

// gcsSize is an object size, which the API writes as a string.
type gcsSize int64

func (s *gcsSize) UnmarshalJSON(b []byte) error {
	n, err := strconv.ParseInt(strings.Trim(string(b), `"`), 10, 64)
	*s = gcsSize(n)
	return err
}

// list calls fn for each object (and, with a delimiter, each folder)
// whose name starts with prefix, page after page.
func (a *gcsAPI) list(ctx context.Context, bucket, prefix, delim string, pageSize int, fn func(name string, size int64, isDir bool)) error {
	token := ""
	for {
		q := url.Values{"fields": {"items(name,size),prefixes,nextPageToken"}}
		for k, v := range map[string]string{"prefix": prefix, "delimiter": delim, "pageToken": token} {
			if v != "" {
				q.Set(k, v)
			}
		}
		if pageSize > 0 {
			q.Set("maxResults", strconv.Itoa(pageSize))
		}
		resp, err := a.call(ctx, getRequest(a.base+"/b/"+url.PathEscape(bucket)+"/o?"+q.Encode()))
		if err != nil {
			return err
		}
		var page struct {
			Items []struct {
				Name string  `json:"name"`
				Size gcsSize `json:"size"`
			} `json:"items"`
			Prefixes      []string `json:"prefixes"`
			NextPageToken string   `json:"nextPageToken"`
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		_ = resp.Body.Close()
		if err != nil {
			return fmt.Errorf("google cloud storage: reading a listing: %w", err)
		}
		for _, p := range page.Prefixes {
			fn(p, -1, true)
		}
		for _, it := range page.Items {
			fn(it.Name, int64(it.Size), false)
		}
		if page.NextPageToken == "" || page.NextPageToken == token {
			return nil
		}
		token = page.NextPageToken
	}
}

type gcsInfo struct {
	size       int64 // of the whole object; -1 when not known
	generation string
}

// get streams n bytes of an object from off (n < 0: to the end), of
// generation gen when it is not "". The timeout bounds the wait for the
// answer, not the transfer.
func (a *gcsAPI) get(ctx context.Context, bucket, key string, off, n int64, gen string) (io.ReadCloser, gcsInfo, error) {
	info := gcsInfo{size: -1}
	if n == 0 {
		return io.NopCloser(strings.NewReader("")), info, nil
	}
	q := url.Values{"alt": {"media"}}
	if gen != "" {
		q.Set("generation", gen)
	}
	u := a.objectURL(bucket, key) + "?" + q.Encode()
	ctx, cancel := context.WithCancel(ctx)
	ranged := off > 0 || n > 0
	resp, err := a.call(ctx, func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err == nil && ranged {
			end := ""
			if n > 0 {
				end = strconv.FormatInt(off+n-1, 10)
			}
			req.Header.Set("Range", "bytes="+strconv.FormatInt(off, 10)+"-"+end)
		}
		return req, err
	})
	var he *gcsHTTPError
	if off == 0 && errors.As(err, &he) && he.Code == http.StatusRequestedRangeNotSatisfiable {
		// An empty object has no byte 0: read it whole.
		ranged = false
		resp, err = a.call(ctx, getRequest(u))
	}
	if err != nil {
		cancel()
		return nil, info, err
	}
	info.generation = resp.Header.Get("X-Goog-Generation")
	info.size = resp.ContentLength
	var body io.Reader = resp.Body
	if ranged && resp.StatusCode == http.StatusOK {
		// The whole object came back (a server that ignores ranges, or
		// one that transcodes): cut the range out of it.
		if _, err := io.CopyN(io.Discard, resp.Body, off); err != nil {
			_ = resp.Body.Close()
			cancel()
			return nil, info, fmt.Errorf("google cloud storage: skipping to byte %d: %w", off, err)
		}
		if n > 0 {
			body = io.LimitReader(resp.Body, n)
		}
	}
	if resp.StatusCode == http.StatusPartialContent {
		info.size = -1
		cr := resp.Header.Get("Content-Range") // bytes a-b/total
		if i := strings.LastIndexByte(cr, '/'); i >= 0 {
			if total, err := strconv.ParseInt(cr[i+1:], 10, 64); err == nil {
				info.size = total
			}
		}
	}
	return &cancelBody{Reader: body, body: resp.Body, cancel: cancel}, info, nil
}

// cancelBody reads a response (or a part of it) and ends the response's
// context when it is closed.
type cancelBody struct {
	io.Reader
	body   io.Closer
	cancel context.CancelFunc
}

func (c *cancelBody) Close() error {
	err := c.body.Close()
	c.cancel()
	return err
}

func (a *gcsAPI) delete(ctx context.Context, bucket, key string) error {
	resp, err := a.call(ctx, func(ctx context.Context) (*http.Request, error) {
		return http.NewRequestWithContext(ctx, http.MethodDelete, a.objectURL(bucket, key), nil)
	})
	if err != nil {
		return err
	}
	return resp.Body.Close()
}
