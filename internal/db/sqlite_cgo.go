//go:build cgo

package db

import (
	_ "github.com/mattn/go-sqlite3" // registers the "sqlite3" driver
)

// With cgo, SQLite is the C library compiled in (mattn/go-sqlite3): about
// a quarter less CPU per search than the pure-Go translation.
// sqliteParams apply to every connection, sqliteFileParams to a file
// database's.
const (
	sqliteDriver     = "sqlite3"
	sqliteParams     = "_busy_timeout=10000&_foreign_keys=1&_cslike=1&_txlock=immediate"
	sqliteFileParams = "&_journal_mode=WAL&_synchronous=NORMAL"
)
