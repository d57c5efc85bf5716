package store_test

import (
	"context"
	"testing"

	"github.com/mlgate/mlgate/internal/db"
	"github.com/mlgate/mlgate/tracking/store"
)

// TestInMemorySQLite checks the store never holds two connections at once
// (sqlite:///:memory: has exactly one): every read finishes before the next.
func TestInMemorySQLite(t *testing.T) {
	ctx := context.Background()
	d, err := db.Open(ctx, "sqlite:///:memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	s, err := store.Open(ctx, d, store.Options{DefaultArtifactRoot: "/tmp/x"})
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.CreateRun(ctx, store.CreateRunInput{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.LogBatch(ctx, r.Info.RunID, []store.Metric{{Key: "m", Value: 1, Timestamp: 1}}, []store.Param{{Key: "p", Value: "v"}}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.LogInputs(ctx, r.Info.RunID, []store.DatasetInput{{Dataset: store.Dataset{Name: "d", Digest: "x"}, Tags: []store.Tag{{Key: "k", Value: "v"}}}}, nil); err != nil {
		t.Fatal(err)
	}
	runs, _, err := s.SearchRuns(ctx, store.SearchRunsInput{ExperimentIDs: []string{"0"}, Filter: "params.p = 'v'"})
	if err != nil || len(runs) != 1 || len(runs[0].Inputs) != 1 || len(runs[0].Inputs[0].Tags) != 1 {
		t.Fatalf("search %+v %v", runs, err)
	}
	m, err := s.CreateLoggedModel(ctx, store.CreateLoggedModelInput{ExperimentID: "0", SourceRunID: r.Info.RunID})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.SearchLoggedModels(ctx, store.SearchLoggedModelsInput{ExperimentIDs: []string{"0"}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.SearchExperiments(ctx, store.SearchExperimentsInput{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.FinalizeLoggedModel(ctx, m.ModelID, store.ModelReady); err != nil {
		t.Fatal(err)
	}
}
