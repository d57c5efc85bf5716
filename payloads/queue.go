package payloads

import (
	"sync"
	"sync/atomic"
)

// queue is the hand-off between Add and the writer. Add appends a record
// (a small entry, and its bodies to one buffer shared by the batch) to
// the batch being filled, under a mutex held for that copy alone; the
// writer takes the whole batch at once, leaves its emptied previous one
// in its place, and encodes and writes the batch's records in one go
// (its code and tables stay warm: encoding in a loop costs less than a
// record at a time on each caller's side). A record thus costs its
// caller one short copy and, once the buffers have grown to the traffic,
// no allocation; the writer takes the lock once a batch, not once a
// record.
type queue struct {
	mu      sync.Mutex
	filling *batch
	// records and bytes are what was accepted and not yet written (in
	// the batch being filled and the one being written), bounded by
	// maxRecords and maxBytes (of bodies). They change under mu; full
	// reads them without it.
	records, bytes       atomic.Int64
	maxRecords, maxBytes int64
	closed               bool
	// ready receives a signal when a record goes into an empty batch.
	ready chan struct{}
}

// batch is records waiting together, their bodies in data in order.
type batch struct {
	ents []entry
	data []byte
}

// maxKeptBatch bounds the capacity, in bytes of bodies, a batch keeps
// from one use to the next: a burst's buffers are let go once written.
const maxKeptBatch = 1 << 20

func (q *queue) init(maxRecords, maxBytes int) {
	q.filling = &batch{}
	q.maxRecords, q.maxBytes = int64(maxRecords), int64(maxBytes)
	q.ready = make(chan struct{}, 1)
}

// full tells, without the lock, that no record would be taken now (a
// hint: spares the encoding of records that would be dropped).
func (q *queue) full() bool {
	return q.records.Load() >= q.maxRecords || q.bytes.Load() >= q.maxBytes
}

// add appends r to the batch being filled; false when it is full or
// closed (r is not kept).
func (q *queue) add(r *Record) bool {
	n := int64(len(r.Request) + len(r.Response))
	q.mu.Lock()
	if q.closed || q.records.Load() >= q.maxRecords || q.bytes.Load()+n > q.maxBytes {
		q.mu.Unlock()
		return false
	}
	q.records.Add(1)
	q.bytes.Add(n)
	b := q.filling
	first := len(b.ents) == 0
	b.ents = append(b.ents, entryOf(r))
	b.data = append(b.data, r.Request...)
	b.data = append(b.data, r.Response...)
	q.mu.Unlock()
	if first {
		select {
		case q.ready <- struct{}{}:
		default:
		}
	}
	return true
}

// take hands over the batch being filled and puts empty in its place.
func (q *queue) take(empty *batch) *batch {
	q.mu.Lock()
	b := q.filling
	q.filling = empty
	q.mu.Unlock()
	return b
}

// done frees the room of a batch taken and written, and empties it for
// reuse.
func (q *queue) done(b *batch) {
	q.mu.Lock()
	q.records.Add(-int64(len(b.ents)))
	q.bytes.Add(-int64(len(b.data)))
	q.mu.Unlock()
	b.ents, b.data = b.ents[:0], b.data[:0]
	if cap(b.data) > maxKeptBatch {
		b.data = nil
	}
	if cap(b.ents) > 4096 {
		b.ents = nil
	}
}

// close refuses every later record.
func (q *queue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
}
