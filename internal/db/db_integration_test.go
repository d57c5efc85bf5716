//go:build integration

package db_test

import (
	"context"
	"database/sql"
	"sync"
	"testing"

	"github.com/mlgate/mlgate/internal/db"
	"github.com/mlgate/mlgate/internal/db/dbtest"
)

func TestBothBackendsMigrateAndSerialise(t *testing.T) {
	for _, b := range dbtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			d := dbtest.Open(t, b)
			ctx := context.Background()
			ms := []db.Migration{{Version: 1, SQL: `CREATE TABLE c (name TEXT PRIMARY KEY, n INTEGER NOT NULL); INSERT INTO c VALUES ('a', 0)`}}
			if err := d.Migrate(ctx, "t", ms); err != nil {
				t.Fatal(err)
			}
			if err := d.Migrate(ctx, "t", ms); err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			for i := 0; i < 4; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for j := 0; j < 20; j++ {
						if err := d.Tx(ctx, func(tx *sql.Tx) error {
							_, err := tx.ExecContext(ctx, d.Rebind(`UPDATE c SET n = n + ? WHERE name = 'a'`), 1)
							return err
						}); err != nil {
							t.Error(err)
						}
					}
				}()
			}
			wg.Wait()
			var n int
			if err := d.QueryRowContext(ctx, `SELECT n FROM c WHERE name = 'a'`).Scan(&n); err != nil || n != 80 {
				t.Fatalf("n=%d err=%v, want 80", n, err)
			}
		})
	}
}

// TestReplicasMigrateOneEmptyDatabaseAtOnce starts several "processes"
// (separate connection pools) migrating one empty database at the same
// moment, as replicas of `mlgate server` do when they start together: every
// one succeeds and each version is applied once.
func TestReplicasMigrateOneEmptyDatabaseAtOnce(t *testing.T) {
	for _, b := range dbtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ms := []db.Migration{
				{Version: 1, SQL: `CREATE TABLE a (id INTEGER PRIMARY KEY); CREATE INDEX a_id ON a (id)`},
				{Version: 2, SQL: `CREATE TABLE b (id INTEGER PRIMARY KEY); INSERT INTO b VALUES (1)`},
			}
			handles := dbtest.Replicas(t, b, 6, func(ctx context.Context, d *db.DB) (*db.DB, error) {
				return d, d.Migrate(ctx, "race", ms)
			})
			ctx := context.Background()
			var applied, rows int
			if err := handles[0].QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE component = 'race'`).Scan(&applied); err != nil {
				t.Fatal(err)
			}
			if err := handles[0].QueryRowContext(ctx, `SELECT COUNT(*) FROM b`).Scan(&rows); err != nil {
				t.Fatal(err)
			}
			if applied != 2 || rows != 1 {
				t.Fatalf("applied %d versions and b has %d rows, want 2 and 1", applied, rows)
			}
		})
	}
}
