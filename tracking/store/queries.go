package store

import (
	"sync"

	"github.com/mlgate/mlgate/internal/db"
)

// queries rebinds ?-placeholder SQL to the store's dialect once per
// distinct statement text and remembers the result.
type queries struct {
	d     *db.DB
	cache *sync.Map
}

func prepareQueries(d *db.DB) queries { return queries{d: d, cache: &sync.Map{}} }

// r returns q in the store's dialect.
func (q queries) r(s string) string {
	if q.d.Dialect != db.Postgres {
		return s
	}
	if v, ok := q.cache.Load(s); ok {
		return v.(string)
	}
	out := q.d.Rebind(s)
	q.cache.Store(s, out)
	return out
}
