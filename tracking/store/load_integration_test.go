//go:build integration

package store

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/mlgate/mlgate/internal/db"
	"github.com/mlgate/mlgate/internal/db/dbtest"
)

// loadRunDataUnion is the reader loadRunData replaced (one UNION ALL of
// params, tags, latest metrics and model inputs/outputs labelled by run
// id, then the datasets of the runs named by placeholders): the reference
// its answers must equal.
func (s *Store) loadRunDataUnion(ctx context.Context, q querier, runs []*Run) error {
	if len(runs) == 0 {
		return nil
	}
	byID := make(map[string]*Run, len(runs))
	ids := make([]any, 0, len(runs))
	for _, r := range runs {
		byID[r.Info.RunID] = r
		ids = append(ids, r.Info.RunID)
	}
	in := `(` + placeholders(len(ids)) + `)`
	args := make([]any, 0, 5*len(ids))
	for i := 0; i < 5; i++ {
		args = append(args, ids...)
	}
	rows, err := db.Raw(q).QueryContext(ctx, s.q.r(
		`SELECT 0, run_uuid, key, value, 0.0, 0, 0, 0 FROM params WHERE run_uuid IN `+in+
			` UNION ALL SELECT 1, run_uuid, key, value, 0.0, 0, 0, 0 FROM tags WHERE run_uuid IN `+in+
			` UNION ALL SELECT 2, run_uuid, key, '', value, is_nan, timestamp, step FROM latest_metrics WHERE run_uuid IN `+in+
			` UNION ALL SELECT 3, run_uuid, model_id, '', 0.0, 0, 0, 0 FROM run_model_inputs WHERE run_uuid IN `+in+
			` UNION ALL SELECT 4, run_uuid, model_id, '', 0.0, 0, 0, step FROM run_model_outputs WHERE run_uuid IN `+in+
			` ORDER BY 1, 2, 3`), args...)
	if err != nil {
		return err
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		var kind, isNaN int
		var id, key, value string
		var num float64
		var ts, step int64
		if err := rows.Scan(&kind, &id, &key, &value, &num, &isNaN, &ts, &step); err != nil {
			return err
		}
		r := byID[id]
		if r == nil {
			continue
		}
		switch kind {
		case 0:
			r.Data.Params = append(r.Data.Params, Param{Key: key, Value: value})
		case 1:
			r.Data.Tags = append(r.Data.Tags, Tag{Key: key, Value: value})
		case 2:
			r.Data.Metrics = append(r.Data.Metrics, Metric{Key: key, Value: metricValue(num, isNaN != 0), Timestamp: ts, Step: step})
		case 3:
			r.Models = append(r.Models, ModelInput{ModelID: key})
		case 4:
			r.Outputs = append(r.Outputs, ModelOutput{ModelID: key, Step: step})
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	_ = rows.Close()
	rows, err = q.QueryContext(ctx, s.q.r(`SELECT rd.run_uuid, d.dataset_uuid, d.name, d.digest, d.source_type, d.source, d.schema, d.profile, COALESCE(t.key, ''), COALESCE(t.value, ''), CASE WHEN t.key IS NULL THEN 0 ELSE 1 END
		FROM run_datasets rd JOIN datasets d ON d.dataset_uuid = rd.dataset_uuid
		LEFT JOIN run_dataset_tags t ON t.run_uuid = rd.run_uuid AND t.dataset_uuid = rd.dataset_uuid
		WHERE rd.run_uuid IN `+in+` ORDER BY rd.run_uuid, d.name, d.digest, t.key`), ids...)
	if err != nil {
		return err
	}
	lastRun, lastDS := "", ""
	for rows.Next() {
		var id, duuid, tk, tv string
		var d Dataset
		var hasTag int
		if err := rows.Scan(&id, &duuid, &d.Name, &d.Digest, &d.SourceType, &d.Source, &d.Schema, &d.Profile, &tk, &tv, &hasTag); err != nil {
			return err
		}
		r := byID[id]
		if id != lastRun || duuid != lastDS {
			r.Inputs = append(r.Inputs, DatasetInput{Dataset: d})
			lastRun, lastDS = id, duuid
		}
		if hasTag == 1 {
			r.Inputs[len(r.Inputs)-1].Tags = append(r.Inputs[len(r.Inputs)-1].Tags, Tag{Key: tk, Value: tv})
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, r := range runs {
		sortRunData(r)
	}
	return nil
}

// loadFixture fills an experiment with runs that have every kind of run
// data, or none of it, and returns their ids in creation order.
func loadFixture(t *testing.T, s *Store) (string, []string) {
	t.Helper()
	ctx := context.Background()
	exp, err := s.CreateExperiment(ctx, "load", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	values := []float64{0.5, math.NaN(), math.Inf(1), math.Inf(-1), -0.25, 1e300, 3}
	var ids []string
	for i := range 37 {
		r, err := s.CreateRun(ctx, CreateRunInput{ExperimentID: exp, StartTime: int64(1000 + i%5), Tags: []Tag{{Key: "w", Value: fmt.Sprint(i % 3)}}})
		if err != nil {
			t.Fatal(err)
		}
		id := r.Info.RunID
		ids = append(ids, id)
		var ms []Metric
		for k := range i % 9 {
			ms = append(ms, Metric{Key: fmt.Sprintf("m%d", (k*7)%9), Value: values[(i+k)%len(values)], Timestamp: int64(i * k), Step: int64(k - 2)})
		}
		var ps []Param
		for k := range i % 4 {
			ps = append(ps, Param{Key: fmt.Sprintf("p%d", 3-k), Value: fmt.Sprint("v ü <&>", i, k)})
		}
		tags := []Tag{{Key: "z", Value: "last"}, {Key: "a", Value: fmt.Sprint(i)}}
		if i%6 == 5 {
			tags = nil
		}
		if err := s.LogBatch(ctx, id, ms, ps, tags); err != nil {
			t.Fatal(err)
		}
		if i%4 == 1 {
			if err := s.LogInputs(ctx, id, []DatasetInput{
				{Dataset: Dataset{Name: "train", Digest: fmt.Sprint("d", i), SourceType: "local", Source: "{}"}, Tags: []Tag{{Key: "mlflow.data.context", Value: "training"}}},
				{Dataset: Dataset{Name: "eval", Digest: "e", SourceType: "local", Source: "{}", Schema: "{}"}},
			}, []ModelInput{{ModelID: fmt.Sprint("m-", 9-i%3)}, {ModelID: "m-1"}}); err != nil {
				t.Fatal(err)
			}
		}
		if i%5 == 2 {
			if err := s.LogOutputs(ctx, id, []ModelOutput{{ModelID: "m-z", Step: 3}, {ModelID: fmt.Sprint("m-", i), Step: int64(i)}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	return exp, ids
}

// TestLoadRunDataMatchesUnion reads the same runs, in several orders and
// subsets, through loadRunData and the UNION reader it replaced: the
// runs must come out equal (NaN included).
func TestLoadRunDataMatchesUnion(t *testing.T) {
	for _, b := range dbtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			d := dbtest.Open(t, b)
			s, err := Open(ctx, d, Options{DefaultArtifactRoot: "mlflow-artifacts:/"})
			if err != nil {
				t.Fatal(err)
			}
			exp, ids := loadFixture(t, s)
			reversed := make([]string, len(ids))
			for i, id := range ids {
				reversed[len(ids)-1-i] = id
			}
			sets := [][]string{ids, reversed, ids[5:6], ids[1:2], {"0000000000000000000000000000dead", ids[9]}}
			page, _, err := s.SearchRuns(ctx, SearchRunsInput{ExperimentIDs: []string{exp}, Filter: "tags.w = '1'", OrderBy: []string{"metrics.m0 DESC"}, MaxResults: 8})
			if err != nil {
				t.Fatal(err)
			}
			if len(page) != 8 {
				t.Fatalf("search page has %d runs", len(page))
			}
			var pageIDs []string
			for _, r := range page {
				pageIDs = append(pageIDs, r.Info.RunID)
			}
			sets = append(sets, pageIDs)
			withData := 0
			for n, set := range sets {
				got, want := make([]*Run, len(set)), make([]*Run, len(set))
				for i, id := range set {
					got[i], want[i] = &Run{Info: RunInfo{RunID: id}}, &Run{Info: RunInfo{RunID: id}}
				}
				if err := s.loadRunData(ctx, s.db.Q(nil), got); err != nil {
					t.Fatal(err)
				}
				if err := s.loadRunDataUnion(ctx, s.db.Q(nil), want); err != nil {
					t.Fatal(err)
				}
				for i := range got {
					if g, w := fmt.Sprintf("%+v", *got[i]), fmt.Sprintf("%+v", *want[i]); g != w {
						t.Fatalf("set %d run %d:\n got %s\nwant %s", n, i, g, w)
					}
					if len(got[i].Data.Metrics) > 0 && len(got[i].Inputs) > 0 && len(got[i].Models) > 0 {
						withData++
					}
				}
				if n == len(sets)-1 {
					for i, r := range page {
						want[i].Info = r.Info
						if g, w := fmt.Sprintf("%+v", *r), fmt.Sprintf("%+v", *want[i]); g != w {
							t.Fatalf("search page run %d:\n got %s\nwant %s", i, g, w)
						}
					}
				}
			}
			if withData == 0 {
				t.Fatal("no run with metrics, datasets and models: the fixture checks too little")
			}
		})
	}
}

// TestLoadPlanSeeksByRun checks that each read of a page's run data
// seeks the table by run id (its primary key) for each listed run instead
// of scanning the table: the cost of a search must not grow with the
// store.
func TestLoadPlanSeeksByRun(t *testing.T) {
	for _, b := range dbtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			d := dbtest.Open(t, b)
			s, err := Open(ctx, d, Options{DefaultArtifactRoot: "/tmp/a"})
			if err != nil {
				t.Fatal(err)
			}
			_, ids := loadFixture(t, s)
			with, arg, err := s.positions(ids[:10])
			if err != nil {
				t.Fatal(err)
			}
			for _, table := range []string{"latest_metrics", "params", "tags"} {
				text := explainPlan(t, d, b, s.q.r(with+`SELECT p.i, t.key FROM p JOIN `+table+` t ON t.run_uuid = p.id`), arg)
				want := "SEARCH t USING " // SQLite: the primary key's index, by run_uuid
				if b.Name == "postgres" {
					want = "Index Cond: (run_uuid = a.id)"
				}
				if !strings.Contains(text, want) || strings.Contains(text, "SCAN t\n") || strings.HasSuffix(text, "SCAN t") {
					t.Fatalf("%s: plan does not seek by run id:\n%s", table, text)
				}
			}
		})
	}
}
