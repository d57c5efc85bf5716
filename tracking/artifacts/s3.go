package artifacts

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// S3Options configure S3-compatible artifact storage (AWS S3, MinIO,
// moto…), as MLflow reads them from the environment.
type S3Options struct {
	// EndpointURL is the S3 endpoint (MLFLOW_S3_ENDPOINT_URL); empty means
	// AWS at https://s3.<region>.amazonaws.com.
	EndpointURL string
	// Region (AWS_DEFAULT_REGION / AWS_REGION; default us-east-1).
	Region string
	// AccessKeyID and SecretAccessKey (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY).
	AccessKeyID     string
	SecretAccessKey string
	// SessionToken (AWS_SESSION_TOKEN), optional.
	SessionToken string
	// Client is the HTTP client; nil uses a default with timeouts.
	Client *http.Client
}

// Configured reports whether credentials are set.
func (o S3Options) Configured() bool { return o.AccessKeyID != "" && o.SecretAccessKey != "" }

// S3 is a Repo in an S3 bucket under a key prefix, signed with AWS
// Signature Version 4 (path-style addressing, streamed unsigned payloads).
type S3 struct {
	o      S3Options
	bucket string
	prefix string
	base   *url.URL
	client *http.Client
}

// NewS3 returns a Repo for bucket/prefix.
func NewS3(o S3Options, bucket, prefix string) (*S3, error) {
	if bucket == "" {
		return nil, fmt.Errorf("%w: s3 URI without a bucket", ErrBadPath)
	}
	if o.Region == "" {
		o.Region = "us-east-1"
	}
	ep := o.EndpointURL
	if ep == "" {
		ep = "https://s3." + o.Region + ".amazonaws.com"
	}
	base, err := url.Parse(ep)
	if err != nil || base.Host == "" {
		return nil, fmt.Errorf("s3 endpoint %q: not a URL", ep)
	}
	c := o.Client
	if c == nil {
		c = &http.Client{Timeout: 30 * time.Minute}
	}
	return &S3{o: o, bucket: bucket, prefix: strings.Trim(prefix, "/"), base: base, client: c}, nil
}

func (s *S3) key(rel string) string { return Join(s.prefix, rel) }

// escapeKey escapes each segment of an object key for the URL path.
func escapeKey(k string) string {
	segs := strings.Split(k, "/")
	for i, sg := range segs {
		segs[i] = strings.ReplaceAll(url.PathEscape(sg), "+", "%2B")
	}
	return strings.Join(segs, "/")
}

func (s *S3) do(ctx context.Context, method, key string, query url.Values, body io.Reader, size int64) (*http.Response, error) {
	u := *s.base
	u.Path = strings.TrimSuffix(s.base.Path, "/") + "/" + s.bucket
	if key != "" {
		u.Path += "/" + key
	}
	u.RawPath = strings.TrimSuffix(s.base.EscapedPath(), "/") + "/" + url.PathEscape(s.bucket)
	if key != "" {
		u.RawPath += "/" + escapeKey(key)
	}
	u.RawQuery = canonicalQuery(query)
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.ContentLength = size
	}
	s.sign(req, time.Now().UTC())
	return s.client.Do(req)
}

func canonicalQuery(q url.Values) string {
	if len(q) == 0 {
		return ""
	}
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		for _, v := range q[k] {
			parts = append(parts, awsEscape(k)+"="+awsEscape(v))
		}
	}
	return strings.Join(parts, "&")
}

func awsEscape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(url.QueryEscape(s), "+", "%20"), "%7E", "~")
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

// sign adds SigV4 headers with an unsigned payload.
func (s *S3) sign(req *http.Request, now time.Time) {
	amzDate := now.Format("20060102T150405Z")
	day := now.Format("20060102")
	req.Header.Set("X-Amz-Date", amzDate)
	req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	if s.o.SessionToken != "" {
		req.Header.Set("X-Amz-Security-Token", s.o.SessionToken)
	}
	headers := map[string]string{
		"host":                 req.URL.Host,
		"x-amz-content-sha256": "UNSIGNED-PAYLOAD",
		"x-amz-date":           amzDate,
	}
	if s.o.SessionToken != "" {
		headers["x-amz-security-token"] = s.o.SessionToken
	}
	names := make([]string, 0, len(headers))
	for k := range headers {
		names = append(names, k)
	}
	sort.Strings(names)
	var canonHeaders strings.Builder
	for _, k := range names {
		canonHeaders.WriteString(k + ":" + headers[k] + "\n")
	}
	signed := strings.Join(names, ";")
	canon := strings.Join([]string{req.Method, req.URL.EscapedPath(), req.URL.RawQuery, canonHeaders.String(), signed, "UNSIGNED-PAYLOAD"}, "\n")
	scope := day + "/" + s.o.Region + "/s3/aws4_request"
	sum := sha256.Sum256([]byte(canon))
	toSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(sum[:])
	k := hmacSHA256([]byte("AWS4"+s.o.SecretAccessKey), day)
	k = hmacSHA256(k, s.o.Region)
	k = hmacSHA256(k, "s3")
	k = hmacSHA256(k, "aws4_request")
	sig := hex.EncodeToString(hmacSHA256(k, toSign))
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+s.o.AccessKeyID+"/"+scope+", SignedHeaders="+signed+", Signature="+sig)
}

func s3Error(resp *http.Response, what string) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	var e struct {
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	}
	_ = xml.Unmarshal(b, &e)
	if resp.StatusCode == http.StatusNotFound {
		return &notFoundError{msg: fmt.Sprintf("%s: not found (%s)", what, e.Code)}
	}
	return fmt.Errorf("s3 %s: %s %s: %s", what, resp.Status, e.Code, e.Message)
}

// Put implements Repo. A body of unknown size is spooled by the caller.
func (s *S3) Put(ctx context.Context, rel string, r io.Reader, size int64) error {
	if rel == "" {
		return badPath(rel)
	}
	if size < 0 {
		return errors.New("s3 put: unknown content length")
	}
	body := r
	if size == 0 {
		body = http.NoBody
	}
	resp, err := s.do(ctx, http.MethodPut, s.key(rel), nil, body, size)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode/100 != 2 {
		return s3Error(resp, "put "+rel)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return nil
}

// Open implements Repo.
func (s *S3) Open(ctx context.Context, rel string) (io.ReadCloser, int64, error) {
	resp, err := s.do(ctx, http.MethodGet, s.key(rel), nil, nil, 0)
	if err != nil {
		return nil, 0, err
	}
	if resp.StatusCode != http.StatusOK {
		defer func() { _ = resp.Body.Close() }()
		return nil, 0, s3Error(resp, "get "+rel)
	}
	return resp.Body, resp.ContentLength, nil
}

type listResult struct {
	Contents []struct {
		Key  string `xml:"Key"`
		Size int64  `xml:"Size"`
	} `xml:"Contents"`
	CommonPrefixes []struct {
		Prefix string `xml:"Prefix"`
	} `xml:"CommonPrefixes"`
	IsTruncated           bool   `xml:"IsTruncated"`
	NextContinuationToken string `xml:"NextContinuationToken"`
}

func (s *S3) list(ctx context.Context, prefix, delimiter string, fn func(*listResult)) error {
	token := ""
	for {
		q := url.Values{"list-type": {"2"}, "prefix": {prefix}}
		if delimiter != "" {
			q.Set("delimiter", delimiter)
		}
		if token != "" {
			q.Set("continuation-token", token)
		}
		resp, err := s.do(ctx, http.MethodGet, "", q, nil, 0)
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			err := s3Error(resp, "list "+prefix)
			_ = resp.Body.Close()
			return err
		}
		var lr listResult
		err = xml.NewDecoder(resp.Body).Decode(&lr)
		_ = resp.Body.Close()
		if err != nil {
			return err
		}
		fn(&lr)
		if !lr.IsTruncated || lr.NextContinuationToken == "" {
			return nil
		}
		token = lr.NextContinuationToken
	}
}

// List implements Repo.
func (s *S3) List(ctx context.Context, rel string) ([]FileInfo, error) {
	prefix := s.key(rel)
	if prefix != "" {
		prefix += "/"
	}
	var out []FileInfo
	err := s.list(ctx, prefix, "/", func(lr *listResult) {
		for _, c := range lr.Contents {
			name := strings.TrimPrefix(c.Key, prefix)
			if name == "" {
				continue
			}
			out = append(out, FileInfo{Path: Join(rel, name), Size: c.Size})
		}
		for _, p := range lr.CommonPrefixes {
			name := strings.TrimSuffix(strings.TrimPrefix(p.Prefix, prefix), "/")
			if name != "" {
				out = append(out, FileInfo{Path: Join(rel, name), IsDir: true})
			}
		}
	})
	sortInfos(out)
	return out, err
}

// Delete implements Repo: the object itself and every object below it.
func (s *S3) Delete(ctx context.Context, rel string) error {
	if rel == "" {
		return badPath(rel)
	}
	key := s.key(rel)
	keys := []string{key}
	if err := s.list(ctx, key+"/", "", func(lr *listResult) {
		for _, c := range lr.Contents {
			keys = append(keys, c.Key)
		}
	}); err != nil {
		return err
	}
	for _, k := range keys {
		resp, err := s.do(ctx, http.MethodDelete, k, nil, nil, 0)
		if err != nil {
			return err
		}
		_ = resp.Body.Close()
		if resp.StatusCode/100 != 2 && resp.StatusCode != http.StatusNotFound {
			return fmt.Errorf("s3 delete %s: %s", path.Base(k), strconv.Itoa(resp.StatusCode))
		}
	}
	return nil
}

var _ Repo = (*S3)(nil)
