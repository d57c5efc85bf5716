//go:build integration

package artifacts

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"
	"github.com/mlgate/mlgate/internal/procutil"
)

// Azurite's well-known development account.
const (
	azuriteAccount = "devstoreaccount1"
	azuriteKey     = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// azuriteBin returns MLGATE_TEST_AZURITE (scripts/azurite.sh prints it) or
// fails the test.
func azuriteBin(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("MLGATE_TEST_AZURITE")
	if bin == "" {
		t.Fatal("MLGATE_TEST_AZURITE is not set: it must name the azurite-blob program that scripts/azurite.sh installs")
	}
	return bin
}

func azuriteConn(endpoint, key string) string {
	return fmt.Sprintf("DefaultEndpointsProtocol=http;AccountName=%s;AccountKey=%s;BlobEndpoint=%s;", azuriteAccount, key, endpoint)
}

// startAzurite starts azurite-blob on a free loopback port with a
// temporary workspace and returns its blob endpoint
// (http://127.0.0.1:port/devstoreaccount1), with a container "mlgate".
func startAzurite(t *testing.T) string {
	t.Helper()
	bin := azuriteBin(t)
	port := freePort(t)
	p, err := procutil.Start(context.Background(), procutil.Config{Path: bin, Args: []string{
		"--blobHost", "127.0.0.1", "--blobPort", fmt.Sprint(port), "--location", t.TempDir(),
		"--silent", "--skipApiVersionCheck", "--disableTelemetry"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop(context.Background()) })
	addr := fmt.Sprintf("127.0.0.1:%d", port)
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
	endpoint := "http://" + addr + "/" + azuriteAccount
	svc, err := service.NewClientFromConnectionString(azuriteConn(endpoint, azuriteKey), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateContainer(context.Background(), "mlgate", nil); err != nil {
		t.Fatalf("create the container: %v", err)
	}
	return endpoint
}

func openAzureRepo(t *testing.T, uri string, opts AzureOptions) Repo {
	t.Helper()
	r, err := Open(context.Background(), uri, Options{Azure: opts})
	if err != nil {
		t.Fatalf("open %s: %v", uri, err)
	}
	return r
}

const wasbsRoot = "wasbs://mlgate@" + azuriteAccount + ".blob.core.windows.net"

func TestAzure(t *testing.T) {
	endpoint := startAzurite(t)
	conn := AzureOptions{ConnectionString: azuriteConn(endpoint, azuriteKey)}
	ctx := context.Background()

	t.Run("conformance, wasbs with a connection string", func(t *testing.T) {
		testRepo(t, openAzureRepo(t, wasbsRoot+"/experiments/1/abc/artifacts", conn))
	})
	t.Run("conformance, abfss with the account key", func(t *testing.T) {
		uri := "abfss://mlgate@" + azuriteAccount + ".dfs.core.windows.net/lake/root"
		testRepo(t, openAzureRepo(t, uri, AzureOptions{AccessKey: azuriteKey, Endpoint: endpoint}))
	})
	t.Run("conformance, the container's root", func(t *testing.T) {
		testRepo(t, openAzureRepo(t, wasbsRoot, conn))
	})
	t.Run("listing pages", func(t *testing.T) {
		r := openAzureRepo(t, wasbsRoot+"/paged", conn)
		r.(*azureRepo).pageSize = 2
		for i := range 5 {
			if err := r.Put(ctx, fmt.Sprintf("f%d.txt", i), strings.NewReader("abc"), 3); err != nil {
				t.Fatal(err)
			}
			if err := r.Put(ctx, fmt.Sprintf("d%d/x", i), strings.NewReader("x"), 1); err != nil {
				t.Fatal(err)
			}
		}
		es, err := r.List(ctx, "")
		if want := "d0/ d1/ d2/ d3/ d4/ f0.txt:3 f1.txt:3 f2.txt:3 f3.txt:3 f4.txt:3"; err != nil || entriesString(es) != want {
			t.Errorf("paged listing = %q, %v; want %q", entriesString(es), err, want)
		}
		if err := r.Delete(ctx, ""); err != nil {
			t.Fatal(err)
		}
		if es, err := r.List(ctx, ""); err != nil || len(es) != 0 {
			t.Errorf("after deleting the root over pages: %q, %v", entriesString(es), err)
		}
	})
	t.Run("a big file in blocks, read in ranges", func(t *testing.T) {
		testBigFile(t, openAzureRepo(t, wasbsRoot+"/big", AzureOptions{ConnectionString: conn.ConnectionString, BlockSize: 1 << 20}), "model/weights.bin", 5<<20+123)
	})
	t.Run("a failed put commits nothing", func(t *testing.T) {
		r := openAzureRepo(t, wasbsRoot+"/failing", AzureOptions{ConnectionString: conn.ConnectionString, BlockSize: 1 << 20})
		testPutFails(t, r, "small.bin", 1000)
		testPutFails(t, r, "blocks.bin", 3<<20) // three blocks are staged before the reader fails
	})
	t.Run("a wrong account key", func(t *testing.T) {
		bad := base64.StdEncoding.EncodeToString([]byte("not the key of devstoreaccount1, not at all"))
		for _, opts := range []AzureOptions{{ConnectionString: azuriteConn(endpoint, bad)}, {AccessKey: bad, Endpoint: endpoint}} {
			r := openAzureRepo(t, wasbsRoot+"/denied", opts)
			_, err := r.List(ctx, "")
			if !errors.Is(err, ErrPermission) || !strings.Contains(err.Error(), wasbsRoot) {
				t.Errorf("list with a wrong key: %v, want ErrPermission naming the store", err)
			}
			if err := r.Put(ctx, "a.txt", strings.NewReader("a"), 1); !errors.Is(err, ErrPermission) {
				t.Errorf("put with a wrong key: %v, want ErrPermission", err)
			}
			if _, _, err := r.Open(ctx, "a.txt"); !errors.Is(err, ErrPermission) {
				t.Errorf("open with a wrong key: %v, want ErrPermission", err)
			}
		}
	})
	t.Run("a missing container", func(t *testing.T) {
		uri := "wasbs://no-such-container@" + azuriteAccount + ".blob.core.windows.net/p"
		r := openAzureRepo(t, uri, conn)
		if _, err := r.List(ctx, ""); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), uri) {
			t.Errorf("list in a missing container: %v, want ErrNotFound naming %s", err, uri)
		}
		if err := r.Put(ctx, "a.txt", strings.NewReader("a"), 1); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), uri) {
			t.Errorf("put in a missing container: %v, want ErrNotFound naming %s", err, uri)
		}
		if _, _, err := r.Open(ctx, "a.txt"); !errors.Is(err, ErrNotFound) {
			t.Errorf("open in a missing container: %v, want ErrNotFound", err)
		}
	})
}

func TestAzureDown(t *testing.T) {
	azuriteBin(t) // the same requirements as the other Azure tests
	endpoint := fmt.Sprintf("http://127.0.0.1:%d/%s", freePort(t), azuriteAccount)
	testDown(t, openAzureRepo(t, wasbsRoot+"/down", AzureOptions{ConnectionString: azuriteConn(endpoint, azuriteKey)}))
}
