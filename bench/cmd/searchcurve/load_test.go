package main

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/mlgate/mlgate/bench"
	"github.com/mlgate/mlgate/internal/db"
)

// TestLoadSQLMatchesMix loads a few runs and reads back the values the SQL
// generated: the ones bench.MixValue, bench.MixTag and the params rule give
// (the mlflow loader and the writers use those).
func TestLoadSQLMatchesMix(t *testing.T) {
	ctx := context.Background()
	uri := "sqlite:///" + filepath.Join(t.TempDir(), "l.db")
	exp, have, err := mlgateLoad(ctx, uri, 7, 0)
	if err != nil || have != 7 {
		t.Fatalf("load: %d runs, %v", have, err)
	}
	if _, have, err = mlgateLoad(ctx, uri, 12, 0); err != nil || have != 12 {
		t.Fatalf("top up: %d runs, %v", have, err)
	}
	d, err := db.Open(ctx, uri)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = d.Close() }()
	for _, i := range []int64{0, 5, 11} {
		var id, w, p2 string
		var m3, hist float64
		var n int
		row := d.QueryRowContext(ctx, `SELECT r.run_uuid, t.value, p.value, l.value, m.value, (SELECT COUNT(*) FROM latest_metrics c WHERE c.run_uuid = r.run_uuid)
			FROM runs r JOIN tags t ON t.run_uuid = r.run_uuid AND t.key = 'w' JOIN params p ON p.run_uuid = r.run_uuid AND p.key = 'p2'
			JOIN latest_metrics l ON l.run_uuid = r.run_uuid AND l.key = 'm3' JOIN metrics m ON m.run_uuid = r.run_uuid AND m.key = 'm3'
			WHERE r.experiment_id = ? AND r.name = ?`, exp, "load-"+itoa(i))
		if err := row.Scan(&id, &w, &p2, &m3, &hist, &n); err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
		if len(id) != 32 || w != bench.MixTag(i) || p2 != itoa((i+2)%100) || m3 != bench.MixValue(i, 3) || hist != m3 || n != bench.MixMetrics {
			t.Fatalf("run %d: id %q w %q p2 %q m3 %v (want %v) history %v, %d metrics", i, id, w, p2, m3, bench.MixValue(i, 3), hist, n)
		}
	}
}

func itoa(i int64) string { return fmt.Sprint(i) }
