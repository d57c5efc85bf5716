//go:build integration

package tracking_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/mlgate/mlgate/rest/resttest"
)

// mlflowServer is one real `mlflow server` shared by this package's tests
// (it takes a while to start on a loaded machine); mlgateURL is an
// `mlgate server` built from this tree.
var (
	mlflowServer *resttest.MLflow
	mlgateURL    string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	py := os.Getenv("MLGATE_TEST_PYTHON")
	if py == "" {
		fmt.Fprintln(os.Stderr, "FAIL: MLGATE_TEST_PYTHON is not set: it must name the python of a venv with mlflow installed")
		return 1
	}
	dir, err := os.MkdirTemp("", "mlgate-tracking-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	srv, err := resttest.StartMLflow(py, dir, resttest.Port())
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: start mlflow server:", err)
		return 1
	}
	defer srv.Stop()
	mlflowServer = srv
	url, stop, err := resttest.StartMLgate(dir, resttest.Port())
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: start mlgate server:", err)
		return 1
	}
	defer stop()
	mlgateURL = url
	return m.Run()
}
