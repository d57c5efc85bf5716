//go:build integration

package pyfunc

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/mlgate/mlgate/flavors"
	"github.com/mlgate/mlgate/flavors/flavortest"
)

func TestConformance(t *testing.T) {
	t.Run("js_linear_external", func(t *testing.T) {
		flavortest.Run(t, flavortest.Harness{
			Flavor:        nodeFlavor(t),
			Dir:           "testdata/jsworker/model",
			Options:       flavors.LoadOptions{Workers: 2},
			Input:         jsInput(nil),
			Deterministic: true,
			Check: func(t *testing.T, out *flavors.Output) {
				if string(out.JSON) != "[0.5,6.5]" {
					t.Fatalf("got %s", out.JSON)
				}
			},
		})
		if kids := childWorkers(); len(kids) > 0 {
			t.Fatalf("processes left: %v", kids)
		}
	})
	t.Run("python_function", func(t *testing.T) {
		flavortest.Run(t, flavortest.Harness{
			Flavor:        testFlavor(t),
			Dir:           filepath.Join(testModels(t), "sleepy"),
			Options:       flavors.LoadOptions{Workers: 1, EnvManager: EnvLocal},
			Input:         sleepy(0),
			Deterministic: true,
			LoadTimeout:   3 * time.Minute,
			Check: func(t *testing.T, out *flavors.Output) {
				if string(out.JSON) != `[{"y": 2.0}]` {
					t.Fatalf("got %s", out.JSON)
				}
			},
		})
		if kids := childWorkers(); len(kids) > 0 {
			t.Fatalf("processes left: %v", kids)
		}
	})
}
