package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/mlgate/mlgate/flavors"
	"github.com/mlgate/mlgate/internal/conns"
	"github.com/mlgate/mlgate/internal/memtrim"
	"github.com/mlgate/mlgate/pkgformat"
)

// ModelSource turns a model URI (a folder, a file: URI, an archive,
// models:/…, runs:/…) into a local model folder. Implementations live
// outside serve (internal/app and the registry client plug theirs in).
type ModelSource interface {
	// Fetch returns a local folder holding the model's MLmodel file.
	Fetch(ctx context.Context, uri string) (dir string, err error)
}

// Options configures a Server. Zero values take the documented defaults.
type Options struct {
	// Name is the model's name for metrics and the Open Inference Protocol
	// (default "model"); Version its version ("" when unversioned).
	Name    string
	Version string
	// Source fetches model URIs given to Load and Swap.
	Source ModelSource
	// ReadModel parses the MLmodel file of a model folder.
	ReadModel func(dir string) (*pkgformat.Model, error)
	// Flavors chooses and loads a flavor for the model; ForceFlavor picks
	// one by name instead.
	Flavors     *flavors.Registry
	ForceFlavor string
	// Load is passed to Flavor.Load.
	Load flavors.LoadOptions
	// Timeout bounds each request (default 60s, as MLflow).
	Timeout time.Duration
	// MaxConcurrency is how many predictions run at once; 0 (the default)
	// adapts the number to the load (see limiter), between 1 and
	// GOMAXPROCS, or Load.Workers when that is larger.
	// MaxQueue is how many more may wait (default 256) before the server
	// answers 503 at once.
	MaxConcurrency int
	MaxQueue       int
	// MaxBatchSize and MaxBatchDelay turn on dynamic batching when both are
	// set (size > 1 and delay > 0) and the predictor implements
	// flavors.Batcher.
	MaxBatchSize  int
	MaxBatchDelay time.Duration
	// MaxBodyBytes limits request bodies (default 64 MiB); larger ones get 413.
	MaxBodyBytes int64
	// ReleaseBytes: once requests of at least this many bytes (body,
	// inflated body and answer) stop coming, the free heap is handed back
	// to the kernel (memtrim.Releaser; default 4 MiB, negative: never).
	ReleaseBytes int64
	// MLflowVersion is what /version answers.
	MLflowVersion string
	// ServerVersion is the /v2 server metadata version.
	ServerVersion string
	// RouteKeyHeader, when set, names a request header whose value picks
	// the version of a prediction while a canary takes a share (see
	// RouteBucket): the same key goes to the same version on every
	// replica. Requests without it are split at random.
	RouteKeyHeader string
	// ShadowQueue bounds the mirrored requests waiting for the canary
	// (default 64; see SetShadow); more are dropped and counted.
	// ShadowWorkers run them (default 1). ShadowTolerance is the relative
	// difference under which two numbers agree (default 1e-6).
	ShadowQueue     int
	ShadowWorkers   int
	ShadowTolerance float64
	// Payloads, when set, receives a sampled share of the prediction
	// requests with their answers (see PayloadLog).
	Payloads PayloadLog
	// DrainDelay is how long Shutdown keeps accepting and serving requests
	// after readiness turned false, so that load balancers see the failing
	// probe and stop routing before the listener closes (default 0: close
	// at once; Kubernetes deployments want a few seconds).
	DrainDelay time.Duration
	// Logger receives request errors and lifecycle events (default: discard).
	Logger *slog.Logger
	// Registerer receives the metrics and Gatherer serves /metrics. When
	// both are nil a private registry with Go runtime and process
	// collectors is used.
	Registerer prometheus.Registerer
	Gatherer   prometheus.Gatherer
}

// Server is the scoring server. Create it with New, load a model with Load,
// serve Handler, and call Drain then Close on shutdown.
type Server struct {
	opts    Options
	log     *slog.Logger
	metrics *metrics
	engine  *gin.Engine
	// patterns are the routes' paths split at "/" (":x" matches a segment).
	patterns [][]string

	mu     sync.RWMutex
	models map[string]*slot

	slots   chan struct{}          // running predictions
	limit   *limiter               // adapts the slots in use (nil: a fixed MaxConcurrency)
	servedV atomic.Pointer[string] // the served model's version (metrics label)
	// canary is a second model under the same name taking canaryPct% of
	// the requests (see InstallCanary).
	canary    slot
	canaryPct atomic.Int32
	shadow    *shadow
	release   *memtrim.Releaser // nil: off
	admitted  atomic.Int64      // requests queued or running
	draining  atomic.Bool
	closed    atomic.Bool
	fresh     conns.Fresh // connections without a request yet (see ConnState)
}

// New validates opts and builds a server with no model loaded yet: /health
// answers 503 until Load (or Install) succeeds.
func New(opts Options) (*Server, error) {
	if opts.Name == "" {
		opts.Name = "model"
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 60 * time.Second
	}
	adaptive := opts.MaxConcurrency <= 0
	if adaptive {
		// up to one prediction per core, or per worker process when a
		// flavor runs more workers than there are cores (MLflow's
		// --workers N serves N requests at once)
		opts.MaxConcurrency = max(runtime.GOMAXPROCS(0), opts.Load.Workers)
	}
	if opts.MaxQueue < 0 {
		return nil, errors.New("serve: MaxQueue must not be negative")
	}
	if opts.MaxQueue == 0 {
		opts.MaxQueue = 256
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 64 << 20
	}
	if opts.MaxBatchSize < 0 || opts.MaxBatchDelay < 0 {
		return nil, errors.New("serve: batch size and delay must not be negative")
	}
	if opts.ShadowQueue < 0 || opts.ShadowWorkers < 0 || opts.ShadowTolerance < 0 {
		return nil, errors.New("serve: shadow queue, workers and tolerance must not be negative")
	}
	if opts.ShadowQueue == 0 {
		opts.ShadowQueue = 64
	}
	if opts.ShadowWorkers == 0 {
		opts.ShadowWorkers = 1
	}
	if opts.ShadowTolerance == 0 {
		opts.ShadowTolerance = 1e-6
	}
	if opts.MLflowVersion == "" {
		opts.MLflowVersion = "3.17.2"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Registerer == nil && opts.Gatherer == nil {
		reg := prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		opts.Registerer, opts.Gatherer = reg, reg
	}
	if opts.Registerer == nil || opts.Gatherer == nil {
		return nil, errors.New("serve: Registerer and Gatherer must be given together")
	}
	s := &Server{
		opts:    opts,
		log:     opts.Logger,
		models:  map[string]*slot{},
		slots:   make(chan struct{}, opts.MaxConcurrency),
		release: newReleaser(opts.ReleaseBytes),
	}
	s.shadow = newShadow(opts, func() int64 { return int64(s.concurrencyLimit()) })
	if adaptive {
		s.limit = newLimiter(s.slots)
	}
	m, err := newMetrics(opts.Registerer, s.concurrencyLimit)
	if err != nil {
		return nil, err
	}
	s.metrics = m
	if s.limit != nil {
		go s.limit.run()
	}
	s.engine = s.routes()
	// trailing slashes are redirected by redirectSlash, as MLflow's
	// Starlette does (307 to the absolute URL), never by gin (301 + HTML)
	s.engine.RedirectTrailingSlash = false
	for _, ri := range s.engine.Routes() {
		s.patterns = append(s.patterns, strings.Split(ri.Path, "/"))
	}
	return s, nil
}

// concurrencyLimit is how many predictions may run at once now.
func (s *Server) concurrencyLimit() float64 {
	if s.limit != nil {
		return float64(s.limit.limit.Load())
	}
	return float64(s.opts.MaxConcurrency)
}

// Handler returns the HTTP handler with every route. While the server
// drains, every answer carries "Connection: close" so that clients open
// fresh connections (to another replica) instead of reusing this one.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		w.Header().Set("Connection", "close")
	}
	if s.redirectSlash(w, r) {
		return
	}
	s.engine.ServeHTTP(w, r)
}

// redirectSlash answers as MLflow's scoring server (Starlette's
// redirect_slashes) does a path that names a route once its trailing
// slashes are cut: 307, an empty body and the absolute URL in Location.
func (s *Server) redirectSlash(w http.ResponseWriter, r *http.Request) bool {
	p := r.URL.Path
	if len(p) < 2 || p[len(p)-1] != '/' || s.isRoute(p) {
		return false
	}
	t := strings.TrimRight(p, "/")
	if t == "" || !s.isRoute(t) {
		return false
	}
	u := "http://" + r.Host + t
	if r.URL.RawQuery != "" {
		u += "?" + r.URL.RawQuery
	}
	w.Header().Set("Location", u)
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusTemporaryRedirect)
	return true
}

// isRoute reports whether path matches a route of any method.
func (s *Server) isRoute(path string) bool {
	segs := strings.Split(path, "/")
	for _, pat := range s.patterns {
		if len(pat) != len(segs) {
			continue
		}
		ok := true
		for i, ps := range pat {
			if ps != segs[i] && (ps == "" || ps[0] != ':' || segs[i] == "") {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// Name returns the served model's name.
func (s *Server) Name() string { return s.opts.Name }

// Ready reports whether the model is loaded and the server is not draining.
func (s *Server) Ready() bool {
	return !s.draining.Load() && s.current(s.opts.Name) != nil
}

// Drain turns readiness false: health checks (/ping, /health,
// /v2/health/ready, model ready) answer 503 from now on so that load
// balancers stop sending traffic; every request, in flight or new, is
// still served. Shutdown drains and then stops an HTTP server.
func (s *Server) Drain() {
	if !s.draining.Swap(true) {
		s.log.Info("draining: readiness is now false", slog.Duration("drain_delay", s.opts.DrainDelay))
	}
}

// Draining reports whether Drain was called.
func (s *Server) Draining() bool { return s.draining.Load() }

// Close releases every model; predictors close after their last request.
// It is idempotent.
func (s *Server) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.Drain()
	if s.limit != nil {
		s.limit.stop()
	}
	s.stopShadow()
	s.release.Stop()
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, sl := range s.models {
		sl.retire()
		delete(s.models, name)
	}
	s.RemoveCanary()
	return nil
}

// Load fetches the model at uri, loads it with its flavor, warms it up with
// its serving input example and installs it under the server's model name.
func (s *Server) Load(ctx context.Context, uri string) error {
	m, err := s.LoadModel(ctx, uri)
	if err != nil {
		return err
	}
	s.Install(m)
	return nil
}

// Swap loads the model at uri beside the one being served, switches
// traffic to it and closes the old one when its last request has ended.
// A failed load keeps the old model serving.
func (s *Server) Swap(ctx context.Context, uri string) error { return s.Load(ctx, uri) }

// LoadModel loads and warms up the model at uri without installing it.
func (s *Server) LoadModel(ctx context.Context, uri string) (*Model, error) {
	start := time.Now()
	m, err := s.loadModel(ctx, uri)
	if err != nil {
		s.metrics.loadFailures.WithLabelValues(s.opts.Name).Inc()
		s.log.Error("model load failed", slog.String("uri", uri), slog.String("error", err.Error()))
		return nil, err
	}
	d := time.Since(start)
	s.metrics.loadSeconds.WithLabelValues(s.opts.Name).Set(d.Seconds())
	s.log.Info("model loaded", slog.String("uri", uri), slog.String("model", m.Name),
		slog.String("flavor", m.Flavor), slog.Duration("took", d))
	return m, nil
}

func (s *Server) loadModel(ctx context.Context, uri string) (*Model, error) {
	if s.opts.Source == nil || s.opts.ReadModel == nil || s.opts.Flavors == nil {
		return nil, errors.New("serve: Source, ReadModel and Flavors are needed to load a model")
	}
	dir, err := s.opts.Source.Fetch(ctx, uri)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", uri, err)
	}
	meta, err := s.opts.ReadModel(dir)
	if err != nil {
		return nil, fmt.Errorf("read model %s: %w", dir, err)
	}
	fl, err := s.opts.Flavors.Select(meta, s.opts.ForceFlavor)
	if err != nil {
		return nil, err
	}
	p, err := fl.Load(ctx, dir, meta, s.opts.Load)
	if err != nil {
		return nil, fmt.Errorf("load %s model: %w", fl.Name(), err)
	}
	m := &Model{Name: s.opts.Name, Version: s.opts.Version, Meta: meta, Predictor: p, Flavor: fl.Name(), Dir: dir}
	if err := s.warmUp(ctx, m); err != nil {
		s.log.Warn("warm-up with the serving input example failed", slog.String("error", err.Error()))
	}
	return m, nil
}

// Install serves m under its name (s's model name when empty), replacing
// and retiring any model served under that name.
func (s *Server) Install(m *Model) {
	if m.Name == "" {
		m.Name = s.opts.Name
	}
	if m.Version == "" {
		m.Version = s.opts.Version
	}
	s.installHandle(newHandle(m, s))
}

// installHandle serves h under its model's name, retiring the handle it
// replaces.
func (s *Server) installHandle(h *handle) {
	m := h.m
	s.mu.Lock()
	sl, ok := s.models[m.Name]
	if !ok {
		sl = &slot{}
		s.models[m.Name] = sl
	}
	s.mu.Unlock()
	sl.install(h)
	if m.Name == s.opts.Name {
		v := m.Version
		s.servedV.Store(&v)
	}
}

// servedVersion is the version label of the model being served.
func (s *Server) servedVersion() string {
	if v := s.servedV.Load(); v != nil {
		return *v
	}
	return s.opts.Version
}

// acquire returns the current handle of the named model with a reference
// held, or nil.
func (s *Server) acquire(name string) *handle {
	s.mu.RLock()
	sl := s.models[name]
	s.mu.RUnlock()
	if sl == nil {
		return nil
	}
	return sl.acquire()
}

// Model returns the model being served, or nil before the first load and
// after Close. Its predictor must not be called.
func (s *Server) Model() *Model { return s.current(s.opts.Name) }

func (s *Server) current(name string) *Model {
	h := s.acquire(name)
	if h == nil {
		return nil
	}
	defer h.release()
	return h.m
}
