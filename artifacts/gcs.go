package artifacts

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// GCSOptions configure gs:// stores. FromEnv fills them from MLflow's
// environment variables. Credentials are Google's application default
// credentials (GOOGLE_APPLICATION_CREDENTIALS, gcloud's user credentials,
// the metadata server), or none when there are none, as with MLflow.
type GCSOptions struct {
	// EmulatorHost is STORAGE_EMULATOR_HOST, read as the Google SDKs read
	// it: host:port (plain HTTP) or a URL of an emulator, reached without
	// credentials.
	EmulatorHost string
	// Endpoint overrides the JSON API endpoint, such as a private one:
	// https://storage-example.p.googleapis.com/storage/v1/ (empty:
	// EmulatorHost's, or Google's).
	Endpoint string
	// Anonymous sends no credentials (public buckets, test servers).
	Anonymous bool
	// Timeout bounds each request's connection and wait for an answer
	// (0: 60s, negative: none): MLFLOW_ARTIFACT_UPLOAD_DOWNLOAD_TIMEOUT, or
	// the former MLFLOW_GCS_DEFAULT_TIMEOUT, in seconds (-1 for none).
	Timeout time.Duration
	// UploadChunkSize is the size of the parts of a resumable upload,
	// rounded up to 256 KiB (MLFLOW_GCS_UPLOAD_CHUNK_SIZE; 0: 16 MiB). A
	// file that fits in one part is uploaded in one request.
	UploadChunkSize int
	// DownloadChunkSize makes Open read a file in ranged requests of that
	// many bytes (MLFLOW_GCS_DOWNLOAD_CHUNK_SIZE; 0: one request).
	DownloadChunkSize int64
	// Attempts is how many times a request that failed in a retryable way
	// (connection refused, 408, 429, 5xx) is tried (0: 5), with backoff
	// from 200ms up to 2s, so that a store that is down fails within
	// seconds.
	Attempts int
}

func gcsFromEnv(getenv func(string) string) GCSOptions {
	o := GCSOptions{EmulatorHost: strings.TrimSpace(getenv("STORAGE_EMULATOR_HOST"))}
	timeout := getenv("MLFLOW_ARTIFACT_UPLOAD_DOWNLOAD_TIMEOUT")
	if timeout == "" {
		timeout = getenv("MLFLOW_GCS_DEFAULT_TIMEOUT")
	}
	if s, err := strconv.Atoi(strings.TrimSpace(timeout)); err == nil && s != 0 {
		o.Timeout = time.Duration(s) * time.Second
		if s < 0 {
			o.Timeout = -1
		}
	}
	if n, err := strconv.Atoi(strings.TrimSpace(getenv("MLFLOW_GCS_UPLOAD_CHUNK_SIZE"))); err == nil && n > 0 {
		o.UploadChunkSize = n
	}
	if n, err := strconv.ParseInt(strings.TrimSpace(getenv("MLFLOW_GCS_DOWNLOAD_CHUNK_SIZE")), 10, 64); err == nil && n > 0 {
		o.DownloadChunkSize = n
	}
	return o
}

// gcsRepo is a gs://bucket/prefix store, reached through the Cloud
// Storage JSON API.
type gcsRepo struct {
	uri      string
	api      *gcsAPI
	bucket   string
	prefix   string
	pageSize int // objects per listing page (0: the service's default); tests lower it
}

func openGCS(ctx context.Context, uri string, u *url.URL, opts GCSOptions) (Repo, error) {
	if u.Host == "" {
		return nil, storeErr(uri, "open", "", fmt.Errorf("%w: a gs URI names a bucket: gs://bucket/path", ErrBadPath))
	}
	api, err := gcsClient(ctx, opts)
	if err != nil {
		return nil, storeErr(uri, "open", "", err)
	}
	return &gcsRepo{uri: uri, api: api, bucket: u.Host, prefix: uriPath(uri)}, nil
}

// uriPath is the key prefix of a bucket URI as written, percent-escapes
// and all (as MLflow reads it): the path after the host, without the query
// or fragment, trimmed of slashes.
func uriPath(uri string) string {
	_, rest, ok := strings.Cut(uri, "://")
	if !ok {
		return ""
	}
	i := strings.IndexByte(rest, '/')
	if i < 0 {
		return ""
	}
	p := rest[i:]
	if j := strings.IndexAny(p, "?#"); j >= 0 {
		p = p[:j]
	}
	return strings.Trim(p, "/")
}

// gcsClients keeps one client per configuration: a client looks up the
// application default credentials once and reuses its connections.
var gcsClients sync.Map // GCSOptions -> *gcsAPI

func gcsClient(ctx context.Context, opts GCSOptions) (*gcsAPI, error) {
	if c, ok := gcsClients.Load(opts); ok {
		return c.(*gcsAPI), nil
	}
	c, err := newGCSAPI(ctx, opts)
	if err != nil {
		return nil, err
	}
	prev, _ := gcsClients.LoadOrStore(opts, c)
	return prev.(*gcsAPI), nil
}

func (r *gcsRepo) URI() string { return r.uri }

func (r *gcsRepo) List(ctx context.Context, rel string) ([]Entry, error) {
	if err := checkRel(rel); err != nil {
		return nil, storeErr(r.uri, "list", rel, err)
	}
	dir := dirKey(r.prefix, rel)
	var out []Entry
	err := r.api.list(ctx, r.bucket, dir, "/", r.pageSize, func(name string, size int64, isDir bool) {
		p := joinKey(rel, strings.TrimSuffix(strings.TrimPrefix(name, dir), "/"))
		if p == rel || checkRel(p) != nil { // a folder marker, or a key that is no safe path
			return
		}
		out = append(out, Entry{Path: p, IsDir: isDir, Size: size})
	})
	if err != nil {
		return nil, storeErr(r.uri, "list", rel, err)
	}
	slices.SortFunc(out, func(a, b Entry) int { return strings.Compare(a.Path, b.Path) })
	return out, nil
}

func (r *gcsRepo) Open(ctx context.Context, rel string) (io.ReadCloser, int64, error) {
	if err := fileRel(rel); err != nil {
		return nil, 0, storeErr(r.uri, "open", rel, err)
	}
	key := joinKey(r.prefix, rel)
	chunk := r.api.opts.DownloadChunkSize
	n := int64(-1)
	if chunk > 0 {
		n = chunk
	}
	body, info, err := r.api.get(ctx, r.bucket, key, 0, n, "")
	if err != nil {
		return nil, 0, storeErr(r.uri, "open", rel, err)
	}
	if n < 0 || info.size <= n {
		return body, info.size, nil
	}
	// Read the rest in ranges of the same generation of the object.
	return &gcsChunks{r: r, ctx: ctx, key: key, gen: info.generation, cur: body, end: n, size: info.size, rel: rel}, info.size, nil
}

// OpenRange streams n bytes of rel from offset off (n < 0: to the end).
func (r *gcsRepo) OpenRange(ctx context.Context, rel string, off, n int64) (io.ReadCloser, error) {
	if err := fileRel(rel); err != nil {
		return nil, storeErr(r.uri, "open", rel, err)
	}
	body, _, err := r.api.get(ctx, r.bucket, joinKey(r.prefix, rel), off, n, "")
	if err != nil {
		return nil, storeErr(r.uri, "open", rel, err)
	}
	return body, nil
}

// gcsChunks reads an object in ranged requests of DownloadChunkSize bytes.
type gcsChunks struct {
	r         *gcsRepo
	ctx       context.Context //nolint:containedctx // the reader's requests run under Open's ctx
	key, gen  string
	cur       io.ReadCloser
	end, size int64 // cur ends at end
	rel       string
}

func (c *gcsChunks) Read(p []byte) (int, error) {
	for {
		if c.cur == nil {
			if c.end >= c.size {
				return 0, io.EOF
			}
			n := min(c.r.api.opts.DownloadChunkSize, c.size-c.end)
			body, _, err := c.r.api.get(c.ctx, c.r.bucket, c.key, c.end, n, c.gen)
			if err != nil {
				return 0, storeErr(c.r.uri, "open", c.rel, err)
			}
			c.cur, c.end = body, c.end+n
		}
		n, err := c.cur.Read(p)
		if errors.Is(err, io.EOF) {
			_ = c.cur.Close()
			c.cur, err = nil, nil
		}
		if n > 0 || err != nil {
			return n, err
		}
	}
}

func (c *gcsChunks) Close() error {
	if c.cur == nil {
		return nil
	}
	err := c.cur.Close()
	c.cur = nil
	return err
}

func (r *gcsRepo) Put(ctx context.Context, rel string, body io.Reader, size int64) error {
	if err := fileRel(rel); err != nil {
		return storeErr(r.uri, "put", rel, err)
	}
	return storeErr(r.uri, "put", rel, r.api.upload(ctx, r.bucket, joinKey(r.prefix, rel), body, size))
}

func (r *gcsRepo) Delete(ctx context.Context, rel string) error {
	if err := checkRel(rel); err != nil {
		return storeErr(r.uri, "delete", rel, err)
	}
	var names []string
	if err := r.api.list(ctx, r.bucket, dirKey(r.prefix, rel), "", r.pageSize, func(name string, _ int64, _ bool) {
		names = append(names, name)
	}); err != nil {
		return storeErr(r.uri, "delete", rel, err)
	}
	if rel != "" || r.prefix != "" {
		names = append(names, joinKey(r.prefix, rel))
	}
	for _, name := range names {
		if err := r.api.delete(ctx, r.bucket, name); err != nil && !errors.Is(err, ErrNotFound) {
			return storeErr(r.uri, "delete", rel, err)
		}
	}
	return nil
}
