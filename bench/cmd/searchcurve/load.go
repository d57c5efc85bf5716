package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"github.com/mlgate/mlgate/bench"
	"github.com/mlgate/mlgate/internal/db"
	"github.com/mlgate/mlgate/tracking/store"
)

// curveExperiment is the experiment every loader and writer uses.
const curveExperiment = "curve"

// baseStart is the start time (ms) of loaded run 0; run i starts i ms later.
const baseStart = 1_700_000_000_000

// mlgateLoad fills an mlgate store up to n runs in the curve experiment
// (the experiment is made by the store; the runs go in as the rows a
// runs/create, log-batch and finish leave, many runs per transaction, so
// 100,000 runs load in a few minutes). It returns the experiment id and
// the number of runs the experiment then holds.
func mlgateLoad(ctx context.Context, uri string, n int64) (string, int64, error) {
	d, err := db.Open(ctx, uri)
	if err != nil {
		return "", 0, err
	}
	defer func() { _ = d.Close() }()
	s, err := store.Open(ctx, d, store.Options{DefaultArtifactRoot: "mlflow-artifacts:/"})
	if err != nil {
		return "", 0, err
	}
	exp, err := experimentID(ctx, s)
	if err != nil {
		return "", 0, err
	}
	count := func() (int64, error) {
		var have int64
		err := d.QueryRowContext(ctx, d.Rebind(`SELECT COUNT(*) FROM runs WHERE experiment_id = ?`), exp).Scan(&have)
		return have, err
	}
	have, err := count()
	if err != nil {
		return "", 0, err
	}
	expNum, err := strconv.ParseInt(exp, 10, 64)
	if err != nil {
		return "", 0, err
	}
	for lo := have; lo < n && ctx.Err() == nil; lo += loadChunk {
		hi := min(n, lo+loadChunk)
		if err := d.Tx(ctx, func(tx *sql.Tx) error { return loadRuns(ctx, d, tx, expNum, lo, hi) }); err != nil {
			return "", 0, err
		}
	}
	if have, err = count(); err != nil {
		return "", 0, err
	}
	return exp, have, ctx.Err()
}

// loadChunk is the number of runs per transaction.
const loadChunk = 500

// rows accumulates the rows of one table, written by flush in INSERTs of
// up to 100 rows.
type rows struct {
	head string
	cols int
	args []any
}

func (r *rows) add(vals ...any) { r.args = append(r.args, vals...) }

func (r *rows) flush(ctx context.Context, d *db.DB, tx *sql.Tx) error {
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", r.cols), ", ") + ")"
	for len(r.args) > 0 {
		n := min(100, len(r.args)/r.cols)
		q := r.head + strings.TrimSuffix(strings.Repeat(one+", ", n), ", ")
		if _, err := tx.ExecContext(ctx, d.Rebind(q), r.args[:n*r.cols]...); err != nil {
			return err
		}
		r.args = r.args[n*r.cols:]
	}
	return nil
}

// loadRuns inserts runs lo..hi-1 as a writer of the mix leaves them.
func loadRuns(ctx context.Context, d *db.DB, tx *sql.Tx, exp, lo, hi int64) error {
	tables := []*rows{
		{head: "INSERT INTO runs (run_uuid, name, experiment_id, user_id, status, start_time, end_time, artifact_uri, lifecycle_stage) VALUES ", cols: 9},
		{head: "INSERT INTO tags (run_uuid, key, value) VALUES ", cols: 3},
		{head: "INSERT INTO params (run_uuid, key, value) VALUES ", cols: 3},
		{head: "INSERT INTO metrics (run_uuid, key, value, is_nan, timestamp, step) VALUES ", cols: 6},
		{head: "INSERT INTO latest_metrics (run_uuid, key, value, is_nan, timestamp, step) VALUES ", cols: 6},
	}
	for i := lo; i < hi; i++ {
		var b [16]byte
		if _, err := rand.Read(b[:]); err != nil {
			return err
		}
		id := hex.EncodeToString(b[:])
		name := fmt.Sprintf("load-%d", i)
		start := baseStart + i
		tables[0].add(id, name, exp, "bench", store.StatusFinished, start, start+1000,
			fmt.Sprintf("mlflow-artifacts:/%d/%s/artifacts", exp, id), store.StageActive)
		tables[1].add(id, "w", bench.MixTag(i))
		tables[1].add(id, store.TagRunName, name)
		for k := range int64(bench.MixParams) {
			tables[2].add(id, fmt.Sprintf("p%d", k), fmt.Sprint((i+k)%100))
		}
		for k := range int64(bench.MixMetrics) {
			key, v := fmt.Sprintf("m%d", k), bench.MixValue(i, k)
			tables[3].add(id, key, v, 0, start, 0)
			tables[4].add(id, key, v, 0, start, 0)
		}
	}
	for _, t := range tables {
		if err := t.flush(ctx, d, tx); err != nil {
			return err
		}
	}
	return nil
}

// niceLoad runs mlgateLoad in a child process of this program at the
// lowest CPU priority (nice 19): loading is not what is measured, and the
// machine may be shared.
func niceLoad(ctx context.Context, cfg *config, uri string, n int64) (string, int64, error) {
	self, err := os.Executable()
	if err != nil {
		return "", 0, err
	}
	cmd := exec.CommandContext(ctx, "nice", "-n", fmt.Sprint(cfg.nice), self, "-load-only", uri, "-sizes", fmt.Sprint(n))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", 0, fmt.Errorf("load: %w: %s", err, tail(stderr.String(), 800))
	}
	f := strings.Fields(string(out))
	if len(f) != 2 {
		return "", 0, fmt.Errorf("load printed %q", out)
	}
	have, err := strconv.ParseInt(f[1], 10, 64)
	return f[0], have, err
}

func experimentID(ctx context.Context, s *store.Store) (string, error) {
	e, err := s.GetExperimentByName(ctx, curveExperiment)
	if err == nil {
		return e.ID, nil
	}
	return s.CreateExperiment(ctx, curveExperiment, "", nil)
}
