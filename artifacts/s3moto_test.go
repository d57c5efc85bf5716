//go:build integration

package artifacts

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/mlgate/mlgate/rest/resttest"
)

// moto is a real moto server (S3, STS and IAM in one) from the test venv,
// on a loopback port, stopped when the test ends.
type moto struct {
	URL string
	py  string
}

// motoKeys are the keys every S3 test uses while moto checks no
// credentials (it accepts any until enableAuth).
const motoKeys = "testing"

func startMoto(t *testing.T) *moto {
	t.Helper()
	py := resttest.Python(t)
	port := strconv.Itoa(resttest.FreePort(t))
	cmd := exec.Command(filepath.Join(filepath.Dir(py), "moto_server"), "-H", "127.0.0.1", "-p", port)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	log, err := os.Create(filepath.Join(t.TempDir(), "moto.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start moto_server: %v", err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		_ = log.Close()
	})
	m := &moto{URL: "http://127.0.0.1:" + port, py: py}
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		res, err := http.Get(m.URL + "/moto-api/")
		if err == nil {
			_ = res.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("moto_server did not answer within 60 s: %v", err)
		}
	}
	isolateAWSEnv(t)
	return m
}

// options are S3Options for this moto with its default keys.
func (m *moto) options() S3Options {
	return S3Options{EndpointURL: m.URL, AccessKeyID: motoKeys, SecretAccessKey: motoKeys}
}

// open opens uri on this moto with o (the endpoint is filled in).
func (m *moto) open(t *testing.T, uri string, o S3Options) *s3Repo {
	t.Helper()
	o.EndpointURL = m.URL
	r, err := Open(context.Background(), uri, Options{S3: o})
	if err != nil {
		t.Fatalf("open %s: %v", uri, err)
	}
	return r.(*s3Repo)
}

// admin is an S3 client with the default keys, for the tests' own checks.
func (m *moto) admin(t *testing.T) *s3.Client {
	t.Helper()
	return m.open(t, "s3://admin", m.options()).client
}

func (m *moto) createBucket(t *testing.T, name string) {
	t.Helper()
	if _, err := m.admin(t).CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("create bucket %s: %v", name, err)
	}
}

// keys lists every key of a bucket.
func (m *moto) keys(t *testing.T, bucket string) []string {
	t.Helper()
	var out []string
	pages := s3.NewListObjectsV2Paginator(m.admin(t), &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(context.Background())
		if err != nil {
			t.Fatalf("list %s: %v", bucket, err)
		}
		for _, o := range page.Contents {
			out = append(out, aws.ToString(o.Key))
		}
	}
	sort.Strings(out)
	return out
}

// motoIAM are the credentials enableAuth made: an IAM user's keys and a
// role for web identity, both allowed s3:*.
type motoIAM struct {
	Key, Secret, Role string
}

// enableAuth creates the buckets, an IAM user and a role with boto3, then
// turns on moto's IAM checks: from then on only their credentials work.
func (m *moto) enableAuth(t *testing.T, buckets ...string) motoIAM {
	t.Helper()
	script := `
import boto3, json, sys
kw = dict(endpoint_url=sys.argv[1], aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
s3, iam = boto3.client("s3", **kw), boto3.client("iam", **kw)
for b in sys.argv[2:]:
    s3.create_bucket(Bucket=b)
allow = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})
iam.create_user(UserName="mlgate")
iam.put_user_policy(UserName="mlgate", PolicyName="s3", PolicyDocument=allow)
k = iam.create_access_key(UserName="mlgate")["AccessKey"]
trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
    "Principal": {"Federated": "arn:aws:iam::123456789012:oidc-provider/oidc.example"}}]})
role = iam.create_role(RoleName="irsa", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
iam.put_role_policy(RoleName="irsa", PolicyName="s3", PolicyDocument=allow)
print(json.dumps({"Key": k["AccessKeyId"], "Secret": k["SecretAccessKey"], "Role": role}))
`
	cmd := exec.Command(m.py, append([]string{"-c", script, m.URL}, buckets...)...)
	cmd.Env = []string{"AWS_EC2_METADATA_DISABLED=true"}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("moto IAM setup: %v\n%s", err, exitStderr(err))
	}
	var iam motoIAM
	if err := json.Unmarshal(out, &iam); err != nil {
		t.Fatalf("moto IAM setup printed %q: %v", out, err)
	}
	m.authAfter(t, 0)
	return iam
}

// authAfter lets the next n requests through unchecked and checks every
// one after them. STS's AssumeRoleWithWebIdentity is unsigned (the token is
// the proof), but moto's IAM check wants a signature on every request: a
// web-identity test lets exactly that first request through.
func (m *moto) authAfter(t *testing.T, n int) {
	t.Helper()
	res, err := http.Post(m.URL+"/moto-api/reset-auth", "text/plain", strings.NewReader(strconv.Itoa(n)))
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("set moto auth: %v %v", res, err)
	}
	_ = res.Body.Close()
}

func exitStderr(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(ee.Stderr)
	}
	return ""
}
