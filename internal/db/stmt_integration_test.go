//go:build integration

package db_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/mlgate/mlgate/internal/db"
	"github.com/mlgate/mlgate/internal/db/dbtest"
)

// TestStatementsOutliveSchemaChangesAndConnections runs the same texts
// through db.Q before and after this process's migration adds a column,
// another process (a second pool on the database) replaces the table with
// one whose column has another type, and the pool's connections are
// closed (idle ones dropped; on PostgreSQL also terminated by the server):
// every answer is the current schema's and data's, on the pool and in
// transactions.
func TestStatementsOutliveSchemaChangesAndConnections(t *testing.T) {
	for _, b := range dbtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			uri := b.URI(t)
			ctx := context.Background()
			open := func() *db.DB {
				d, err := db.Open(ctx, uri)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = d.Close() })
				return d
			}
			d, other := open(), open()
			ms := []db.Migration{{Version: 1, SQL: `CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER NOT NULL); INSERT INTO t (id, a) VALUES (1, 10)`}}
			if err := d.Migrate(ctx, "stmt", ms); err != nil {
				t.Fatal(err)
			}
			const all, one = `SELECT * FROM t WHERE id = ?`, `SELECT a FROM t WHERE id = ?`
			columns := func(want int) {
				t.Helper()
				rows, err := d.Q(nil).QueryContext(ctx, all, 1)
				if err != nil {
					t.Fatal(err)
				}
				defer func() { _ = rows.Close() }()
				cols, err := rows.Columns()
				if err != nil || len(cols) != want || !rows.Next() {
					t.Fatalf("columns %v (err %v, rows %v), want %d and a row", cols, err, rows.Err(), want)
				}
			}
			value := func(want string) {
				t.Helper()
				var got string
				if err := d.Tx(ctx, func(tx *sql.Tx) error {
					return d.Q(tx).QueryRowContext(ctx, one, 1).Scan(&got)
				}); err != nil || got != want {
					t.Fatalf("in a transaction: %q (err %v), want %q", got, err, want)
				}
				rows, err := d.Q(nil).QueryContext(ctx, one, 1)
				if err != nil {
					t.Fatal(err)
				}
				defer func() { _ = rows.Close() }()
				if !rows.Next() || rows.Scan(&got) != nil || got != want {
					t.Fatalf("on the pool: %q (err %v), want %q", got, rows.Err(), want)
				}
			}
			columns(2)
			value("10")

			ms = append(ms, db.Migration{Version: 2, SQL: `ALTER TABLE t ADD COLUMN b TEXT NOT NULL DEFAULT 'x'`})
			if err := d.Migrate(ctx, "stmt", ms); err != nil {
				t.Fatal(err)
			}
			columns(3)

			if _, err := other.ExecContext(ctx, `DROP TABLE t`); err != nil {
				t.Fatal(err)
			}
			if _, err := other.ExecContext(ctx, `CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT NOT NULL)`); err != nil {
				t.Fatal(err)
			}
			if _, err := other.ExecContext(ctx, `INSERT INTO t (id, a) VALUES (1, 'replaced')`); err != nil {
				t.Fatal(err)
			}
			value("replaced")
			columns(2)

			d.SetMaxIdleConns(0) // closes the idle connections and their statements
			d.SetMaxIdleConns(2)
			value("replaced")
			if b.Name == "postgres" {
				if _, err := other.ExecContext(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
					WHERE datname = current_database() AND pid <> pg_backend_pid()`); err != nil {
					t.Fatal(err)
				}
				time.Sleep(1100 * time.Millisecond) // pgx checks a connection idle for over 1 s before use
			}
			value("replaced")
			columns(2)
		})
	}
}
