//go:build integration

package main

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/mlgate/mlgate/artifacts"
	"github.com/mlgate/mlgate/artifacts/artifactstest"
	"github.com/mlgate/mlgate/rest/resttest"
)

// TestServerBackedByCloudStores has the real mlflow client log, list,
// download and delete artifacts through `mlgate server` whose artifact
// proxy stores them in a fake GCS bucket, then in Azurite, and checks
// what the store holds.
func TestServerBackedByCloudStores(t *testing.T) {
	py := resttest.Python(t)
	_, host := artifactstest.GCS(t)
	conn := artifactstest.AzuriteConn(artifactstest.Azurite(t), artifactstest.AzuriteKey)
	for _, c := range []struct {
		name, dest string
		env        map[string]string
		opts       artifacts.Options
	}{
		{"gs", "gs://mlgate/mlartifacts", map[string]string{"STORAGE_EMULATOR_HOST": host},
			artifacts.Options{GCS: artifacts.GCSOptions{EmulatorHost: host}}},
		{"wasbs", "wasbs://mlgate@" + artifactstest.AzuriteAccount + ".blob.core.windows.net/mlartifacts",
			map[string]string{"AZURE_STORAGE_CONNECTION_STRING": conn},
			artifacts.Options{Azure: artifacts.AzureOptions{ConnectionString: conn}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			port := resttest.FreePort(t)
			base := fmt.Sprintf("http://127.0.0.1:%d", port)
			db := "sqlite:///" + filepath.Join(t.TempDir(), "mlgate.db")
			startInProcess(t, c.env, base, "/health", "server", "--backend-store-uri", db,
				"--artifacts-destination", c.dest, "-h", "127.0.0.1", "-p", strconv.Itoa(port))
			out, err := exec.Command(py, "testdata/cloud_artifacts.py", base, "cloud-"+c.name).CombinedOutput()
			if err != nil {
				t.Fatalf("the mlflow client: %v\n%s", err, out)
			}
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			ids := strings.Fields(lines[len(lines)-1])
			if len(ids) != 2 {
				t.Fatalf("the mlflow client printed %q", out)
			}
			store, err := artifacts.Open(context.Background(), c.dest, c.opts)
			if err != nil {
				t.Fatal(err)
			}
			dir := ids[0] + "/" + ids[1] + "/artifacts/things"
			es, err := store.List(context.Background(), dir)
			if err != nil || len(es) != 1 || es[0].Path != dir+"/a.txt" || es[0].Size != 5 {
				t.Errorf("%s holds %+v, %v; want only a.txt (5 bytes), sub deleted", c.dest+"/"+dir, es, err)
			}
		})
	}
}
