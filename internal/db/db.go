// Package db opens the SQL stores that tracking and the registry share
// (embedded SQLite, or PostgreSQL through pgx),
// applies their versioned schema migrations and runs transactions with
// retries. It knows no MLflow entity; tracking and registry own their
// tables and queries. It imports no mlgate package.
package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
)

// Dialect is the SQL flavour of a store.
type Dialect int

// The supported dialects.
const (
	SQLite Dialect = iota
	Postgres
)

// String names the dialect.
func (d Dialect) String() string {
	if d == Postgres {
		return "postgresql"
	}
	return "sqlite"
}

// DB is an open store.
type DB struct {
	*sql.DB
	Dialect Dialect
	// URI is the store URI it was opened from, with any password removed.
	URI string
	// wmu serialises SQLite write transactions inside the process, so
	// concurrent writers queue on a mutex instead of polling SQLite's busy
	// handler (which sleeps up to 100 ms between tries).
	wmu *sync.Mutex
	// stmts are the statements Q prepared.
	stmts *stmtCache
	// oneConn marks a pool of one connection (SQLite in memory).
	oneConn bool
	// wsem bounds the write transactions in flight on PostgreSQL (nil:
	// no bound); see SetWriteLimit.
	wsem chan struct{}
}

// SetWriteLimit bounds the write transactions (Tx) a PostgreSQL store runs
// at once to n (n <= 0: no bound). Each one keeps a PostgreSQL backend
// busy; on a machine whose cores the database shares with the server,
// unbounded writers take all of them and reads wait for a CPU. SQLite runs
// one write at a time already. Call it before use.
func (d *DB) SetWriteLimit(n int) {
	if d.Dialect != Postgres || n <= 0 {
		d.wsem = nil
		return
	}
	d.wsem = make(chan struct{}, n)
}

// sqliteIdleConns is how many idle connections a SQLite file store keeps.
const sqliteIdleConns = 8

// ErrBadURI is returned for a backend store URI that is not understood.
var ErrBadURI = errors.New("unsupported backend store URI")

// Open opens the store named by uri: sqlite:///relative.db,
// sqlite:////abs/path.db, sqlite:///:memory: or
// postgresql://user:pass@host:port/db (also postgres://).
func Open(ctx context.Context, uri string) (*DB, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return nil, fmt.Errorf("%w %q: %w", ErrBadURI, uri, err)
	}
	var d *DB
	switch strings.ToLower(u.Scheme) {
	case "sqlite":
		path := strings.TrimPrefix(uri[len(u.Scheme)+1:], "//")
		path = strings.TrimPrefix(path, "/") // sqlite:///x.db → x.db; sqlite:////abs → /abs
		if i := strings.IndexByte(path, '?'); i >= 0 {
			path = path[:i]
		}
		if path == "" {
			return nil, fmt.Errorf("%w %q: no database path", ErrBadURI, uri)
		}
		if path != ":memory:" {
			if dir := filepath.Dir(path); dir != "." {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					return nil, fmt.Errorf("sqlite store folder: %w", err)
				}
			}
		}
		sdb, err := sql.Open(sqliteDriver, sqliteDSN(path))
		if err != nil {
			return nil, err
		}
		d = &DB{DB: sdb, Dialect: SQLite, URI: uri, wmu: &sync.Mutex{}}
		if path == ":memory:" {
			sdb.SetMaxOpenConns(1)
			d.oneConn = true
		} else {
			// Keep the connections a burst of requests opened: a new one
			// reads the schema and prepares every statement again (the
			// default keeps 2, so 16 concurrent requests opened and closed
			// connections all the time). Idle ones close after a minute.
			sdb.SetMaxIdleConns(sqliteIdleConns)
			sdb.SetConnMaxIdleTime(time.Minute)
		}
	case "postgresql", "postgres":
		sdb, err := sql.Open("pgx", "postgres"+uri[len(u.Scheme):])
		if err != nil {
			return nil, err
		}
		sdb.SetMaxOpenConns(32)
		sdb.SetMaxIdleConns(16)
		red := *u
		if _, ok := red.User.Password(); ok {
			red.User = url.UserPassword(red.User.Username(), "xxxxx")
		}
		d = &DB{DB: sdb, Dialect: Postgres, URI: red.String()}
	default:
		return nil, fmt.Errorf("%w %q: want sqlite:///path.db or postgresql://…", ErrBadURI, uri)
	}
	d.stmts = newStmtCache(MaxStatements, MaxStatementBytes, MaxStatementText)
	pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := d.PingContext(pctx); err != nil {
		_ = d.Close()
		return nil, fmt.Errorf("open %s store: %w", d.Dialect, err)
	}
	return d, nil
}

// sqliteDSN is the connection string for path (":memory:" for a shared
// in-memory database): a 10 s busy timeout, foreign keys, a
// case-sensitive LIKE as MLflow's SQLite store expects, write
// transactions that take the lock when they begin, and WAL for files.
func sqliteDSN(path string) string {
	if path == ":memory:" {
		return "file::memory:?cache=shared&" + sqliteParams
	}
	return "file:" + path + "?" + sqliteParams + sqliteFileParams // Open cut any query from path
}

// Rebind turns ? placeholders into $1, $2, … for PostgreSQL. Queries are
// written with ? and passed through Rebind once (at package init or first
// use), never per call on a hot path.
func (d *DB) Rebind(q string) string {
	if d.Dialect != Postgres {
		return q
	}
	var b strings.Builder
	n := 0
	inStr := false
	for i := 0; i < len(q); i++ {
		c := q[i]
		if c == '\'' {
			inStr = !inStr
		}
		if c == '?' && !inStr {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// Tx runs fn in a transaction, committing when it returns nil. Conflicts
// that the database reports as retryable (SQLite busy, PostgreSQL
// serialization failure or deadlock, a prepared statement gone stale: see
// Q) are retried a few times with backoff.
func (d *DB) Tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if d.wmu != nil {
		d.wmu.Lock()
		defer d.wmu.Unlock()
	}
	if d.wsem != nil {
		select {
		case d.wsem <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		defer func() { <-d.wsem }()
	}
	var err error
	for attempt := 0; attempt < 8; attempt++ {
		err = d.tx(ctx, fn)
		if err == nil || !retryable(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(time.Duration(1<<attempt) * 5 * time.Millisecond):
		}
	}
	return err
}

func (d *DB) tx(ctx context.Context, fn func(tx *sql.Tx) error) (err error) {
	tx, err := d.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback()
			panic(p)
		}
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

func retryable(err error) bool {
	s := err.Error()
	return strings.Contains(s, "SQLITE_BUSY") || strings.Contains(s, "database is locked") ||
		strings.Contains(s, "SQLSTATE 40001") || strings.Contains(s, "SQLSTATE 40P01") || stalePlan(err)
}

// IsUniqueViolation reports whether err is a unique or primary key
// violation (SQLite's constraint error, PostgreSQL's SQLSTATE 23505): the
// loser of two writers creating the same row gets it.
func IsUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	s := err.Error()
	return strings.Contains(s, "UNIQUE constraint failed") || strings.Contains(s, "SQLSTATE 23505") ||
		strings.Contains(s, "constraint failed: PRIMARY KEY")
}

// Migration is one schema step of a component.
type Migration struct {
	Version int
	// SQL is run for every dialect unless the dialect-specific field is set.
	SQL      string
	SQLite   string
	Postgres string
}

// migrateLock is the PostgreSQL advisory lock key ("mlgate" in ASCII)
// that serialises the schema migrations of every process on one database.
const migrateLock int64 = 0x6d6c67617465

// Migrate applies component's migrations that are not applied yet, in
// version order, each in its own transaction, and records them in
// schema_migrations. Running it again is a no-op. Several processes may
// migrate one database at once (replicas starting together): on SQLite the
// immediate transactions serialise them; on PostgreSQL, where concurrent
// DDL on an empty database fails instead of waiting, every step first takes
// a transaction-scoped advisory lock, so one process applies a version and
// the others find it applied.
func (d *DB) Migrate(ctx context.Context, component string, migrations []Migration) error {
	err := d.migrationTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		component TEXT NOT NULL, version INTEGER NOT NULL, applied_at BIGINT NOT NULL,
		PRIMARY KEY (component, version))`)
		return err
	})
	if err != nil {
		return fmt.Errorf("migrate %s: %w", component, err)
	}
	for _, m := range migrations {
		applied := false
		err := d.migrationTx(ctx, func(tx *sql.Tx) error {
			var n int
			if err := tx.QueryRowContext(ctx, d.Rebind(`SELECT COUNT(*) FROM schema_migrations WHERE component = ? AND version = ?`), component, m.Version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			q := m.SQL
			if d.Dialect == SQLite && m.SQLite != "" {
				q = m.SQLite
			}
			if d.Dialect == Postgres && m.Postgres != "" {
				q = m.Postgres
			}
			for _, stmt := range splitStatements(q) {
				if _, err := tx.ExecContext(ctx, stmt); err != nil {
					return fmt.Errorf("version %d: %w", m.Version, err)
				}
			}
			_, err := tx.ExecContext(ctx, d.Rebind(`INSERT INTO schema_migrations (component, version, applied_at) VALUES (?, ?, ?)`),
				component, m.Version, time.Now().UnixMilli())
			applied = err == nil
			return err
		})
		if applied && d.stmts != nil {
			// SQLite prepares a statement again when the schema changed
			// under it; dropping them all keeps no statement of a table
			// that is gone.
			d.stmts.reset()
		}
		if err != nil {
			return fmt.Errorf("migrate %s: %w", component, err)
		}
	}
	return nil
}

// migrationTx runs fn in a transaction that, on PostgreSQL, first takes
// the migration advisory lock (released at commit or rollback).
func (d *DB) migrationTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return d.Tx(ctx, func(tx *sql.Tx) error {
		if d.Dialect == Postgres {
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, migrateLock); err != nil {
				return fmt.Errorf("migration lock: %w", err)
			}
		}
		return fn(tx)
	})
}

func splitStatements(q string) []string {
	var out []string
	for _, s := range strings.Split(q, ";") {
		if strings.TrimSpace(s) != "" {
			out = append(out, s)
		}
	}
	return out
}
