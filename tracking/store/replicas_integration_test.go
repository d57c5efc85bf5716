//go:build integration

package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/mlgate/mlgate/internal/db"
	"github.com/mlgate/mlgate/internal/db/dbtest"
	"github.com/mlgate/mlgate/tracking/store"
)

func newRun(t *testing.T, s *store.Store) string {
	t.Helper()
	r, err := s.CreateRun(context.Background(), store.CreateRunInput{})
	if err != nil {
		t.Fatal(err)
	}
	return r.Info.RunID
}

func forReplicas(t *testing.T, fn func(t *testing.T, rs []*store.Store)) {
	for _, b := range dbtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			fn(t, dbtest.Replicas(t, b, 4, func(ctx context.Context, d *db.DB) (*store.Store, error) {
				return store.Open(ctx, d, store.Options{DefaultArtifactRoot: "mlflow-artifacts:/"})
			}))
		})
	}
}

// countErrs returns how many calls succeeded and checks that every failure
// is want.
func countErrs(t *testing.T, errs []error, want error) int {
	t.Helper()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, want):
			t.Errorf("got %v, want success or %v", err, want)
		}
	}
	return ok
}

func TestReplicasStartTogetherWithOneDefaultExperiment(t *testing.T) {
	forReplicas(t, func(t *testing.T, rs []*store.Store) {
		exps, _, err := rs[1].SearchExperiments(context.Background(), store.SearchExperimentsInput{})
		if err != nil || len(exps) != 1 || exps[0].Name != "Default" {
			t.Fatalf("experiments %+v, %v", exps, err)
		}
	})
}

func TestReplicasCreateOneExperimentAtOnce(t *testing.T) {
	forReplicas(t, func(t *testing.T, rs []*store.Store) {
		ctx := context.Background()
		errs := dbtest.OnReplicas(rs, 8, func(_ int, s *store.Store) error {
			_, err := s.CreateExperiment(ctx, "shared", "", nil)
			return err
		})
		if ok := countErrs(t, errs, store.ErrExists); ok != 1 {
			t.Fatalf("%d creations succeeded, want 1", ok)
		}
		errs = dbtest.OnReplicas(rs, 8, func(i int, s *store.Store) error {
			id, err := s.CreateExperiment(ctx, fmt.Sprintf("own-%d", i), "", nil)
			if err != nil {
				return err
			}
			return s.RenameExperiment(ctx, id, "renamed")
		})
		if ok := countErrs(t, errs, store.ErrExists); ok != 1 {
			t.Fatalf("%d renames succeeded, want 1", ok)
		}
	})
}

func TestReplicasLogOneDatasetFromManyRuns(t *testing.T) {
	forReplicas(t, func(t *testing.T, rs []*store.Store) {
		ctx := context.Background()
		ds := []store.DatasetInput{{Dataset: store.Dataset{Name: "train", Digest: "abc", SourceType: "local", Source: "{}"},
			Tags: []store.Tag{{Key: "mlflow.data.context", Value: "training"}}}}
		runs := make([]string, 8)
		for i := range runs {
			runs[i] = newRun(t, rs[0])
		}
		for _, err := range dbtest.OnReplicas(rs, len(runs), func(i int, s *store.Store) error {
			return s.LogInputs(ctx, runs[i], ds, nil)
		}) {
			if err != nil {
				t.Fatalf("log inputs: %v", err)
			}
		}
		for _, id := range runs {
			r, err := rs[1].GetRun(ctx, id)
			if err != nil || len(r.Inputs) != 1 || r.Inputs[0].Dataset.Digest != "abc" {
				t.Fatalf("run %s inputs %+v, %v", id, r.Inputs, err)
			}
		}
	})
}

func TestReplicasLogModelsToOneRun(t *testing.T) {
	forReplicas(t, func(t *testing.T, rs []*store.Store) {
		ctx := context.Background()
		runID := newRun(t, rs[0])
		const n = 8
		for _, err := range dbtest.OnReplicas(rs, n, func(i int, s *store.Store) error {
			return s.LogModel(ctx, runID, fmt.Sprintf(`{"artifact_path": "m%d", "flavors": {}, "utc_time_created": "now", "run_id": %q}`, i, runID))
		}) {
			if err != nil {
				t.Fatalf("log model: %v", err)
			}
		}
		got, err := rs[1].GetRun(ctx, runID)
		if err != nil {
			t.Fatal(err)
		}
		var hist []map[string]any
		for _, tg := range got.Data.Tags {
			if tg.Key == "mlflow.log-model.history" {
				if err := json.Unmarshal([]byte(tg.Value), &hist); err != nil {
					t.Fatal(err)
				}
			}
		}
		if len(hist) != n {
			t.Fatalf("log-model history has %d models, want %d: %+v", len(hist), n, hist)
		}
	})
}

func TestReplicasLogOneParamWithDifferentValues(t *testing.T) {
	forReplicas(t, func(t *testing.T, rs []*store.Store) {
		ctx := context.Background()
		runID := newRun(t, rs[0])
		errs := dbtest.OnReplicas(rs, 8, func(i int, s *store.Store) error {
			return s.LogParam(ctx, runID, store.Param{Key: "lr", Value: fmt.Sprint(i)})
		})
		if ok := countErrs(t, errs, store.ErrInvalid); ok != 1 {
			t.Fatalf("%d writers of different values succeeded, want 1", ok)
		}
		got, err := rs[1].GetRun(ctx, runID)
		if err != nil || len(got.Data.Params) != 1 {
			t.Fatalf("params %+v, %v", got.Data.Params, err)
		}
		for i, err := range errs {
			if err == nil && got.Data.Params[0].Value != fmt.Sprint(i) {
				t.Fatalf("writer %d succeeded but the run has lr=%s", i, got.Data.Params[0].Value)
			}
		}
		for _, err := range dbtest.OnReplicas(rs, 8, func(_ int, s *store.Store) error {
			return s.LogParam(ctx, runID, store.Param{Key: "same", Value: "v"})
		}) {
			if err != nil {
				t.Fatalf("logging one value from many writers: %v", err)
			}
		}
	})
}
