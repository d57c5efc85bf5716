package auth

import (
	"crypto/sha256"
	"sync"
	"sync/atomic"
	"time"
)

// cache is the memory of the per-request check path: credentials that
// passed bcrypt (keyed by credKey, so bcrypt runs once per credential and
// no password is kept), a user's grants, a run's experiment. It is
// bounded (dropped whole when full) and invalidated as a whole by every
// write to what it caches.
//
// A read that misses takes the generation before it asks the store and
// puts its answer under that generation: when a write invalidated the
// cache meanwhile, the answer may predate the write and is not kept, so a
// revoked grant cannot come back from a read that raced the revoke.
//
// With ttl set, entries older than ttl are returned as stale: the caller
// checks them against the store again (cheaply: a grants read, a user row
// compared with the hash that was verified), which bounds how long a
// write made by another server sharing the database goes unseen.
type cache[K comparable, V any] struct {
	max   int
	ttl   time.Duration
	now   func() time.Time
	epoch time.Time

	mu  sync.RWMutex
	gen atomic.Uint64 // changed under mu; read without it by current
	m   map[K]cached[V]
}

// cached is an entry and when it was kept, as the time since the cache's
// epoch (not a time.Time: its location pointer would make the collector
// scan every entry of a cache whose keys and values hold none, such as
// the runs'; and the monotonic clock, not the wall clock, ages entries).
type cached[V any] struct {
	v  V
	at time.Duration
}

func newCache[K comparable, V any](max int, ttl time.Duration) *cache[K, V] {
	return &cache[K, V]{max: max, ttl: ttl, now: time.Now, epoch: time.Now(), m: map[K]cached[V]{}}
}

// get returns the value of k, whether there is one and whether it is
// fresh (younger than ttl, or ttl unset).
func (c *cache[K, V]) get(k K) (v V, ok, fresh bool) {
	v, at, ok := c.getAt(k)
	return v, ok, ok && c.fresh(at)
}

// getAt returns the value of k and when it was kept.
func (c *cache[K, V]) getAt(k K) (v V, at time.Duration, ok bool) {
	c.mu.RLock()
	e, ok := c.m[k]
	c.mu.RUnlock()
	return e.v, e.at, ok
}

// fresh reports whether an entry kept at at is younger than ttl.
func (c *cache[K, V]) fresh(at time.Duration) bool {
	return c.ttl == 0 || c.now().Sub(c.epoch)-at < c.ttl
}

// current reports whether an entry kept at at, read in generation gen,
// would still be returned fresh: nothing was invalidated since and it is
// younger than ttl. A copy of an entry kept elsewhere (a connection's
// sign-in) is trusted exactly as long as the entry.
func (c *cache[K, V]) current(gen uint64, at time.Duration) bool {
	return c.gen.Load() == gen && c.fresh(at)
}

// generation is what a read of the store that will fill the cache takes
// before it starts.
func (c *cache[K, V]) generation() uint64 {
	return c.gen.Load()
}

// put keeps v for k unless the cache was invalidated since gen, and
// returns when it was kept and whether it was.
func (c *cache[K, V]) put(k K, v V, gen uint64) (time.Duration, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen.Load() {
		return 0, false
	}
	if _, ok := c.m[k]; !ok && len(c.m) >= c.max {
		c.m = map[K]cached[V]{}
	}
	e := cached[V]{v: v}
	if c.ttl > 0 {
		e.at = c.now().Sub(c.epoch)
	}
	c.m[k] = e
	return e.at, true
}

// invalidate forgets everything and fails the puts of reads in flight.
func (c *cache[K, V]) invalidate() {
	c.mu.Lock()
	c.gen.Add(1)
	c.m = map[K]cached[V]{}
	c.mu.Unlock()
}

// credKey is the cache key of credentials: a SHA-256 of their kind, name
// and secret, NUL-separated (from strings or from bytes, so that a header
// decoded on the stack needs no copy).
func credKey[T string | []byte](kind string, name, secret T) [32]byte {
	var buf [256]byte
	b := append(append(append(append(append(buf[:0], kind...), 0), name...), 0), secret...)
	return sha256.Sum256(b)
}
