package procutil

import (
	"bytes"
	"strings"
	"sync"
)

// Tail is an io.Writer that keeps the last lines written to it (at most
// MaxLines lines and MaxBytes bytes), for error messages about a child that
// died. OnLine, when set, is called with every complete line (for logging).
// It is safe for concurrent use.
type Tail struct {
	mu       sync.Mutex
	maxLines int
	maxBytes int
	lines    []string
	size     int
	partial  []byte
	onLine   func(string)
}

// NewTail returns a Tail keeping at most maxLines lines and maxBytes bytes
// (defaults 20 and 8 KiB when ≤ 0); onLine may be nil.
func NewTail(maxLines, maxBytes int, onLine func(line string)) *Tail {
	if maxLines <= 0 {
		maxLines = 20
	}
	if maxBytes <= 0 {
		maxBytes = 8 << 10
	}
	return &Tail{maxLines: maxLines, maxBytes: maxBytes, onLine: onLine}
}

// Write implements io.Writer; it never fails. A line longer than MaxBytes
// keeps its last MaxBytes only: a child printing megabytes on one line
// (a traceback quoting a huge input) costs a copy into a buffer of
// MaxBytes, not a string per chunk.
func (t *Tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			t.appendPartial(p)
			break
		}
		t.appendPartial(p[:i])
		p = p[i+1:]
		t.push(string(t.partial))
		t.partial = t.partial[:0]
	}
	return n, nil
}

// appendPartial adds b to the unterminated line, keeping its last
// maxBytes bytes.
func (t *Tail) appendPartial(b []byte) {
	if over := len(t.partial) + len(b) - t.maxBytes; over > 0 {
		if len(b) >= t.maxBytes {
			t.partial = append(t.partial[:0], b[len(b)-t.maxBytes:]...)
			return
		}
		t.partial = t.partial[:copy(t.partial, t.partial[over:])]
	}
	t.partial = append(t.partial, b...)
}

func (t *Tail) push(line string) {
	line = strings.TrimRight(line, "\r")
	if t.onLine != nil {
		t.onLine(line)
	}
	t.lines = append(t.lines, line)
	t.size += len(line) + 1
	for len(t.lines) > t.maxLines || (t.size > t.maxBytes && len(t.lines) > 1) {
		t.size -= len(t.lines[0]) + 1
		t.lines = t.lines[1:]
	}
}

// Lines returns the kept lines, oldest first, including an unterminated
// last line.
func (t *Tail) Lines() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := append([]string(nil), t.lines...)
	if len(t.partial) > 0 {
		out = append(out, string(t.partial))
	}
	return out
}

// String returns the kept lines joined by newlines.
func (t *Tail) String() string {
	return strings.Join(t.Lines(), "\n")
}

// Last returns the last n non-empty kept lines joined by newlines.
func (t *Tail) Last(n int) string {
	lines := t.Lines()
	kept := make([]string, 0, n)
	for i := len(lines) - 1; i >= 0 && len(kept) < n; i-- {
		if strings.TrimSpace(lines[i]) != "" {
			kept = append(kept, lines[i])
		}
	}
	for i, j := 0, len(kept)-1; i < j; i, j = i+1, j-1 {
		kept[i], kept[j] = kept[j], kept[i]
	}
	return strings.Join(kept, "\n")
}
