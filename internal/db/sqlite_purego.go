//go:build !cgo

package db

import (
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Without cgo, SQLite is modernc.org/sqlite, its pure-Go translation.
const sqliteDriver = "sqlite"

// sqliteDSN is the connection string for path (":memory:" for a shared
// in-memory database), with the same settings as the cgo build's.
func sqliteDSN(path string) string {
	dsn := "file::memory:?cache=shared"
	if path != ":memory:" {
		dsn = "file:" + path
	}
	dsn += sep(dsn) + "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=case_sensitive_like(1)&_txlock=immediate"
	if path != ":memory:" {
		dsn += "&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"
	}
	return dsn
}
