package artifacts

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// isolateAWSEnv hides the machine's AWS settings from the SDK's default
// chain (no keys, no ~/.aws files) and keeps it off the EC2 metadata
// address: a test reaches loopback only.
func isolateAWSEnv(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_CONFIG_FILE": filepath.Join(dir, "none-config"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "none-credentials"),
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "",
		"AWS_PROFILE": "", "AWS_DEFAULT_PROFILE": "", "AWS_WEB_IDENTITY_TOKEN_FILE": "", "AWS_ROLE_ARN": "",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "", "AWS_CONTAINER_CREDENTIALS_FULL_URI": "",
		"AWS_ENDPOINT_URL": "", "AWS_ENDPOINT_URL_STS": "", "AWS_ENDPOINT_URL_S3": "", "AWS_REGION": "us-east-1",
	} {
		t.Setenv(k, v)
	}
}

func TestS3FromEnv(t *testing.T) {
	env := map[string]string{
		"MLFLOW_S3_ENDPOINT_URL": "http://minio:9000", "MLFLOW_S3_IGNORE_TLS": "True", "AWS_DEFAULT_REGION": "eu-west-1",
		"AWS_PROFILE": "ci", "AWS_ACCESS_KEY_ID": "AKIA1", "AWS_SECRET_ACCESS_KEY": "s", "AWS_SESSION_TOKEN": "tok",
		"MLFLOW_S3_UPLOAD_EXTRA_ARGS": `{"ACL":"private"}`, "MLFLOW_BOTO_CLIENT_ADDRESSING_STYLE": "path",
		"MLFLOW_S3_EXPECTED_BUCKET_OWNER": "123456789012", "MLFLOW_EXPERIMENTAL_S3_SIGNATURE_VERSION": "UNSIGNED",
	}
	got := s3FromEnv(func(k string) string { return env[k] })
	want := S3Options{EndpointURL: "http://minio:9000", IgnoreTLS: true, Region: "eu-west-1", Profile: "ci",
		AccessKeyID: "AKIA1", SecretAccessKey: "s", SessionToken: "tok", Anonymous: true, AddressingStyle: "path",
		UploadExtraArgs: `{"ACL":"private"}`, ExpectedBucketOwner: "123456789012"}
	if got != want {
		t.Fatalf("s3FromEnv = %+v\nwant %+v", got, want)
	}
	env["AWS_REGION"], env["MLFLOW_S3_IGNORE_TLS"] = "us-west-2", "false"
	if got := s3FromEnv(func(k string) string { return env[k] }); got.Region != "us-west-2" || got.IgnoreTLS {
		t.Fatalf("AWS_REGION first, IGNORE_TLS false: %+v", got)
	}
	if got := s3FromEnv(func(string) string { return "" }); got != (S3Options{}) {
		t.Fatalf("empty environment: %+v, want the zero value (the SDK's chain)", got)
	}
}

func TestParseUploadExtraArgs(t *testing.T) {
	apply, err := parseUploadExtraArgs(`{"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": "key-1", "ACL": "bucket-owner-full-control",
		"ContentType": "text/x-model", "ContentEncoding": "gzip", "CacheControl": "max-age=60", "StorageClass": "GLACIER_IR",
		"Metadata": {"a": "1"}, "BucketKeyEnabled": true, "Expires": "2030-01-02T03:04:05Z"}`)
	if err != nil {
		t.Fatal(err)
	}
	var in transfermanager.UploadObjectInput
	apply(&in)
	if in.ServerSideEncryption != "aws:kms" || aws.ToString(in.SSEKMSKeyID) != "key-1" || in.ACL != "bucket-owner-full-control" ||
		aws.ToString(in.ContentType) != "text/x-model" || aws.ToString(in.ContentEncoding) != "gzip" ||
		aws.ToString(in.CacheControl) != "max-age=60" || in.StorageClass != "GLACIER_IR" || in.Metadata["a"] != "1" ||
		!aws.ToBool(in.BucketKeyEnabled) || in.Expires == nil || in.Expires.Year() != 2030 {
		t.Fatalf("applied: %+v", in)
	}
	for raw, want := range map[string]error{
		`{"Bogus": "x"}`:                ErrNotSupported,
		`{"SSECustomerKey": "x"}`:       ErrNotSupported,
		`{"ACL": 3}`:                    nil,
		`{"Metadata": {"a": 1}}`:        nil,
		`{"BucketKeyEnabled": "true"}`:  nil,
		`{"Expires": "tomorrow"}`:       nil,
		`"ServerSideEncryption=AES256"`: nil,
	} {
		_, err := parseUploadExtraArgs(raw)
		if err == nil || !strings.Contains(err.Error(), "MLFLOW_S3_UPLOAD_EXTRA_ARGS") || (want != nil && !errors.Is(err, want)) {
			t.Errorf("%s: %v", raw, err)
		}
	}
	if apply, err := parseUploadExtraArgs("  "); err != nil || apply == nil {
		t.Errorf("empty: %v", err)
	}
}

func TestGuessContentType(t *testing.T) {
	for name, want := range map[string][2]string{
		"MLmodel": {"", ""}, "a/model.json": {"application/json", ""}, "m.json.gz": {"application/json", "gzip"},
		"index.html": {"text/html", ""}, "blob.bz2": {"", "bzip2"}, "x.png": {"image/png", ""},
	} {
		ct, enc := guessContentType(name)
		if aws.ToString(ct) != want[0] || aws.ToString(enc) != want[1] {
			t.Errorf("%s: %q %q, want %q", name, aws.ToString(ct), aws.ToString(enc), want)
		}
	}
}

func TestSizedReader(t *testing.T) {
	for _, c := range []struct {
		body string
		want int64
		ok   bool
	}{{"12345", 5, true}, {"12345", -1, true}, {"12345", 6, false}, {"12345", 4, false}, {"", 0, true}} {
		_, err := io.ReadAll(&sizedReader{r: strings.NewReader(c.body), want: c.want})
		if (err == nil) != c.ok {
			t.Errorf("%q declared %d: %v", c.body, c.want, err)
		}
	}
}

func TestS3ErrMapping(t *testing.T) {
	resp := func(code int) error {
		return &awshttp.ResponseError{ResponseError: &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: &http.Response{StatusCode: code}}, Err: errors.New("no body")}}
	}
	for err, want := range map[error]error{
		&smithy.GenericAPIError{Code: "NoSuchKey"}:                                                         ErrNotFound,
		&smithy.GenericAPIError{Code: "NoSuchBucket"}:                                                      ErrNotFound,
		&smithy.GenericAPIError{Code: "AccessDenied"}:                                                      ErrPermission,
		&smithy.GenericAPIError{Code: "InvalidAccessKeyId"}:                                                ErrUnauthenticated,
		&smithy.GenericAPIError{Code: "SignatureDoesNotMatch"}:                                             ErrUnauthenticated,
		&smithy.GenericAPIError{Code: "ExpiredToken"}:                                                      ErrPermission,
		&smithy.GenericAPIError{Code: "SlowDown"}:                                                          ErrUnavailable,
		resp(http.StatusNotFound):                                                                          ErrNotFound,
		resp(http.StatusForbidden):                                                                         ErrPermission,
		resp(http.StatusServiceUnavailable):                                                                ErrUnavailable,
		&smithyhttp.RequestSendError{Err: &net.OpError{Op: "dial", Err: errors.New("connection refused")}}: ErrUnavailable,
		&net.DNSError{Err: "no such host", Name: "minio"}:                                                  ErrUnavailable,
		&smithy.OperationError{ServiceID: "S3", OperationName: "GetObject", Err: &smithy.GenericAPIError{Code: "NoSuchKey"}}: ErrNotFound,
		context.DeadlineExceeded: ErrUnavailable,
	} {
		if got := s3Err(err); !errors.Is(got, want) || !errors.Is(got, err) {
			t.Errorf("%v -> %v, want %v wrapping the cause", err, got, want)
		}
	}
	for code, want := range map[string]string{"InvalidAccessKeyId": "UNAUTHENTICATED", "SignatureDoesNotMatch": "UNAUTHENTICATED",
		"AccessDenied": "PERMISSION_DENIED", "NoSuchKey": "RESOURCE_DOES_NOT_EXIST"} { // MLflow's BOTO_TO_MLFLOW_ERROR
		se := &StoreError{Store: "s3://b", Op: "open", Path: "k", Err: s3Err(&smithy.GenericAPIError{Code: code})}
		if got := se.ErrorCode(); got != want {
			t.Errorf("%s answers %s, want %s", code, got, want)
		}
	}
	plain := &smithy.GenericAPIError{Code: "InvalidArgument"}
	if got := s3Err(plain); got != plain { //nolint:errorlint // the same value back
		t.Errorf("an unknown code became %v", got)
	}
}

// fakeS3 answers ListObjectsV2 with an empty page over TLS with a
// self-signed certificate, and records the request paths.
func fakeS3(t *testing.T) (*httptest.Server, func() []string) {
	var mu sync.Mutex
	var paths []string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.Path)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/xml")
		_, _ = io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>b</Name><IsTruncated>false</IsTruncated></ListBucketResult>`)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), paths...) }
}

func TestS3IgnoreTLSAndPathStyle(t *testing.T) {
	isolateAWSEnv(t)
	srv, paths := fakeS3(t)
	ctx := context.Background()
	open := func(o S3Options) Repo {
		if o.EndpointURL == "" {
			o.EndpointURL = srv.URL
		}
		o.AccessKeyID, o.SecretAccessKey = "k", "s"
		r, err := Open(ctx, "s3://bkt/pre/fix", Options{S3: o})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if _, err := open(S3Options{}).List(ctx, "d"); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("a self-signed certificate was accepted without MLFLOW_S3_IGNORE_TLS: %v", err)
	}
	if es, err := open(S3Options{IgnoreTLS: true}).List(ctx, "d"); err != nil || len(es) != 0 {
		t.Fatalf("with IgnoreTLS: %v %v", es, err)
	}
	// An endpoint with a base path (a gateway) keeps it.
	if _, err := open(S3Options{IgnoreTLS: true, EndpointURL: srv.URL + "/gw/"}).List(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if got := paths(); len(got) != 2 || got[0] != "/bkt" || got[1] != "/gw/bkt" {
		t.Fatalf("requests %q: want path-style requests to /bkt and /gw/bkt", got)
	}
}

func TestOpenS3Refuses(t *testing.T) {
	isolateAWSEnv(t)
	ctx := context.Background()
	for _, c := range []struct {
		uri  string
		o    S3Options
		want error
	}{
		{"s3:///key", S3Options{}, ErrBadPath},
		{"s3://b/a/../../x", S3Options{}, ErrBadPath},
		{"s3://b/%2e%2e/x", S3Options{}, ErrBadPath},
		{"s3://b/p", S3Options{AddressingStyle: "sideways"}, ErrNotSupported},
		{"s3://b/p", S3Options{EndpointURL: "minio:9000"}, ErrNotSupported},
		{"s3://b/p", S3Options{UploadExtraArgs: `{"Nope": 1}`}, ErrNotSupported},
	} {
		_, err := Open(ctx, c.uri, Options{S3: c.o})
		var se *StoreError
		if !errors.Is(err, c.want) || !errors.As(err, &se) || se.Store != c.uri {
			t.Errorf("open %s %+v: %v, want %v naming the store", c.uri, c.o, err, c.want)
		}
	}
	r, err := Open(ctx, "s3://b/p", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Put(ctx, "", strings.NewReader(""), 0); !errors.Is(err, ErrBadPath) {
		t.Errorf("put at the root: %v", err)
	}
	if _, err := r.(RangeOpener).OpenRange(ctx, "f", -1, 3); err == nil {
		t.Error("a negative offset was accepted")
	}
}
