//go:build integration

package artifacts

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"

	"github.com/mlgate/mlgate/artifacts/artifactstest"
	"github.com/mlgate/mlgate/rest/resttest"
)

func openAzureRepo(t *testing.T, uri string, opts AzureOptions) Repo {
	t.Helper()
	r, err := Open(context.Background(), uri, Options{Azure: opts})
	if err != nil {
		t.Fatalf("open %s: %v", uri, err)
	}
	return r
}

const wasbsRoot = "wasbs://mlgate@" + artifactstest.AzuriteAccount + ".blob.core.windows.net"

func TestAzure(t *testing.T) {
	endpoint := artifactstest.Azurite(t)
	conn := AzureOptions{ConnectionString: artifactstest.AzuriteConn(endpoint, artifactstest.AzuriteKey)}
	ctx := context.Background()

	t.Run("conformance, wasbs with a connection string", func(t *testing.T) {
		testRepo(t, openAzureRepo(t, wasbsRoot+"/experiments/1/abc/artifacts", conn))
	})
	t.Run("conformance, abfss with the account key", func(t *testing.T) {
		uri := "abfss://mlgate@" + artifactstest.AzuriteAccount + ".dfs.core.windows.net/lake/root"
		testRepo(t, openAzureRepo(t, uri, AzureOptions{AccessKey: artifactstest.AzuriteKey, Endpoint: endpoint}))
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
		for _, opts := range []AzureOptions{{ConnectionString: artifactstest.AzuriteConn(endpoint, bad)}, {AccessKey: bad, Endpoint: endpoint}} {
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
	t.Run("traversal never reaches the container", func(t *testing.T) {
		svc, err := service.NewClientFromConnectionString(conn.ConnectionString, nil)
		if err != nil {
			t.Fatal(err)
		}
		ctr := svc.NewContainerClient("mlgate")
		for _, k := range traversalSeed {
			if _, err := ctr.NewBlockBlobClient("trav/"+k).UploadBuffer(ctx, []byte("seed"), nil); err != nil {
				t.Fatal(err)
			}
		}
		testTraversal(t, openAzureRepo(t, wasbsRoot+"/trav/root/sub", conn), func() []string {
			var keys []string
			pager := ctr.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Prefix: new("trav/")})
			for pager.More() {
				page, err := pager.NextPage(ctx)
				if err != nil {
					t.Fatal(err)
				}
				for _, b := range page.Segment.BlobItems {
					keys = append(keys, strings.TrimPrefix(*b.Name, "trav/"))
				}
			}
			return keys
		})
	})
	t.Run("a missing container", func(t *testing.T) {
		uri := "wasbs://no-such-container@" + artifactstest.AzuriteAccount + ".blob.core.windows.net/p"
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
	artifactstest.AzuriteBin(t) // the same requirements as the other Azure tests
	endpoint := fmt.Sprintf("http://127.0.0.1:%d/%s", resttest.FreePort(t), artifactstest.AzuriteAccount)
	testDown(t, openAzureRepo(t, wasbsRoot+"/down", AzureOptions{ConnectionString: artifactstest.AzuriteConn(endpoint, artifactstest.AzuriteKey)}))
}
