package db

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"sync"
	"testing"
)

var testMigrations = []Migration{
	{Version: 1, SQL: `CREATE TABLE counters (name TEXT PRIMARY KEY, n INTEGER NOT NULL)`},
	{Version: 2, SQL: `INSERT INTO counters (name, n) VALUES ('a', 0)`},
}

func openTemp(t *testing.T) *DB {
	t.Helper()
	d, err := Open(context.Background(), "sqlite:///"+filepath.Join(t.TempDir(), "x.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func TestOpenRejectsUnknownScheme(t *testing.T) {
	for _, uri := range []string{"mysql://x/y", "sqlite://", "::"} {
		if _, err := Open(context.Background(), uri); !errors.Is(err, ErrBadURI) {
			t.Errorf("%q: err %v, want ErrBadURI", uri, err)
		}
	}
}

func TestMigrateTwiceIsNoop(t *testing.T) {
	d := openTemp(t)
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		if err := d.Migrate(ctx, "test", testMigrations); err != nil {
			t.Fatal(err)
		}
	}
	var n int
	if err := d.QueryRow(`SELECT COUNT(*) FROM counters`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("rows %d, err %v; want 1 row after two migrations", n, err)
	}
}

func TestConcurrentTxLoseNothing(t *testing.T) {
	d := openTemp(t)
	ctx := context.Background()
	if err := d.Migrate(ctx, "test", testMigrations); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 25; j++ {
				err := d.Tx(ctx, func(tx *sql.Tx) error {
					var n int
					if err := tx.QueryRow(`SELECT n FROM counters WHERE name='a'`).Scan(&n); err != nil {
						return err
					}
					_, err := tx.Exec(`UPDATE counters SET n = ? WHERE name='a'`, n+1)
					return err
				})
				if err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	var n int
	if err := d.QueryRow(`SELECT n FROM counters WHERE name='a'`).Scan(&n); err != nil || n != 200 {
		t.Fatalf("counter %d (err %v), want 200", n, err)
	}
}

func TestRebind(t *testing.T) {
	d := &DB{Dialect: Postgres}
	if got := d.Rebind(`SELECT * FROM t WHERE a = ? AND b = '?' AND c = ?`); got != `SELECT * FROM t WHERE a = $1 AND b = '?' AND c = $2` {
		t.Fatal(got)
	}
}

// Both SQLite drivers (cgo's C library, the pure-Go one without cgo) get
// the same settings from their connection strings, on every connection.
func TestSQLiteSettings(t *testing.T) {
	ctx := context.Background()
	mem, err := Open(ctx, "sqlite:///:memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mem.Close() })
	for name, d := range map[string]*DB{"file": openTemp(t), "memory": mem} {
		d.SetMaxIdleConns(0) // every query below on a fresh connection
		want := map[string]string{"busy_timeout": "10000", "foreign_keys": "1", "journal_mode": "wal", "synchronous": "1"}
		if name == "memory" {
			want["journal_mode"] = "memory" // and synchronous is moot
			delete(want, "synchronous")
		}
		for pragma, w := range want {
			var got string
			if err := d.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != w {
				t.Errorf("%s: PRAGMA %s = %s, want %s", name, pragma, got, w)
			}
		}
		var like int
		if err := d.QueryRowContext(ctx, "SELECT 'abc' LIKE 'ABC'").Scan(&like); err != nil {
			t.Fatal(err)
		}
		if like != 0 {
			t.Errorf("%s: LIKE ignores case: MLflow's SQLite store matches it case-sensitively", name)
		}
	}
}
