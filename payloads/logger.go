package payloads

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Options configure a Logger.
type Options struct {
	// Dir holds the files being written and those waiting for upload
	// (required; created when missing).
	Dir string
	// Sample is the share of requests logged, from 0 to 1.
	Sample float64
	// Exclude lists columns left out (see Columns), e.g. request, response.
	Exclude []string
	// MaxBody caps each stored body in bytes (default 1 MiB).
	MaxBody int
	// RotateBytes and RotateInterval close the current file when it
	// reaches that size or age (defaults 64 MiB and 1m).
	RotateBytes    int64
	RotateInterval time.Duration
	// Queue bounds the records waiting to be written (default 1024) and
	// QueueBytes the bytes of their bodies (default the larger of 16 MiB
	// and 4×MaxBody, at least 2×MaxBody): the memory records take
	// between Add and their file.
	Queue      int
	QueueBytes int
	// MaxPending bounds the closed files waiting for upload (default 16):
	// beyond it the oldest is deleted and its records counted as dropped.
	MaxPending int
	// Upload sends a closed file away; the file is deleted once it
	// returns nil. Nil keeps the files in Dir (up to MaxPending).
	Upload func(ctx context.Context, path string) error
	// RetryInterval is how long after a failed upload the next try is
	// (default 10s).
	RetryInterval time.Duration
	// Registerer receives the counters (nil: not registered).
	Registerer prometheus.Registerer
	// Logger receives write and upload failures (default: discard).
	Logger *slog.Logger
}

// Logger writes sampled records to rotated JSON Lines files. Create it
// with New; Add never blocks; Close flushes and uploads what is left.
type Logger struct {
	o       Options
	enc     *encoder
	q       queue
	closed  atomic.Bool
	stop    chan struct{}
	written chan struct{} // closed when the writer has ended

	dropped  *prometheus.CounterVec
	logged   prometheus.Counter
	nDropped atomic.Uint64
	nLogged  atomic.Uint64

	mu      sync.Mutex // guards pending
	pending []file
	wake    chan struct{}
	upDone  chan struct{}
	upStop  chan struct{}

	// hold, when set (tests), runs before each record is written.
	hold func()
}

// file is a closed file and how many records it holds.
type file struct {
	path    string
	records int
}

// Drop reasons (label "reason" of mlgate_payloads_dropped_total).
const (
	ReasonQueueFull = "queue_full" // the writer was behind
	ReasonBacklog   = "backlog"    // a file not uploaded was deleted
	ReasonWrite     = "write"      // the file could not be written
)

// New checks the options, creates Dir and starts the writer and the
// uploader.
func New(o Options) (*Logger, error) {
	if o.Dir == "" {
		return nil, errors.New("payloads: a directory is required")
	}
	if o.Sample < 0 || o.Sample > 1 {
		return nil, fmt.Errorf("payloads: the sample share %g is not between 0 and 1", o.Sample)
	}
	ex, err := parseExclude(o.Exclude)
	if err != nil {
		return nil, err
	}
	if o.MaxBody <= 0 {
		o.MaxBody = 1 << 20
	}
	if o.RotateBytes <= 0 {
		o.RotateBytes = 64 << 20
	}
	if o.RotateInterval <= 0 {
		o.RotateInterval = time.Minute
	}
	if o.Queue <= 0 {
		o.Queue = 1024
	}
	if o.QueueBytes <= 0 {
		o.QueueBytes = max(16<<20, 4*o.MaxBody)
	}
	o.QueueBytes = max(o.QueueBytes, 2*o.MaxBody) // room for any one record
	if o.MaxPending <= 0 {
		o.MaxPending = 16
	}
	if o.RetryInterval <= 0 {
		o.RetryInterval = 10 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("payloads: %w", err)
	}
	reg := o.Registerer
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	f := promauto.With(reg)
	l := &Logger{
		o: o, enc: newEncoder(o.Sample, ex), stop: make(chan struct{}), written: make(chan struct{}),
		dropped: f.NewCounterVec(prometheus.CounterOpts{
			Name: "mlgate_payloads_dropped_total",
			Help: "Sampled prediction payloads not logged, by reason (queue_full, backlog, write).",
		}, []string{"reason"}),
		logged: f.NewCounter(prometheus.CounterOpts{
			Name: "mlgate_payloads_logged_total",
			Help: "Sampled prediction payloads written to a payload file.",
		}),
		wake: make(chan struct{}, 1), upDone: make(chan struct{}), upStop: make(chan struct{}),
	}
	l.q.init(o.Queue, o.QueueBytes)
	go l.writer()
	go l.uploader()
	return l, nil
}

// Sample decides whether the next request is logged.
func (l *Logger) Sample() bool {
	s := l.o.Sample
	return s >= 1 || (s > 0 && rand.Float64() < s) //nolint:gosec // sampling, not security
}

// MaxBody is the cap on each stored body, in bytes.
func (l *Logger) MaxBody() int { return l.o.MaxBody }

// Add queues a copy of r for writing (the caller may reuse r's buffers
// once it returns); when the queue is full (or the Logger is closed) r is
// dropped and counted. It never blocks.
func (l *Logger) Add(r Record) {
	if l.q.full() {
		l.drop(ReasonQueueFull, 1)
		return
	}
	r.Request = truncate(r.Request, l.o.MaxBody, &r.RequestTruncated)
	r.Response = truncate(r.Response, l.o.MaxBody, &r.ResponseTruncated)
	if !l.enc.keeps(colRequest) {
		r.Request = nil
	}
	if !l.enc.keeps(colResponse) {
		r.Response = nil
	}
	if !l.q.add(&r) {
		l.drop(ReasonQueueFull, 1)
	}
}

// Logged is how many records were written so far.
func (l *Logger) Logged() uint64 { return l.nLogged.Load() }

// Dropped is how many records were dropped so far, for any reason.
func (l *Logger) Dropped() uint64 { return l.nDropped.Load() }

func (l *Logger) drop(reason string, n int) {
	if n <= 0 {
		return
	}
	l.dropped.WithLabelValues(reason).Add(float64(n))
	l.nDropped.Add(uint64(n))
}

// Close writes the queued records, closes the file and tries, within ctx,
// to upload every file still waiting. Files that could not be uploaded
// stay in Dir.
func (l *Logger) Close(ctx context.Context) error {
	if l.closed.Swap(true) {
		return nil
	}
	l.q.close()
	close(l.stop)
	<-l.written
	close(l.upStop)
	<-l.upDone
	if l.o.Upload == nil {
		return nil
	}
	if err := l.uploadPending(ctx); err != nil {
		l.mu.Lock()
		n := len(l.pending)
		l.mu.Unlock()
		return fmt.Errorf("payloads: %d file(s) not uploaded, kept in %s: %w", n, l.o.Dir, err)
	}
	return nil
}

// closeFile hands a finished file to the uploader, deleting the oldest
// waiting ones beyond MaxPending.
func (l *Logger) closeFile(f file) {
	l.mu.Lock()
	l.pending = append(l.pending, f)
	var gone []file
	for len(l.pending) > l.o.MaxPending {
		gone = append(gone, l.pending[0])
		l.pending = l.pending[1:]
	}
	l.mu.Unlock()
	for _, g := range gone {
		_ = os.Remove(g.path)
		l.drop(ReasonBacklog, g.records)
		l.o.Logger.Warn("payload file not uploaded in time; deleted", slog.String("file", g.path), slog.Int("records", g.records))
	}
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

func (l *Logger) uploader() {
	defer close(l.upDone)
	if l.o.Upload == nil {
		return
	}
	t := time.NewTicker(l.o.RetryInterval)
	defer t.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-l.upStop
		cancel()
	}()
	for {
		select {
		case <-l.upStop:
			return
		case <-l.wake:
		case <-t.C:
		}
		if err := l.uploadPending(ctx); err != nil && ctx.Err() == nil {
			l.o.Logger.Warn("uploading payload files; retrying later", slog.String("error", err.Error()))
		}
	}
}

// uploadPending uploads the waiting files oldest first, stopping at the
// first failure.
func (l *Logger) uploadPending(ctx context.Context) error {
	for {
		l.mu.Lock()
		if len(l.pending) == 0 {
			l.mu.Unlock()
			return nil
		}
		f := l.pending[0]
		l.mu.Unlock()
		if err := l.o.Upload(ctx, f.path); err != nil {
			return err
		}
		_ = os.Remove(f.path)
		l.mu.Lock()
		if len(l.pending) > 0 && l.pending[0] == f {
			l.pending = l.pending[1:]
		}
		l.mu.Unlock()
	}
}

// Pending lists the closed files waiting for upload, oldest first.
func (l *Logger) Pending() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]string, len(l.pending))
	for i, f := range l.pending {
		out[i] = f.path
	}
	return out
}
