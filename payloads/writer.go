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

// name is a file's name: its opening time (UTC) and a sequence number.
func name(t time.Time, seq int) string {
	return fmt.Sprintf("payloads-%s-%04d.jsonl", t.UTC().Format("20060102T150405.000Z"), seq)
}

// current is the file being written.
type current struct {
	f       *os.File
	path    string
	size    int64 // bytes of lines
	records int   // records written
	opened  time.Time
	failed  bool // a write failed (said once a file)
}

// fileWriter is the writer goroutine's state: the file being written.
type fileWriter struct {
	l   *Logger
	cur *current
	seq int
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

// writeBatch writes b's lines, as many at a time as fit in the file
// being written, opening a file when none is and rotating it when it
// reaches its size.
func (w *fileWriter) writeBatch(b *batch) {
	l := w.l
	from, n := 0, 0 // b.lines[from:prev] holds the n lines not written yet
	prev := 0       // where the current line starts
	for _, end := range b.ends {
		if l.hold != nil {
			l.hold()
		}
		if w.cur == nil && !w.open() {
			l.drop(ReasonWrite, 1)
			from, prev = end, end
			continue
		}
		w.cur.size += int64(end - prev)
		n++
		prev = end
		if w.cur.size >= l.o.RotateBytes {
			w.write(b.lines[from:end], n)
			w.finish()
			from, n = end, 0
		}
	}
	if n > 0 {
		w.write(b.lines[from:prev], n)
	}
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

// write writes lines (n records) to the file, counting them as logged,
// or as dropped when the write fails.
func (w *fileWriter) write(lines []byte, n int) {
	l := w.l
	if _, err := w.cur.f.Write(lines); err != nil {
		l.drop(ReasonWrite, n)
		if !w.cur.failed {
			w.cur.failed = true
			l.o.Logger.Warn("writing a payload file", slog.String("file", w.cur.path), slog.String("error", err.Error()))
		}
		return
	}
	w.cur.records += n
	l.logged.Add(float64(n))
	l.nLogged.Add(uint64(n))
}

// finish closes the file and hands it on.
func (w *fileWriter) finish() {
	c := w.cur
	w.cur = nil
	if err := c.f.Close(); err != nil {
		w.l.o.Logger.Warn("closing a payload file", slog.String("file", c.path), slog.String("error", err.Error()))
	}
	w.l.closeFile(file{path: c.path, records: c.records})
}
