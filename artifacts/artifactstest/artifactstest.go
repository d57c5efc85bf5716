// Package artifactstest starts the emulated artifact stores that the tests
// of package artifacts, and of the commands that use it, run against: a
// fake Google Cloud Storage server in-process, and Azurite (the Azure
// Storage emulator) from MLGATE_TEST_AZURITE, both on 127.0.0.1.
package artifactstest

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"
	"github.com/fsouza/fake-gcs-server/fakestorage"

	"github.com/mlgate/mlgate/internal/procutil"
	"github.com/mlgate/mlgate/rest/resttest"
)

// Bucket is the bucket (GCS) and the container (Azurite) the stores start
// with.
const Bucket = "mlgate"

// Azurite's well-known development account.
const (
	AzuriteAccount = "devstoreaccount1"
	AzuriteKey     = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// GCS starts a fake GCS server over plain HTTP on 127.0.0.1 with the
// bucket Bucket, stopped when the test ends. host is its host:port, the
// value of STORAGE_EMULATOR_HOST.
func GCS(t testing.TB) (srv *fakestorage.Server, host string) {
	t.Helper()
	srv, err := fakestorage.NewServerWithOptions(fakestorage.Options{Scheme: "http", Host: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	srv.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: Bucket})
	return srv, strings.TrimPrefix(srv.URL(), "http://")
}

// AzuriteBin returns MLGATE_TEST_AZURITE (the azurite-blob program that
// scripts/azurite.sh installs and prints) or fails the test.
func AzuriteBin(t testing.TB) string {
	t.Helper()
	bin := os.Getenv("MLGATE_TEST_AZURITE")
	if bin == "" {
		t.Fatal("MLGATE_TEST_AZURITE is not set: it must name the azurite-blob program that scripts/azurite.sh installs (make test sets it)")
	}
	return bin
}

// AzuriteConn is a connection string for Azurite's account at a blob
// endpoint, signed with key.
func AzuriteConn(endpoint, key string) string {
	return fmt.Sprintf("DefaultEndpointsProtocol=http;AccountName=%s;AccountKey=%s;BlobEndpoint=%s;", AzuriteAccount, key, endpoint)
}

// Azurite starts azurite-blob on a free loopback port with a temporary
// workspace (no telemetry), stopped when the test ends, creates the
// container Bucket, and returns the blob endpoint,
// http://127.0.0.1:port/devstoreaccount1.
func Azurite(t testing.TB) string {
	t.Helper()
	bin := AzuriteBin(t)
	port := resttest.FreePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	p, err := procutil.Start(context.Background(), procutil.Config{Path: bin, Args: []string{
		"--blobHost", "127.0.0.1", "--blobPort", fmt.Sprint(port), "--location", t.TempDir(),
		"--silent", "--skipApiVersionCheck", "--disableTelemetry"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop(context.Background()) })
	ready := make(chan error, 1)
	go func() {
		for !p.Exited() {
			if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
				_ = c.Close()
				ready <- nil
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	if err := p.WaitReady(context.Background(), time.Minute, ready); err != nil {
		t.Fatalf("azurite-blob: %v", err)
	}
	endpoint := "http://" + addr + "/" + AzuriteAccount
	svc, err := service.NewClientFromConnectionString(AzuriteConn(endpoint, AzuriteKey), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateContainer(context.Background(), Bucket, nil); err != nil {
		t.Fatalf("create the container %s: %v", Bucket, err)
	}
	return endpoint
}
