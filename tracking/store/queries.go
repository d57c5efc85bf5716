package store

import (
	"github.com/mlgate/mlgate/internal/db"
)

// queries rebinds ?-placeholder SQL to the store's dialect. It serves the
// SQL whose text is built per request (searches, IN lists), which is
// rebound on each call and not kept: fixed statements go through
// db.Q, which prepares them once and keeps a bounded number.
type queries struct {
	d *db.DB
}

func prepareQueries(d *db.DB) queries { return queries{d: d} }

// r returns q in the store's dialect.
func (q queries) r(s string) string { return q.d.Rebind(s) }
