//go:build integration

package artifacts

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startMoto runs a real moto S3 server from the test venv on a free port.
func startMoto(t *testing.T) string {
	t.Helper()
	py := os.Getenv("MLGATE_TEST_PYTHON")
	if py == "" {
		t.Fatal("MLGATE_TEST_PYTHON is not set: run the tests with `make gotest`, which provides the venv with moto")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	cmd := exec.Command(filepath.Join(filepath.Dir(py), "moto_server"), "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start moto_server: %v", err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	})
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(url + "/moto-api/")
		if err == nil {
			_ = resp.Body.Close()
			return url
		}
		if time.Now().After(deadline) {
			t.Fatalf("moto_server not ready: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestS3AgainstMoto(t *testing.T) {
	url := startMoto(t)
	ctx := context.Background()
	o := S3Options{EndpointURL: url, AccessKeyID: "testing", SecretAccessKey: "testing", Region: "us-east-1"}
	s, err := NewS3(o, "bucket", "root/prefix")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := s.do(ctx, http.MethodPut, "", nil, nil, 0) // create the bucket
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("create bucket: %v %v", resp, err)
	}
	_ = resp.Body.Close()
	big := strings.Repeat("0123456789", 200_000)
	for rel, body := range map[string]string{"a.txt": "hello", "dir/b.txt": "world", "dir/sub/c +x.bin": big} {
		if err := s.Put(ctx, rel, strings.NewReader(body), int64(len(body))); err != nil {
			t.Fatalf("put %s: %v", rel, err)
		}
	}
	rc, size, err := s.Open(ctx, "dir/sub/c +x.bin")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	_ = rc.Close()
	if string(b) != big || size != int64(len(big)) {
		t.Fatalf("read back %d bytes (size %d), want %d", len(b), size, len(big))
	}
	ls, err := s.List(ctx, "")
	if err != nil || fmt.Sprint(ls) != "[{a.txt false 5} {dir true 0}]" {
		t.Fatalf("list root %v %v", ls, err)
	}
	ls, err = s.List(ctx, "dir")
	if err != nil || fmt.Sprint(ls) != "[{dir/b.txt false 5} {dir/sub true 0}]" {
		t.Fatalf("list dir %v %v", ls, err)
	}
	if _, _, err := s.Open(ctx, "missing"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing: %v", err)
	}
	if err := s.Delete(ctx, "dir"); err != nil {
		t.Fatal(err)
	}
	ls, _ = s.List(ctx, "")
	if fmt.Sprint(ls) != "[{a.txt false 5}]" {
		t.Fatalf("after delete %v", ls)
	}
	// through the resolver, as a run's s3:// artifact root
	r := &Resolver{S3: func(bucket, prefix string) (Repo, error) { return NewS3(o, bucket, prefix) }}
	repo, err := r.Resolve("s3://bucket/root")
	if err != nil {
		t.Fatal(err)
	}
	ls, err = repo.List(ctx, "prefix")
	if err != nil || len(ls) != 1 || ls[0].Path != "prefix/a.txt" {
		t.Fatalf("resolved list %v %v", ls, err)
	}
	if _, err := r.Resolve("s3://bucket/../x"); err == nil {
		t.Fatal("s3 traversal accepted")
	}
}
