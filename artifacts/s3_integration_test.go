//go:build integration

package artifacts

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"golang.org/x/sync/errgroup"

	"github.com/mlgate/mlgate/rest/resttest"
)

func TestS3Conformance(t *testing.T) {
	m := startMoto(t)
	m.createBucket(t, "conf")
	t.Run("prefix", func(t *testing.T) { testRepo(t, m.open(t, "s3://conf/exp/1/artifacts", m.options())) })
	t.Run("bucket-root", func(t *testing.T) {
		m.createBucket(t, "conf-root")
		testRepo(t, m.open(t, "s3://conf-root", m.options()))
	})
}

// TestS3ListAndDeletePaginate lists and deletes more keys than one S3 page
// (1000) holds, and leaves a sibling prefix alone.
func TestS3ListAndDeletePaginate(t *testing.T) {
	m := startMoto(t)
	m.createBucket(t, "many")
	r := m.open(t, "s3://many/run", m.options())
	ctx := context.Background()
	const n = 1100
	var g errgroup.Group
	g.SetLimit(8)
	for i := range n {
		g.Go(func() error { return r.Put(ctx, fmt.Sprintf("dir/f%04d", i), strings.NewReader("x"), 1) })
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	if err := r.Put(ctx, "dir2/keep.txt", strings.NewReader("keep"), 4); err != nil {
		t.Fatal(err)
	}
	es, err := r.List(ctx, "dir")
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != n || es[0].Path != "dir/f0000" || es[n-1].Path != "dir/f1099" || es[n-1].Size != 1 {
		t.Fatalf("list: %d entries, first %v last %v", len(es), es[0], es[len(es)-1])
	}
	if err := r.Delete(ctx, "dir"); err != nil {
		t.Fatal(err)
	}
	if got := m.keys(t, "many"); !slices.Equal(got, []string{"run/dir2/keep.txt"}) {
		t.Fatalf("after delete dir, bucket holds %d keys: %.5v", len(got), got)
	}
}

// TestS3Credentials runs with moto checking credentials (IAM auth on):
// only the IAM user's keys and the role's session work, and each way of
// the SDK's default chain finds them.
func TestS3Credentials(t *testing.T) {
	m := startMoto(t)
	iam := m.enableAuth(t, "creds")
	ctx := context.Background()
	// roundTrip opens with what the environment says, as the server does.
	roundTrip := func(t *testing.T, name string) *s3Repo {
		t.Helper()
		o := s3FromEnv(os.Getenv)
		r := m.open(t, "s3://creds/"+name, o)
		if err := r.Put(ctx, "f.txt", strings.NewReader(name), int64(len(name))); err != nil {
			t.Fatalf("put: %v", err)
		}
		rc, _, err := r.Open(ctx, "f.txt")
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		b, _ := io.ReadAll(rc)
		_ = rc.Close()
		if string(b) != name {
			t.Fatalf("read %q", b)
		}
		return r
	}
	t.Run("env", func(t *testing.T) {
		t.Setenv("AWS_ACCESS_KEY_ID", iam.Key)
		t.Setenv("AWS_SECRET_ACCESS_KEY", iam.Secret)
		roundTrip(t, "env")
	})
	t.Run("profile", func(t *testing.T) {
		dir := t.TempDir()
		cfg, creds := filepath.Join(dir, "config"), filepath.Join(dir, "credentials")
		writeFile(t, cfg, "[default]\nregion = eu-west-3\n\n[profile ci]\nregion = us-east-1\n")
		writeFile(t, creds, "[default]\naws_access_key_id = AKIADEFAULTWRONG\naws_secret_access_key = wrong\n\n"+
			"[ci]\naws_access_key_id = "+iam.Key+"\naws_secret_access_key = "+iam.Secret+"\n")
		t.Setenv("AWS_CONFIG_FILE", cfg)
		t.Setenv("AWS_SHARED_CREDENTIALS_FILE", creds)
		t.Setenv("AWS_REGION", "")
		t.Setenv("AWS_PROFILE", "ci")
		roundTrip(t, "profile")
	})
	t.Run("web-identity", func(t *testing.T) {
		token := filepath.Join(t.TempDir(), "token")
		writeFile(t, token, "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6bWw6bWxnYXRlIn0.c2ln")
		t.Setenv("AWS_WEB_IDENTITY_TOKEN_FILE", token)
		t.Setenv("AWS_ROLE_ARN", iam.Role)
		t.Setenv("AWS_ROLE_SESSION_NAME", "mlgate-test")
		t.Setenv("AWS_ENDPOINT_URL_STS", m.URL)
		m.authAfter(t, 1) // the AssumeRoleWithWebIdentity call; the S3 calls after it are checked
		r := roundTrip(t, "web-identity")
		got, err := r.client.Options().Credentials.Retrieve(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got.Source != "WebIdentityCredentials" || got.AccessKeyID == iam.Key || got.SessionToken == "" {
			t.Fatalf("credentials from %q (key %s, token %t): want the role's session from STS", got.Source, got.AccessKeyID, got.SessionToken != "")
		}
	})
	t.Run("none", func(t *testing.T) {
		r := m.open(t, "s3://creds/none", s3FromEnv(os.Getenv))
		_, err := r.List(ctx, "")
		assertStoreErr(t, err, ErrPermission, "s3://creds/none")
		if !strings.Contains(err.Error(), "no usable AWS credentials") {
			t.Errorf("message %q does not say credentials are missing", err)
		}
	})
	t.Run("wrong-keys", func(t *testing.T) {
		// An unknown key and a wrong secret are MLflow's UNAUTHENTICATED
		// (its S3 repository maps InvalidAccessKeyId and
		// SignatureDoesNotMatch so), still a refusal (ErrPermission).
		t.Setenv("AWS_ACCESS_KEY_ID", "AKIAWRONGWRONGWRONG1")
		t.Setenv("AWS_SECRET_ACCESS_KEY", "wrong")
		r := m.open(t, "s3://creds/wrong", s3FromEnv(os.Getenv))
		_, err := r.List(ctx, "")
		assertStoreErr(t, err, ErrUnauthenticated, "s3://creds/wrong")
		err = r.Put(ctx, "f.txt", strings.NewReader("x"), 1)
		assertStoreErr(t, err, ErrUnauthenticated, "s3://creds/wrong")
		if !errors.Is(err, ErrPermission) || errorCode(err) != "UNAUTHENTICATED" {
			t.Errorf("put with an unknown key: %v (%s), want UNAUTHENTICATED matching ErrPermission", err, errorCode(err))
		}
		t.Setenv("AWS_ACCESS_KEY_ID", iam.Key) // right key, wrong secret
		r = m.open(t, "s3://creds/wrong", s3FromEnv(os.Getenv))
		_, _, err = r.Open(ctx, "f.txt")
		assertStoreErr(t, err, ErrUnauthenticated, "s3://creds/wrong")
		if errorCode(err) != "UNAUTHENTICATED" {
			t.Errorf("open with a wrong secret: %s", errorCode(err))
		}
	})
}

func writeFile(t *testing.T, name, body string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

// assertStoreErr checks err is a *StoreError matching want whose message
// names the store.
func assertStoreErr(t *testing.T, err, want error, store string) {
	t.Helper()
	var se *StoreError
	if !errors.Is(err, want) || !errors.As(err, &se) || !strings.Contains(err.Error(), store) {
		t.Fatalf("error %v: want a *StoreError matching %q naming %s", err, want, store)
	}
}

func errorCode(err error) string {
	var se *StoreError
	if !errors.As(err, &se) {
		return ""
	}
	return se.ErrorCode()
}

func TestS3UploadExtraArgs(t *testing.T) {
	m := startMoto(t)
	m.createBucket(t, "extra")
	ctx := context.Background()
	env := map[string]string{
		"MLFLOW_S3_ENDPOINT_URL": m.URL, "AWS_ACCESS_KEY_ID": motoKeys, "AWS_SECRET_ACCESS_KEY": motoKeys,
		"MLFLOW_S3_UPLOAD_EXTRA_ARGS": `{"ContentType": "application/x-mlgate", "Metadata": {"team": "ml"},
			"CacheControl": "no-cache", "ServerSideEncryption": "AES256", "StorageClass": "STANDARD_IA"}`,
	}
	opts := FromEnv(func(k string) string { return env[k] })
	r, err := Open(ctx, "s3://extra/with", opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Put(ctx, "model.json", strings.NewReader("{}"), 2); err != nil {
		t.Fatal(err)
	}
	head := func(key string) *s3.HeadObjectOutput {
		t.Helper()
		h, err := m.admin(t).HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("extra"), Key: aws.String(key)})
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	h := head("with/model.json")
	if aws.ToString(h.ContentType) != "application/x-mlgate" || h.Metadata["team"] != "ml" ||
		aws.ToString(h.CacheControl) != "no-cache" || h.ServerSideEncryption != "AES256" || h.StorageClass != "STANDARD_IA" {
		t.Fatalf("head: type %q metadata %v cache %q sse %q class %q", aws.ToString(h.ContentType), h.Metadata,
			aws.ToString(h.CacheControl), h.ServerSideEncryption, h.StorageClass)
	}
	// Without extra args the type and encoding are guessed from the name.
	plain := m.open(t, "s3://extra/plain", m.options())
	if err := plain.Put(ctx, "model.json.gz", strings.NewReader("gz"), 2); err != nil {
		t.Fatal(err)
	}
	if h := head("plain/model.json.gz"); aws.ToString(h.ContentType) != "application/json" || aws.ToString(h.ContentEncoding) != "gzip" {
		t.Fatalf("guessed type %q encoding %q", aws.ToString(h.ContentType), aws.ToString(h.ContentEncoding))
	}
	for raw, want := range map[string]string{
		`{"ContentType": "text/plain", "Bogus": 1}`: `key "Bogus"`,
		`{"Metadata": "not-an-object"}`:             "Metadata",
		`[1, 2]`:                                    "not a JSON object",
	} {
		env["MLFLOW_S3_UPLOAD_EXTRA_ARGS"] = raw
		_, err := Open(ctx, "s3://extra/bad", FromEnv(func(k string) string { return env[k] }))
		if err == nil || !strings.Contains(err.Error(), "MLFLOW_S3_UPLOAD_EXTRA_ARGS") || !strings.Contains(err.Error(), want) {
			t.Errorf("extra args %s: open error %v, want one naming %s", raw, err, want)
		}
	}
}

func TestS3Errors(t *testing.T) {
	m := startMoto(t)
	ctx := context.Background()
	t.Run("missing-bucket", func(t *testing.T) {
		r := m.open(t, "s3://no-such-bucket/p", m.options())
		_, err := r.List(ctx, "")
		assertStoreErr(t, err, ErrNotFound, "s3://no-such-bucket/p")
		_, _, err = r.Open(ctx, "a.txt")
		assertStoreErr(t, err, ErrNotFound, "s3://no-such-bucket/p")
		err = r.Put(ctx, "a.txt", strings.NewReader("x"), 1)
		assertStoreErr(t, err, ErrNotFound, "s3://no-such-bucket/p")
		assertStoreErr(t, r.Delete(ctx, "a.txt"), ErrNotFound, "s3://no-such-bucket/p")
		if code := errorCode(err); code != "RESOURCE_DOES_NOT_EXIST" {
			t.Errorf("error code %s", code)
		}
	})
	t.Run("store-down", func(t *testing.T) {
		o := m.options()
		closed := "http://127.0.0.1:" + strconv.Itoa(resttest.FreePort(t))
		r, err := Open(ctx, "s3://bucket/p", Options{S3: S3Options{EndpointURL: closed, AccessKeyID: o.AccessKeyID, SecretAccessKey: o.SecretAccessKey}})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		_, err = r.List(ctx, "")
		assertStoreErr(t, err, ErrUnavailable, "s3://bucket/p")
		err = r.Put(ctx, "a.txt", strings.NewReader("x"), 1)
		assertStoreErr(t, err, ErrUnavailable, "s3://bucket/p")
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("two operations on a closed port took %v", d)
		}
		if code := errorCode(err); code != "TEMPORARILY_UNAVAILABLE" {
			t.Errorf("error code %s", code)
		}
	})
	t.Run("failed-put-leaves-nothing", func(t *testing.T) {
		m.createBucket(t, "half")
		r := m.open(t, "s3://half/p", m.options())
		for _, c := range []struct {
			name        string
			good, size  int64
			wantUploads bool
		}{
			{"small", 1000, -1, false},
			{"multipart", 40 << 20, -1, true},
			{"multipart-sized", 40 << 20, 100 << 20, true},
		} {
			body := io.MultiReader(io.LimitReader(newPRNG(1), c.good), &failingReader{})
			err := r.Put(ctx, c.name+".bin", body, c.size)
			if !errors.Is(err, errReaderBroke) {
				t.Errorf("%s: put error %v, want the reader's", c.name, err)
			}
		}
		// A body shorter or longer than its declared size is refused too.
		if err := r.Put(ctx, "short.bin", strings.NewReader("12345"), 10); err == nil {
			t.Error("a short body was stored")
		}
		if err := r.Put(ctx, "long.bin", strings.NewReader("12345"), 3); err == nil {
			t.Error("a long body was stored")
		}
		if got := m.keys(t, "half"); len(got) != 0 {
			t.Fatalf("failed puts left %v", got)
		}
		ups, err := m.admin(t).ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String("half")})
		if err != nil {
			t.Fatal(err)
		}
		if len(ups.Uploads) != 0 {
			t.Fatalf("%d multipart uploads left open", len(ups.Uploads))
		}
	})
}

// TestS3TraversalNeverReachesBucket tries every bad path (and encoded and
// backslashed forms) on every operation, then checks the bucket holds
// exactly what it held: nothing was written, read or deleted outside the
// repo's prefix.
func TestS3TraversalNeverReachesBucket(t *testing.T) {
	m := startMoto(t)
	m.createBucket(t, "trav")
	admin := m.admin(t)
	for _, k := range traversalSeed {
		if _, err := admin.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String("trav"), Key: aws.String(k), Body: strings.NewReader("seed")}); err != nil {
			t.Fatal(err)
		}
	}
	testTraversal(t, m.open(t, "s3://trav/root/sub", m.options()), func() []string { return m.keys(t, "trav") })
}

// newPRNG is a seeded stream of pseudo-random bytes.
func newPRNG(seed byte) io.Reader {
	var key [32]byte
	key[0] = seed
	return rand.NewChaCha8(key)
}
