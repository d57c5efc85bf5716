package artifacts

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// progress reports download progress: a redrawn bar on a terminal, or a log
// line every logEvery otherwise.
type progress struct {
	w          io.Writer // nil unless a terminal
	log        *slog.Logger
	uri        string
	files      int
	total      int64
	done       atomic.Int64
	filesDone  atomic.Int64
	stop       chan struct{}
	wg         sync.WaitGroup
	start      time.Time
	finishOnce sync.Once
}

const (
	drawEvery = 200 * time.Millisecond
	logEvery  = 5 * time.Second
)

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func newProgress(w io.Writer, log *slog.Logger, uri string, files int, total int64) *progress {
	p := &progress{log: log, uri: uri, files: files, total: total, stop: make(chan struct{}), start: time.Now()}
	every := logEvery
	if w != nil && isTerminal(w) {
		p.w = w
		every = drawEvery
	}
	p.wg.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				p.report()
			}
		}
	})
	return p
}

func (p *progress) add(n int64) { p.done.Add(n) }
func (p *progress) fileDone()   { p.filesDone.Add(1) }

func (p *progress) report() {
	done, fd := p.done.Load(), p.filesDone.Load()
	if p.w == nil {
		p.log.Info("downloading artifacts", "uri", p.uri, "files_done", fd, "files", p.files,
			"bytes_done", done, "bytes", p.total)
		return
	}
	const width = 30
	frac := 0.0
	if p.total > 0 {
		frac = min(float64(done)/float64(p.total), 1)
	}
	n := int(frac * width)
	fmt.Fprintf(p.w, "\r[%s%s] %3.0f%% %s/%s %d/%d files", strings.Repeat("=", n), strings.Repeat(" ", width-n),
		frac*100, human(done), human(p.total), fd, p.files)
}

func (p *progress) finish() {
	p.finishOnce.Do(func() {
		close(p.stop)
		p.wg.Wait()
		if p.w != nil {
			p.report()
			fmt.Fprintln(p.w)
		}
		p.log.Info("downloaded artifacts", "uri", p.uri, "files", p.filesDone.Load(),
			"bytes", p.done.Load(), "elapsed", time.Since(p.start).Round(time.Millisecond))
	})
}

func human(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1fGB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1fMB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1fKB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%dB", n)
}
