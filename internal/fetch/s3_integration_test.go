//go:build integration

package fetch

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/mlgate/mlgate/rest/resttest"
)

// TestS3AgainstMoto uploads a model folder with boto3 to a moto S3 server on
// loopback, then lists and downloads it with the Go S3 repository, and
// writes a file back with Put that boto3 reads.
func TestS3AgainstMoto(t *testing.T) {
	py := resttest.Python(t)
	port := resttest.FreePort(t)
	endpoint := "http://127.0.0.1:" + strconv.Itoa(port)
	cmd := exec.Command(filepath.Join(filepath.Dir(py), "moto_server"), "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); _ = cmd.Wait() })
	deadline := time.Now().Add(120 * time.Second)
	for {
		res, err := http.Get(endpoint)
		if err == nil {
			_ = res.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("moto_server did not start")
		}
		time.Sleep(200 * time.Millisecond)
	}
	env := append(os.Environ(), "AWS_ACCESS_KEY_ID=testing", "AWS_SECRET_ACCESS_KEY=testing", "AWS_DEFAULT_REGION=us-east-1")
	up := exec.Command(py, "-c", `
import boto3, sys
s3 = boto3.client("s3", endpoint_url=sys.argv[1])
s3.create_bucket(Bucket="models")
for k, v in {"MLmodel": b"flavors: {}\n", "model.onnx": b"x" * 70000, "sub/a b.txt": b"spaces", "sub/deep/c.json": b"{}"}.items():
    s3.put_object(Bucket="models", Key="exp/1/model/" + k, Body=v)
s3.put_object(Bucket="models", Key="exp/1/modelX/other", Body=b"no")
`, endpoint)
	up.Env = env
	if out, err := up.CombinedOutput(); err != nil {
		t.Fatalf("boto3 upload: %v\n%s", err, out)
	}
	cfg := S3Config{EndpointURL: endpoint, Region: "us-east-1", AccessKeyID: "testing", SecretAccessKey: "testing"}
	repo, err := OpenRepo("s3://models/exp/1/model", Options{S3: cfg})
	if err != nil {
		t.Fatal(err)
	}
	dir, err := (&Cache{Dir: t.TempDir()}).Fetch(context.Background(), repo, "", DownloadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"MLmodel": 12, "model.onnx": 70000, "sub/a b.txt": 6, "sub/deep/c.json": 2}
	for rel, size := range want {
		st, err := os.Stat(filepath.Join(dir, rel))
		if err != nil || st.Size() != int64(size) {
			t.Fatalf("%s: %v %v", rel, st, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "other")); err == nil {
		t.Fatal("a sibling prefix leaked into the download")
	}
	body := "written by go"
	err = repo.Put(context.Background(), "notes/go.txt", func() (ioReadCloser, error) { return nopCloser(body), nil }, int64(len(body)))
	if err != nil {
		t.Fatal(err)
	}
	get := exec.Command(py, "-c", `
import boto3, sys
print(boto3.client("s3", endpoint_url=sys.argv[1]).get_object(Bucket="models", Key="exp/1/model/notes/go.txt")["Body"].read().decode(), end="")
`, endpoint)
	get.Env = env
	out, err := get.Output()
	if err != nil || string(out) != body {
		t.Fatalf("boto3 read back %q %v", out, err)
	}
	fmt.Println("s3 ok")
}
