//go:build integration

package db_test

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/mlgate/mlgate/internal/db/dbtest"
)

// TestWriteLimit checks that a PostgreSQL store runs at most the set
// number of write transactions at once, that the others wait for a slot
// (all of them commit), and that a caller whose context ends while it
// waits gets its error.
func TestWriteLimit(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t, dbtest.Backend{Name: "postgres", URI: dbtest.PostgresURI})
	d.SetWriteLimit(2)
	if _, err := d.ExecContext(ctx, `CREATE TABLE w (n INTEGER)`); err != nil {
		t.Fatal(err)
	}
	var inFlight, most atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 5 {
				err := d.Tx(ctx, func(tx *sql.Tx) error {
					n := inFlight.Add(1)
					defer inFlight.Add(-1)
					for {
						m := most.Load()
						if n <= m || most.CompareAndSwap(m, n) {
							break
						}
					}
					_, err := tx.ExecContext(ctx, `INSERT INTO w SELECT 1 FROM pg_sleep(0.005)`)
					return err
				})
				if err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if m := most.Load(); m > 2 {
		t.Fatalf("%d write transactions at once, limit 2", m)
	}
	var rows int
	if err := d.QueryRowContext(ctx, `SELECT COUNT(*) FROM w`).Scan(&rows); err != nil || rows != 40 {
		t.Fatalf("%d rows (%v), want 40", rows, err)
	}
	// Both slots held: a caller with an ended context gives up waiting.
	hold, release := make(chan struct{}), make(chan struct{})
	for range 2 {
		wg.Go(func() {
			_ = d.Tx(ctx, func(*sql.Tx) error { hold <- struct{}{}; <-release; return nil })
		})
	}
	<-hold
	<-hold
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	ran := false
	err := d.Tx(cctx, func(*sql.Tx) error { ran = true; return nil })
	close(release)
	wg.Wait()
	if !errors.Is(err, context.Canceled) || ran {
		t.Fatalf("Tx with a canceled context while the slots are taken: ran %v, err %v", ran, err)
	}
}
