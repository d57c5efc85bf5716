package fetch

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/mlgate/mlgate/rest"
)

// S3Config configures s3: URIs; the caller fills it from AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION/AWS_DEFAULT_REGION and
// MLFLOW_S3_ENDPOINT_URL (tracking.FromEnv does).
type S3Config struct {
	// EndpointURL is an S3-compatible endpoint (MinIO, moto, …); empty means
	// AWS (https://s3.<region>.amazonaws.com). Requests use path-style URLs.
	EndpointURL     string
	Region          string
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	// HTTP carries retry and timeout settings (its BaseURL is ignored).
	HTTP rest.Config
}

// s3Repo is a prefix in an S3 bucket, read and written with SigV4-signed
// requests.
type s3Repo struct {
	uri            string
	bucket, prefix string
	cfg            S3Config
	t              *rest.Transport
	now            func() time.Time
}

func newS3Repo(uri string, u *url.URL, cfg S3Config) (Repo, error) {
	if u.Host == "" {
		return nil, fmt.Errorf("artifact URI %q: missing bucket", uri)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	endpoint := strings.TrimRight(cfg.EndpointURL, "/")
	if endpoint == "" {
		endpoint = "https://s3." + cfg.Region + ".amazonaws.com"
	}
	hc := cfg.HTTP
	hc.BaseURL = endpoint
	hc.Username, hc.Password, hc.Token = "", "", ""
	t, err := rest.New(hc)
	if err != nil {
		return nil, fmt.Errorf("artifact URI %q: S3 endpoint: %w", uri, err)
	}
	return &s3Repo{uri: uri, bucket: u.Host, prefix: strings.Trim(u.Path, "/"), cfg: cfg, t: t, now: time.Now}, nil
}

func (r *s3Repo) URI() string { return r.uri }

func (r *s3Repo) key(rel string) string { return joinRel(r.prefix, rel) }

// do sends a signed request, re-signed on every attempt.
func (r *s3Repo) do(ctx context.Context, method, key string, query url.Values, body func() (io.ReadCloser, error), size int64) (*http.Response, error) {
	target := r.t.BaseURL() + "/" + s3Escape(r.bucket)
	if key != "" {
		target += "/" + s3Escape(key)
	}
	if len(query) > 0 {
		target += "?" + canonicalQuery(query)
	}
	return r.t.Do(ctx, func(ctx context.Context) (*http.Request, error) {
		var rd io.ReadCloser
		if body != nil {
			var err error
			if rd, err = body(); err != nil {
				return nil, err
			}
		}
		req, err := http.NewRequestWithContext(ctx, method, target, rd)
		if err != nil {
			if rd != nil {
				_ = rd.Close()
			}
			return nil, err
		}
		if body != nil {
			req.ContentLength = size
		}
		r.sign(req)
		return req, nil
	})
}

func (r *s3Repo) List(ctx context.Context, rel string) ([]Entry, error) {
	if err := safeRel(rel); err != nil {
		return nil, err
	}
	dir := r.key(rel)
	if dir != "" {
		dir += "/"
	}
	var out []Entry
	token := ""
	for range 10000 {
		q := url.Values{"list-type": {"2"}, "prefix": {dir}, "delimiter": {"/"}}
		if token != "" {
			q.Set("continuation-token", token)
		}
		res, err := r.do(ctx, http.MethodGet, "", q, nil, 0)
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", joinRel(r.uri, rel), err)
		}
		var lr struct {
			Contents []struct {
				Key  string
				Size int64
			}
			CommonPrefixes []struct{ Prefix string }
			IsTruncated    bool
			NextToken      string `xml:"NextContinuationToken"`
		}
		err = xml.NewDecoder(io.LimitReader(res.Body, 64<<20)).Decode(&lr)
		_ = res.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("list %s: bad S3 answer: %w", joinRel(r.uri, rel), err)
		}
		for _, p := range lr.CommonPrefixes {
			name := strings.TrimSuffix(strings.TrimPrefix(p.Prefix, dir), "/")
			if name != "" && !strings.Contains(name, "/") && name != ".." {
				out = append(out, Entry{Path: joinRel(rel, name), IsDir: true, Size: -1})
			}
		}
		for _, c := range lr.Contents {
			name := strings.TrimPrefix(c.Key, dir)
			if name != "" && !strings.Contains(name, "/") && name != ".." {
				out = append(out, Entry{Path: joinRel(rel, name), Size: c.Size})
			}
		}
		if !lr.IsTruncated || lr.NextToken == "" {
			return out, nil
		}
		token = lr.NextToken
	}
	return out, nil
}

func (r *s3Repo) Open(ctx context.Context, rel string) (io.ReadCloser, int64, error) {
	if err := safeRel(rel); err != nil {
		return nil, 0, err
	}
	res, err := r.do(ctx, http.MethodGet, r.key(rel), nil, nil, 0)
	if err != nil {
		return nil, 0, fmt.Errorf("get %s: %w", joinRel(r.uri, rel), err)
	}
	return res.Body, res.ContentLength, nil
}

func (r *s3Repo) Put(ctx context.Context, rel string, open func() (io.ReadCloser, error), size int64) error {
	if err := safeRel(rel); err != nil {
		return err
	}
	res, err := r.do(ctx, http.MethodPut, r.key(rel), nil, open, size)
	if err != nil {
		return fmt.Errorf("upload %s: %w", joinRel(r.uri, rel), err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	return res.Body.Close()
}

// sign adds AWS Signature Version 4 headers (unsigned payload).
func (r *s3Repo) sign(req *http.Request) {
	now := r.now().UTC()
	amzDate := now.Format("20060102T150405Z")
	day := now.Format("20060102")
	req.Header.Set("X-Amz-Date", amzDate)
	req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	if r.cfg.SessionToken != "" {
		req.Header.Set("X-Amz-Security-Token", r.cfg.SessionToken)
	}
	if r.cfg.AccessKeyID == "" {
		return // anonymous access
	}
	names := []string{"host", "x-amz-content-sha256", "x-amz-date"}
	if r.cfg.SessionToken != "" {
		names = append(names, "x-amz-security-token")
	}
	var canonHeaders strings.Builder
	for _, n := range names {
		v := req.Header.Get(n)
		if n == "host" {
			v = req.URL.Host
		}
		canonHeaders.WriteString(n + ":" + strings.TrimSpace(v) + "\n")
	}
	signed := strings.Join(names, ";")
	canonReq := strings.Join([]string{
		req.Method, req.URL.EscapedPath(), canonicalQuery(req.URL.Query()),
		canonHeaders.String(), signed, "UNSIGNED-PAYLOAD",
	}, "\n")
	scope := day + "/" + r.cfg.Region + "/s3/aws4_request"
	h := sha256.Sum256([]byte(canonReq))
	toSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(h[:])
	key := hmacSHA256([]byte("AWS4"+r.cfg.SecretAccessKey), day)
	key = hmacSHA256(key, r.cfg.Region)
	key = hmacSHA256(key, "s3")
	key = hmacSHA256(key, "aws4_request")
	sig := hex.EncodeToString(hmacSHA256(key, toSign))
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+r.cfg.AccessKeyID+"/"+scope+
		", SignedHeaders="+signed+", Signature="+sig)
}

func hmacSHA256(key []byte, s string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(s))
	return m.Sum(nil)
}

// s3Escape escapes a key as SigV4 wants (RFC 3986, '/' kept).
func s3Escape(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if c == '/' || isUnreserved(c) {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func isUnreserved(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~'
}

func queryEscape(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if isUnreserved(c) {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func canonicalQuery(q url.Values) string {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		vs := append([]string(nil), q[k]...)
		sort.Strings(vs)
		for _, v := range vs {
			parts = append(parts, queryEscape(k)+"="+queryEscape(v))
		}
	}
	return strings.Join(parts, "&")
}

var _ Repo = (*s3Repo)(nil)
