package db

import (
	"container/list"
	"context"
	"database/sql"
	"strings"
	"sync"
)

// Querier runs SQL: *sql.DB, *sql.Tx and *sql.Conn satisfy it, and so
// does Q, which runs prepared statements.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// Bounds of the prepared statements a DB keeps: at most MaxStatements,
// their texts MaxStatementBytes in all (a statement's compiled program
// grows with its text, and each connection holds its own copy); the least
// recently used are closed first. A text longer than MaxStatementText (a
// multi-row insert of a thousand rows) is run unprepared.
const (
	MaxStatements     = 256
	MaxStatementBytes = 512 << 10
	MaxStatementText  = 32 << 10
)

// Q runs statements written with ? placeholders, each prepared once per
// distinct text and reused after it. On SQLite a Q prepares the text (on
// each connection as it comes to use it, and inside transactions through
// Tx.StmtContext): SQLite then parses a statement once per connection
// instead of once per call. On PostgreSQL pgx already prepares every text
// once per connection (its statement cache, which also forgets a
// statement whose plan went stale after a schema change), so a Q only
// rebinds the text once and passes it on; a statement whose result
// columns another process changed fails once per connection, and is run
// again at once outside transactions (see again), while Tx retries the
// transaction. A QueryRowContext outside a transaction reports it (a Row
// hides its error until Scan): the store's queries name their columns, so
// only a change of a column's type does that.
//
// Give a Q only SQL whose text does not depend on the input; SQL built per
// request (IN lists of any length, searches) goes through Raw, unprepared,
// so that it does not churn the bounded cache.
type Q struct {
	d  *DB
	tx *sql.Tx
}

// Q returns the prepared-statement runner on d's pool, or inside tx when
// tx is not nil.
func (d *DB) Q(tx *sql.Tx) Q { return Q{d: d, tx: tx} }

// Raw returns what Q runs on (the pool or the transaction), for SQL whose
// text depends on the input; it is to be rebound by the caller.
func (q Q) Raw() Querier {
	if q.tx != nil {
		return q.tx
	}
	return q.d.DB
}

// Raw returns the unprepared runner under q when q is a Q, else q itself.
func Raw(q Querier) Querier {
	if p, ok := q.(Q); ok {
		return p.Raw()
	}
	return q
}

// ExecContext runs query, prepared, with args.
func (q Q) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	e, err := q.d.stmts.get(ctx, q.d, query, q.tx != nil)
	if err != nil {
		return nil, err
	}
	defer q.d.stmts.release(e)
	if e.st == nil {
		res, err := q.Raw().ExecContext(ctx, e.sql, args...)
		if err != nil && q.again(err) {
			return q.Raw().ExecContext(ctx, e.sql, args...)
		}
		return res, err
	}
	return q.stmt(ctx, e).ExecContext(ctx, args...)
}

// QueryContext runs query, prepared, with args.
func (q Q) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	e, err := q.d.stmts.get(ctx, q.d, query, q.tx != nil)
	if err != nil {
		return nil, err
	}
	defer q.d.stmts.release(e)
	if e.st == nil {
		rows, err := q.Raw().QueryContext(ctx, e.sql, args...)
		if err != nil && q.again(err) {
			return q.Raw().QueryContext(ctx, e.sql, args...)
		}
		return rows, err
	}
	return q.stmt(ctx, e).QueryContext(ctx, args...)
}

// QueryRowContext runs query, prepared, with args.
func (q Q) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	e, err := q.d.stmts.get(ctx, q.d, query, q.tx != nil)
	if err != nil {
		// A Row carries no error of its own making: the unprepared
		// statement reports the error (the text fails to prepare again).
		return q.Raw().QueryRowContext(ctx, q.d.Rebind(query), args...)
	}
	defer q.d.stmts.release(e)
	if e.st == nil {
		return q.Raw().QueryRowContext(ctx, e.sql, args...)
	}
	return q.stmt(ctx, e).QueryRowContext(ctx, args...)
}

// again reports whether a statement that failed with err is to be run
// again at once: on PostgreSQL, outside a transaction, when pgx's cached
// statement went stale (another process changed the columns it returns;
// pgx forgets the statement on that error and prepares it anew). Inside a
// transaction the error fails the transaction, and Tx runs it again.
func (q Q) again(err error) bool {
	return q.tx == nil && q.d.Dialect == Postgres && stalePlan(err)
}

// stalePlan reports PostgreSQL's refusal of a prepared statement whose
// result columns changed since it was prepared.
func stalePlan(err error) bool {
	return strings.Contains(err.Error(), "cached plan must not change result type")
}

// stmt is e's statement, bound to q's transaction when there is one.
func (q Q) stmt(ctx context.Context, e *stmtEntry) *sql.Stmt {
	if q.tx != nil {
		return q.tx.StmtContext(ctx, e.st)
	}
	return e.st
}

// stmtCache holds the prepared statements of a DB by their ?-text, least
// recently used first out. An entry in use (refs > 0) that is evicted is
// closed when its last user releases it.
type stmtCache struct {
	max, maxBytes, maxText int

	mu    sync.Mutex
	bytes int // of the cached texts
	m     map[string]*stmtEntry
	lru   list.List // of *stmtEntry, most recent at the front
	// prepares counts the statements prepared (for tests).
	prepares int
}

type stmtEntry struct {
	key  string
	sql  string    // the text in the dialect
	st   *sql.Stmt // nil on PostgreSQL (see Q)
	refs int
	gone bool // evicted or dropped: close at the last release
	el   *list.Element
}

func newStmtCache(max, maxBytes, maxText int) *stmtCache {
	return &stmtCache{max: max, maxBytes: maxBytes, maxText: maxText, m: map[string]*stmtEntry{}}
}

// get returns the entry of query, preparing it on a miss, with one more
// reference, to be released. A statement is prepared on the pool, which
// takes a free connection: inside a transaction on a pool of one
// connection (SQLite in memory) there is none, and a miss there runs
// unprepared until a call outside a transaction prepares the text.
func (c *stmtCache) get(ctx context.Context, d *DB, query string, inTx bool) (*stmtEntry, error) {
	c.mu.Lock()
	if e, ok := c.m[query]; ok {
		e.refs++
		c.lru.MoveToFront(e.el)
		c.mu.Unlock()
		return e, nil
	}
	c.mu.Unlock()
	if len(query) > c.maxText || (inTx && d.oneConn) {
		return &stmtEntry{key: query, sql: d.Rebind(query), gone: true, refs: 1}, nil
	}
	// Prepare outside the lock: two callers may prepare one text at once,
	// and the loser's statement is closed.
	text := d.Rebind(query)
	var st *sql.Stmt
	if d.Dialect == SQLite {
		var err error
		if st, err = d.PrepareContext(ctx, text); err != nil {
			return nil, err
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.prepares++
	if e, ok := c.m[query]; ok {
		e.refs++
		c.lru.MoveToFront(e.el)
		if st != nil {
			_ = st.Close()
		}
		return e, nil
	}
	e := &stmtEntry{key: query, sql: text, st: st, refs: 1}
	e.el = c.lru.PushFront(e)
	c.m[query] = e
	c.bytes += len(query)
	for c.lru.Len() > c.max || c.bytes > c.maxBytes {
		c.evictLocked(c.lru.Back().Value.(*stmtEntry))
	}
	return e, nil
}

// release gives back a reference from get.
func (c *stmtCache) release(e *stmtEntry) {
	c.mu.Lock()
	e.refs--
	closeIt := e.gone && e.refs == 0 && e.st != nil
	c.mu.Unlock()
	if closeIt {
		_ = e.st.Close()
	}
}

// reset drops every statement (after a migration changed the schema).
func (c *stmtCache) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.lru.Len() > 0 {
		c.evictLocked(c.lru.Back().Value.(*stmtEntry))
	}
}

// evictLocked removes e and closes it unless in use (then release does).
// database/sql closes a statement's per-connection handles once no
// result set it returned is open any more.
func (c *stmtCache) evictLocked(e *stmtEntry) {
	c.lru.Remove(e.el)
	delete(c.m, e.key)
	c.bytes -= len(e.key)
	e.gone = true
	if e.refs == 0 && e.st != nil {
		_ = e.st.Close()
	}
}

// stats reports the cached statements, their texts' bytes and how many
// were prepared.
func (c *stmtCache) stats() (cached, bytes, prepared int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len(), c.bytes, c.prepares
}
