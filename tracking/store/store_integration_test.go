//go:build integration

package store_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"

	"github.com/mlgate/mlgate/internal/db/dbtest"
	"github.com/mlgate/mlgate/tracking/store"
)

func openStore(t *testing.T, b dbtest.Backend) *store.Store {
	t.Helper()
	d := dbtest.Open(t, b)
	s, err := store.Open(context.Background(), d, store.Options{DefaultArtifactRoot: "mlflow-artifacts:/"})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func forBackends(t *testing.T, fn func(t *testing.T, s *store.Store)) {
	for _, b := range dbtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			fn(t, openStore(t, b))
		})
	}
}

func TestExperiments(t *testing.T) {
	forBackends(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		def, err := s.GetExperiment(ctx, "0")
		if err != nil || def.Name != "Default" || def.ArtifactLocation != "mlflow-artifacts:/0" {
			t.Fatalf("default experiment %+v, %v", def, err)
		}
		id, err := s.CreateExperiment(ctx, "exp", "", []store.Tag{{Key: "k", Value: "v"}})
		if err != nil || id != "1" {
			t.Fatalf("create: %q %v", id, err)
		}
		if _, err := s.CreateExperiment(ctx, "exp", "", nil); !errors.Is(err, store.ErrExists) {
			t.Fatalf("duplicate: %v", err)
		}
		e, err := s.GetExperimentByName(ctx, "exp")
		if err != nil || e.ID != id || len(e.Tags) != 1 || e.ArtifactLocation != "mlflow-artifacts:/1" {
			t.Fatalf("by name: %+v %v", e, err)
		}
		if _, err := s.GetExperimentByName(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("missing by name: %v", err)
		}
		if err := s.DeleteExperiment(ctx, id); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateExperiment(ctx, "exp", "", nil); !errors.Is(err, store.ErrExists) {
			t.Fatalf("deleted name reuse: %v", err)
		}
		got, _, err := s.SearchExperiments(ctx, store.SearchExperimentsInput{ViewType: store.DeletedOnly})
		if err != nil || len(got) != 1 || got[0].ID != id {
			t.Fatalf("deleted search: %+v %v", got, err)
		}
		if err := s.RestoreExperiment(ctx, id); err != nil {
			t.Fatal(err)
		}
		if err := s.RenameExperiment(ctx, id, "exp2"); err != nil {
			t.Fatal(err)
		}
		got, _, err = s.SearchExperiments(ctx, store.SearchExperimentsInput{Filter: "name LIKE 'exp%'"})
		if err != nil || len(got) != 1 || got[0].Name != "exp2" {
			t.Fatalf("search: %+v %v", got, err)
		}
		if err := s.DeleteExperimentTag(ctx, id, "missing"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("delete missing tag: %v", err)
		}
	})
}

func TestRunsAndLogging(t *testing.T) {
	forBackends(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		r, err := s.CreateRun(ctx, store.CreateRunInput{ExperimentID: "0", UserID: "u", StartTime: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Info.RunID) != 32 || r.Info.RunName == "" || r.Info.ArtifactURI != "mlflow-artifacts:/0/"+r.Info.RunID+"/artifacts" {
			t.Fatalf("run info %+v", r.Info)
		}
		id := r.Info.RunID
		metrics := []store.Metric{
			{Key: "m", Value: 1, Timestamp: 5, Step: 2},
			{Key: "m", Value: 3, Timestamp: 1, Step: 1},
			{Key: "nan", Value: math.NaN(), Timestamp: 1},
			{Key: "inf", Value: math.Inf(1), Timestamp: 1},
		}
		if err := s.LogBatch(ctx, id, metrics, []store.Param{{Key: "p", Value: "1"}}, []store.Tag{{Key: "mlflow.runName", Value: "renamed"}}); err != nil {
			t.Fatal(err)
		}
		if err := s.LogParam(ctx, id, store.Param{Key: "p", Value: "1"}); err != nil {
			t.Fatalf("same param again: %v", err)
		}
		if err := s.LogParam(ctx, id, store.Param{Key: "p", Value: "2"}); !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("changed param: %v", err)
		}
		if err := s.LogMetric(ctx, id, store.Metric{Key: "../x", Value: 1}); !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("bad key: %v", err)
		}
		got, err := s.GetRun(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if got.Info.RunName != "renamed" {
			t.Fatalf("run name not synced: %+v", got.Info)
		}
		byKey := map[string]store.Metric{}
		for _, m := range got.Data.Metrics {
			byKey[m.Key] = m
		}
		if byKey["m"].Value != 1 || byKey["m"].Step != 2 || !math.IsNaN(byKey["nan"].Value) || byKey["inf"].Value != math.MaxFloat64 {
			t.Fatalf("latest metrics %+v", got.Data.Metrics)
		}
		hist, _, err := s.GetMetricHistory(ctx, id, "m", store.Page{})
		if err != nil || len(hist) != 2 || hist[0].Timestamp != 1 {
			t.Fatalf("history %+v %v", hist, err)
		}
		page, next, err := s.GetMetricHistory(ctx, id, "m", store.Page{MaxResults: 1})
		if err != nil || len(page) != 1 || next == "" {
			t.Fatalf("paged history %+v %q %v", page, next, err)
		}
		if err := s.DeleteTag(ctx, id, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("delete missing tag: %v", err)
		}
		end := int64(20)
		info, err := s.UpdateRun(ctx, store.UpdateRunInput{RunID: id, Status: store.StatusFinished, EndTime: &end})
		if err != nil || info.Status != store.StatusFinished || info.EndTime != 20 {
			t.Fatalf("update %+v %v", info, err)
		}
		if err := s.DeleteRun(ctx, id); err != nil {
			t.Fatal(err)
		}
		if err := s.SetTag(ctx, id, store.Tag{Key: "a", Value: "b"}); !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("write to deleted run: %v", err)
		}
		if err := s.RestoreRun(ctx, id); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetRun(ctx, "0123456789abcdef0123456789abcdef"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("missing run: %v", err)
		}
		if err := s.LogModel(ctx, id, `{"artifact_path":"m","flavors":{},"utc_time_created":"x","run_id":"`+id+`"}`); err != nil {
			t.Fatal(err)
		}
		if err := s.LogInputs(ctx, id, []store.DatasetInput{{Dataset: store.Dataset{Name: "d", Digest: "x"}, Tags: []store.Tag{{Key: "mlflow.data.context", Value: "train"}}}}, nil); err != nil {
			t.Fatal(err)
		}
		got, _ = s.GetRun(ctx, id)
		if len(got.Inputs) != 1 || got.Inputs[0].Dataset.Name != "d" || len(got.Inputs[0].Tags) != 1 {
			t.Fatalf("inputs %+v", got.Inputs)
		}
	})
}

func TestConcurrentLatestMetric(t *testing.T) {
	forBackends(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		r, err := s.CreateRun(ctx, store.CreateRunInput{})
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for w := 0; w < 8; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := 0; i < 10; i++ {
					step := int64(w*10 + i)
					ms := []store.Metric{{Key: "loss", Value: float64(step), Timestamp: 1, Step: step}, {Key: "acc", Value: float64(100 - step), Timestamp: step, Step: 0}}
					if err := s.LogBatch(ctx, r.Info.RunID, ms, nil, nil); err != nil {
						t.Error(err)
					}
				}
			}(w)
		}
		wg.Wait()
		got, err := s.GetRun(ctx, r.Info.RunID)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range got.Data.Metrics {
			if m.Key == "loss" && (m.Step != 79 || m.Value != 79) || m.Key == "acc" && (m.Timestamp != 79 || m.Value != 21) {
				t.Fatalf("latest %+v", m)
			}
		}
		hist, _, _ := s.GetMetricHistory(ctx, r.Info.RunID, "loss", store.Page{})
		if len(hist) != 80 {
			t.Fatalf("history has %d values, want 80", len(hist))
		}
	})
}

func TestSearchRuns(t *testing.T) {
	forBackends(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		var ids []string
		for i := 0; i < 5; i++ {
			r, err := s.CreateRun(ctx, store.CreateRunInput{RunName: fmt.Sprintf("run-%d", i), StartTime: int64(100 + i)})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, r.Info.RunID)
			ms := []store.Metric{{Key: "rmse", Value: float64(i), Timestamp: 1}}
			if i == 4 {
				ms = nil
			}
			if err := s.LogBatch(ctx, r.Info.RunID, ms, []store.Param{{Key: "model", Value: []string{"lr", "LR", "tree"}[i%3]}}, []store.Tag{{Key: "team", Value: "ml"}}); err != nil {
				t.Fatal(err)
			}
		}
		search := func(filter string, order ...string) []string {
			t.Helper()
			runs, _, err := s.SearchRuns(ctx, store.SearchRunsInput{ExperimentIDs: []string{"0"}, Filter: filter, OrderBy: order})
			if err != nil {
				t.Fatalf("%q: %v", filter, err)
			}
			var names []string
			for _, r := range runs {
				names = append(names, r.Info.RunName)
			}
			return names
		}
		check := func(got []string, want ...string) {
			t.Helper()
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("got %v, want %v", got, want)
			}
		}
		check(search(""), "run-4", "run-3", "run-2", "run-1", "run-0")
		check(search("metrics.rmse < 2"), "run-1", "run-0")
		check(search("params.model = 'lr'"), "run-3", "run-0")
		check(search("params.model LIKE 'l%'"), "run-3", "run-0")
		check(search("params.model ILIKE 'l%'"), "run-4", "run-3", "run-1", "run-0")
		check(search("attributes.run_name = 'run-2' and tags.team = 'ml'"), "run-2")
		check(search("attributes.start_time >= 103"), "run-4", "run-3")
		check(search("run_id IN ('"+ids[1]+"', '"+ids[2]+"')"), "run-2", "run-1")
		check(search("", "metrics.rmse DESC"), "run-3", "run-2", "run-1", "run-0", "run-4")
		check(search("", "params.model ASC", "attributes.run_name DESC"), "run-4", "run-1", "run-3", "run-0", "run-2")
		if _, _, err := s.SearchRuns(ctx, store.SearchRunsInput{ExperimentIDs: []string{"0"}, Filter: "metrics.rmse = 'x'"}); !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("bad filter: %v", err)
		}
		page1, next, err := s.SearchRuns(ctx, store.SearchRunsInput{ExperimentIDs: []string{"0"}, MaxResults: 3})
		if err != nil || len(page1) != 3 || next == "" {
			t.Fatalf("page1 %d %q %v", len(page1), next, err)
		}
		page2, next2, err := s.SearchRuns(ctx, store.SearchRunsInput{ExperimentIDs: []string{"0"}, MaxResults: 3, PageToken: next})
		if err != nil || len(page2) != 2 || next2 != "" || page2[0].Info.RunName != "run-1" {
			t.Fatalf("page2 %d %q %v", len(page2), next2, err)
		}
	})
}

func TestLoggedModels(t *testing.T) {
	forBackends(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		r, _ := s.CreateRun(ctx, store.CreateRunInput{})
		m, err := s.CreateLoggedModel(ctx, store.CreateLoggedModelInput{ExperimentID: "0", Name: "model", SourceRunID: r.Info.RunID, Tags: []store.Tag{{Key: "a", Value: "b"}}})
		if err != nil {
			t.Fatal(err)
		}
		if m.Status != store.ModelPending || m.ArtifactURI != "mlflow-artifacts:/0/models/"+m.ModelID+"/artifacts" {
			t.Fatalf("model %+v", m)
		}
		if err := s.LogOutputs(ctx, r.Info.RunID, []store.ModelOutput{{ModelID: m.ModelID, Step: 0}}); err != nil {
			t.Fatal(err)
		}
		if err := s.LogMetric(ctx, r.Info.RunID, store.Metric{Key: "acc", Value: 0.9, Timestamp: 1, ModelID: m.ModelID}); err != nil {
			t.Fatal(err)
		}
		if m, err = s.FinalizeLoggedModel(ctx, m.ModelID, store.ModelReady); err != nil || m.Status != store.ModelReady || len(m.Metrics) != 1 {
			t.Fatalf("finalize %+v %v", m, err)
		}
		found, _, err := s.SearchLoggedModels(ctx, store.SearchLoggedModelsInput{ExperimentIDs: []string{"0"}, Filter: "name = 'model' AND metrics.acc > 0.5"})
		if err != nil || len(found) != 1 {
			t.Fatalf("search %+v %v", found, err)
		}
		// Model versions made from the model, in MLflow's tag text, once each.
		for _, v := range []int64{1, 2, 1} {
			if err := s.AddModelVersion(ctx, m.ModelID, "reg", v); err != nil {
				t.Fatal(err)
			}
		}
		if got, _ := s.GetLoggedModel(ctx, m.ModelID); tagValue(got.Tags, store.TagModelVersions) != `[{"name": "reg", "version": 1}, {"name": "reg", "version": 2}]` {
			t.Errorf("mlflow.modelVersions = %q", tagValue(got.Tags, store.TagModelVersions))
		}
		// The datasets filter: a model's metrics must be on one of them.
		other, err := s.CreateLoggedModel(ctx, store.CreateLoggedModelInput{ExperimentID: "0", Name: "other", SourceRunID: "no-such-run"})
		if err != nil || other.SourceRunID != "no-such-run" {
			t.Fatalf("a source run naming no run is recorded as given: %+v %v", other, err)
		}
		if err := s.LogMetric(ctx, r.Info.RunID, store.Metric{Key: "acc", Value: 0.7, Timestamp: 1, ModelID: other.ModelID, DatasetName: "ds", DatasetDigest: "d1"}); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			filter string
			ds     []store.DatasetFilter
			want   string
		}{
			{"", []store.DatasetFilter{{Name: "ds", Digest: "d1"}}, "other"},
			{"", []store.DatasetFilter{{Name: "ds", Digest: "d2"}}, ""},
			{"", []store.DatasetFilter{{Name: "ds"}}, ""},
			{"metrics.acc > 0.5", []store.DatasetFilter{{Name: "ds", Digest: "d1"}}, "other"},
			{"metrics.acc > 0.8", []store.DatasetFilter{{Name: "ds", Digest: "d1"}}, ""},
			{"metrics.acc > 0.8", nil, "model"},
		} {
			found, _, err := s.SearchLoggedModels(ctx, store.SearchLoggedModelsInput{ExperimentIDs: []string{"0"}, Filter: tc.filter, Datasets: tc.ds})
			var names []string
			for _, f := range found {
				names = append(names, f.Name)
			}
			if err != nil || strings.Join(names, ",") != tc.want {
				t.Errorf("search %q %v: %v %v, want %q", tc.filter, tc.ds, names, err, tc.want)
			}
		}
		if _, _, err := s.SearchLoggedModels(ctx, store.SearchLoggedModelsInput{ExperimentIDs: []string{"0"}, Datasets: []store.DatasetFilter{{Digest: "x"}}}); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("a dataset without a name: %v", err)
		}
		if err := s.DeleteLoggedModel(ctx, m.ModelID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetLoggedModel(ctx, m.ModelID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("deleted model: %v", err)
		}
	})
}

func tagValue(tags []store.Tag, key string) string {
	for _, t := range tags {
		if t.Key == key {
			return t.Value
		}
	}
	return ""
}
