//go:build !cgo

package db

import (
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Without cgo, SQLite is modernc.org/sqlite, its pure-Go translation,
// with the same settings in its own connection-string syntax.
const (
	sqliteDriver     = "sqlite"
	sqliteParams     = "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=case_sensitive_like(1)&_txlock=immediate"
	sqliteFileParams = "&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"
)
