//go:build cgo

package db

import (
	_ "github.com/mattn/go-sqlite3" // registers the "sqlite3" driver
)

// With cgo, SQLite is the C library compiled in (mattn/go-sqlite3): it
// reads rows about 2.7 times faster than the pure-Go translation.
const sqliteDriver = "sqlite3"

// sqliteDSN is the connection string for path (":memory:" for a shared
// in-memory database): a 10 s busy timeout, foreign keys, a
// case-sensitive LIKE as MLflow's SQLite store expects, write
// transactions that take the lock when they begin, and WAL for files.
func sqliteDSN(path string) string {
	dsn := "file::memory:?cache=shared"
	if path != ":memory:" {
		dsn = "file:" + path
	}
	dsn += sep(dsn) + "_busy_timeout=10000&_foreign_keys=1&_cslike=1&_txlock=immediate"
	if path != ":memory:" {
		dsn += "&_journal_mode=WAL&_synchronous=NORMAL"
	}
	return dsn
}
