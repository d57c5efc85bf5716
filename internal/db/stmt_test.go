package db

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func openCounters(t *testing.T) *DB {
	t.Helper()
	d := openTemp(t)
	if err := d.Migrate(context.Background(), "test", testMigrations); err != nil {
		t.Fatal(err)
	}
	return d
}

// TestStatementPreparedOnce: one text run many times, on the pool and in
// transactions, is prepared once, and every call sees the current data.
func TestStatementPreparedOnce(t *testing.T) {
	d := openCounters(t)
	ctx := context.Background()
	_, _, before := d.stmts.stats()
	for i := 1; i <= 20; i++ {
		err := d.Tx(ctx, func(tx *sql.Tx) error {
			_, err := d.Q(tx).ExecContext(ctx, `UPDATE counters SET n = n + ? WHERE name = ?`, 1, "a")
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.Q(nil).ExecContext(ctx, `UPDATE counters SET n = n + ? WHERE name = ?`, 1, "a"); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := d.Q(nil).QueryRowContext(ctx, `SELECT n FROM counters WHERE name = ?`, "a").Scan(&n); err != nil || n != 2*i {
			t.Fatalf("n = %d (err %v), want %d", n, err, 2*i)
		}
	}
	cached, _, after := d.stmts.stats()
	if after-before != 2 || cached != 2 {
		t.Fatalf("prepared %d statements, %d cached; want 2 and 2 (one per text)", after-before, cached)
	}
}

// TestStatementCacheBounded: texts that vary (as IN lists do) never keep
// more statements or bytes than the bounds; a text over the size bound
// runs unprepared; every answer is right while statements are evicted,
// also from a result set still open and under concurrent use.
func TestStatementCacheBounded(t *testing.T) {
	d := openCounters(t)
	ctx := context.Background()
	d.stmts = newStmtCache(4, 600, 200)
	query := func(i int) string { return fmt.Sprintf(`SELECT n + %d FROM counters WHERE name = ?`, i) }
	open, err := d.Q(nil).QueryContext(ctx, query(1000), "a") // stays open while evicted
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 50; i++ {
		var n int
		if err := d.Q(nil).QueryRowContext(ctx, query(i), "a").Scan(&n); err != nil || n != i {
			t.Fatalf("query %d: %d, %v", i, n, err)
		}
		cached, bytes, _ := d.stmts.stats()
		if cached > 4 || bytes > 600 {
			t.Fatalf("after %d texts: %d statements of %d bytes cached, bounds 4 and 600", i+1, cached, bytes)
		}
	}
	var n int
	if !open.Next() {
		t.Fatalf("evicted statement's open rows: %v", open.Err())
	}
	if err := open.Scan(&n); err != nil || n != 1000 {
		t.Fatalf("evicted statement's open rows: %d, %v", n, err)
	}
	_ = open.Close()

	// Long texts (3 × 150 bytes passes the 400-byte budget): fewer kept.
	pad := strings.Repeat(" ", 110)
	for i := 0; i < 10; i++ {
		if err := d.Q(nil).QueryRowContext(ctx, query(i)+pad, "a").Scan(&n); err != nil || n != i {
			t.Fatalf("padded query %d: %d, %v", i, n, err)
		}
	}
	if cached, bytes, _ := d.stmts.stats(); bytes > 600 || cached > 4 {
		t.Fatalf("%d statements of %d bytes cached, bounds 4 and 600", cached, bytes)
	}
	_, _, before := d.stmts.stats()
	long := query(7) + strings.Repeat(" ", 300)
	if err := d.Q(nil).QueryRowContext(ctx, long, "a").Scan(&n); err != nil || n != 7 {
		t.Fatalf("long text: %d, %v", n, err)
	}
	if _, _, after := d.stmts.stats(); after != before {
		t.Fatal("a text over the size bound was prepared")
	}

	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				k := (g + i) % 9
				var n int
				var err error
				if i%3 == 0 {
					err = d.Tx(ctx, func(tx *sql.Tx) error { return d.Q(tx).QueryRowContext(ctx, query(k), "a").Scan(&n) })
				} else {
					err = d.Q(nil).QueryRowContext(ctx, query(k), "a").Scan(&n)
				}
				if err != nil || n != k {
					t.Errorf("concurrent query %d: %d, %v", k, n, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if cached, _, _ := d.stmts.stats(); cached > 4 {
		t.Fatalf("%d statements cached after concurrent use, bound 4", cached)
	}
}

// TestMemoryStoreTransactionsDoNotWait: SQLite in memory has one
// connection, held by a transaction: a statement first met inside it runs
// without waiting for a connection to prepare it on.
func TestMemoryStoreTransactionsDoNotWait(t *testing.T) {
	d, err := Open(context.Background(), "sqlite:///:memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = d.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // a wait for the connection fails, not hangs
	defer cancel()
	if err := d.Migrate(ctx, "test", testMigrations); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		err := d.Tx(ctx, func(tx *sql.Tx) error {
			_, err := d.Q(tx).ExecContext(ctx, `UPDATE counters SET n = n + 1 WHERE name = ?`, "a")
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		var n int
		if err := d.Q(nil).QueryRowContext(ctx, `SELECT n FROM counters WHERE name = ?`, "a").Scan(&n); err != nil || n != i+1 {
			t.Fatalf("n = %d, %v", n, err)
		}
	}
}

// TestSQLiteKeepsBurstConnections: the connections a burst of concurrent
// requests opened stay open (with their prepared statements) instead of
// being closed as each request ends.
func TestSQLiteKeepsBurstConnections(t *testing.T) {
	d := openCounters(t)
	ctx := context.Background()
	conns := make([]*sql.Conn, sqliteIdleConns)
	for i := range conns {
		c, err := d.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns[i] = c
	}
	for _, c := range conns {
		_ = c.Close()
	}
	if st := d.Stats(); st.Idle != sqliteIdleConns {
		t.Fatalf("%d idle connections after a burst of %d, want all kept", st.Idle, sqliteIdleConns)
	}
}
