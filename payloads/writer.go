package payloads

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"
)

// gather is how long the writer lets records queue up once one arrived
// (one wake-up per batch, not per request).
const gather = 10 * time.Millisecond

// flushAt is how many bytes of lines the writer collects before writing
// them to the file: one write call carries hundreds of records.
const flushAt = 256 << 10

// maxKeptLines bounds the line buffer the writer keeps between writes
// (an outsized record's is let go).
const maxKeptLines = 1 << 20

// name is a file's name: its opening time (UTC) and a sequence number.
func name(t time.Time, seq int) string {
	return fmt.Sprintf("payloads-%s-%04d.jsonl", t.UTC().Format("20060102T150405.000Z"), seq)
}

// current is the file being written.
type current struct {
	f       *os.File
	path    string
	size    int64 // bytes of lines, written or in fileWriter.out
	records int   // records written
	opened  time.Time
	failed  bool // a write failed (said once a file)
}

// fileWriter is the writer goroutine's state: the file being written
// and the lines encoded but not yet written to it.
type fileWriter struct {
	l       *Logger
	cur     *current
	seq     int
	out     []byte
	outRecs int // records in out
}

func (l *Logger) writer() {
	defer close(l.written)
	w := &fileWriter{l: l}
	tick := time.NewTicker(min(l.o.RotateInterval, time.Second))
	defer tick.Stop()
	wait := time.NewTimer(gather)
	wait.Stop()
	spare := &batch{}
	for {
		stopping := false
		select {
		case <-l.q.ready:
			wait.Reset(gather)
			select {
			case <-wait.C:
			case <-l.stop:
				stopping = true
			}
		case <-tick.C:
			if w.cur != nil && time.Since(w.cur.opened) >= l.o.RotateInterval {
				w.finish()
			}
			continue
		case <-l.stop:
			stopping = true
		}
		// Close closes the queue before it stops the writer: once
		// stopping, this batch is the last.
		b := l.q.take(spare)
		w.writeBatch(b)
		l.q.done(b)
		spare = b
		if stopping {
			if w.cur != nil {
				w.finish()
			}
			return
		}
	}
}

// writeBatch encodes b's records and writes their lines, a large run
// at a time, opening a file when none is and rotating it when it reaches
// its size.
func (w *fileWriter) writeBatch(b *batch) {
	l := w.l
	off := 0 // where the next record's bodies start in b.data
	for i := range b.ents {
		e := &b.ents[i]
		req := b.data[off : off+e.reqLen]
		resp := b.data[off+e.reqLen : off+e.reqLen+e.respLen]
		off += e.reqLen + e.respLen
		if l.hold != nil {
			l.hold()
		}
		if w.cur == nil && !w.open() {
			l.drop(ReasonWrite, 1)
			continue
		}
		n := len(w.out)
		w.out = l.enc.appendJSON(w.out, e, req, resp)
		w.outRecs++
		w.cur.size += int64(len(w.out) - n)
		switch {
		case w.cur.size >= l.o.RotateBytes:
			w.finish()
		case len(w.out) >= flushAt:
			w.flush()
		}
	}
	w.flush()
}

// open starts a new file.
func (w *fileWriter) open() bool {
	now := time.Now()
	path := filepath.Join(w.l.o.Dir, name(now, w.seq))
	w.seq++
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		w.l.o.Logger.Warn("opening a payload file", slog.String("error", err.Error()))
		return false
	}
	w.cur = &current{f: f, path: path, opened: now}
	return true
}

// flush writes the lines encoded so far to the file, counting their
// records as logged, or as dropped when the write fails.
func (w *fileWriter) flush() {
	if len(w.out) == 0 {
		return
	}
	l := w.l
	if _, err := w.cur.f.Write(w.out); err != nil {
		l.drop(ReasonWrite, w.outRecs)
		if !w.cur.failed {
			w.cur.failed = true
			l.o.Logger.Warn("writing a payload file", slog.String("file", w.cur.path), slog.String("error", err.Error()))
		}
	} else {
		w.cur.records += w.outRecs
		l.logged.Add(float64(w.outRecs))
		l.nLogged.Add(uint64(w.outRecs))
	}
	w.out, w.outRecs = w.out[:0], 0
	if cap(w.out) > maxKeptLines {
		w.out = nil
	}
}

// finish writes what is left, closes the file and hands it on.
func (w *fileWriter) finish() {
	w.flush()
	c := w.cur
	w.cur = nil
	if err := c.f.Close(); err != nil {
		w.l.o.Logger.Warn("closing a payload file", slog.String("file", c.path), slog.String("error", err.Error()))
	}
	w.l.closeFile(file{path: c.path, records: c.records})
}
