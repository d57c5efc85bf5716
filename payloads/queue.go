package payloads

import (
	"sync"
	"sync/atomic"
)

// queue is the hand-off between Add and the writer. Add encodes a record
// into its JSON line on the caller's side (its bodies are still in that
// CPU's cache) and appends the line to the batch being filled, under a
// mutex held for that copy alone; the writer takes the whole batch at
// once, leaves its emptied previous one in its place and writes the
// lines as they are. A record thus costs one encoding, one copy and, once
// the buffers have grown to the traffic, no allocation; the writer takes
// the lock once a batch, not once a record.
type queue struct {
	mu      sync.Mutex
	filling *batch
	// records and bytes are what was accepted and not yet written (in
	// the batch being filled and the one being written), bounded by
	// maxRecords and maxBytes (of lines). They change under mu; full
	// reads them without it.
	records, bytes       atomic.Int64
	maxRecords, maxBytes int64
	closed               bool
	// ready receives a signal when a line goes into an empty batch.
	ready chan struct{}
}

// batch is lines waiting together: line i ends (with its newline) at
// ends[i] in lines.
type batch struct {
	lines []byte
	ends  []int
}

// maxKeptBatch bounds the capacity, in bytes of lines, a batch keeps
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

// add appends one line to the batch being filled; false when it is full
// or closed (the line is not kept).
func (q *queue) add(line []byte) bool {
	n := int64(len(line))
	q.mu.Lock()
	if q.closed || q.records.Load() >= q.maxRecords || q.bytes.Load()+n > q.maxBytes {
		q.mu.Unlock()
		return false
	}
	q.records.Add(1)
	q.bytes.Add(n)
	b := q.filling
	first := len(b.ends) == 0
	b.lines = append(b.lines, line...)
	b.ends = append(b.ends, len(b.lines))
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
	q.records.Add(-int64(len(b.ends)))
	q.bytes.Add(-int64(len(b.lines)))
	q.mu.Unlock()
	b.lines, b.ends = b.lines[:0], b.ends[:0]
	if cap(b.lines) > maxKeptBatch {
		b.lines = nil
	}
	if cap(b.ends) > maxKeptBatch/64 {
		b.ends = nil
	}
}

// close refuses every later line.
func (q *queue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
}
