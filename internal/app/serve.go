package app

import (
	"context"
	"errors"
	"fmt"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/mlgate/mlgate/flavors"
	"github.com/mlgate/mlgate/flavors/builtin"
	"github.com/mlgate/mlgate/internal/memtrim"
	"github.com/mlgate/mlgate/internal/version"
	"github.com/mlgate/mlgate/pkgformat"
	"github.com/mlgate/mlgate/serve"
	"github.com/mlgate/mlgate/tracking"
)

// ServeOptions are the settings of `mlgate models serve`.
type ServeOptions struct {
	// ModelURI is a model folder, file: URI, archive, models:/ or runs:/ URI.
	ModelURI string
	// Host and Port to listen on (127.0.0.1:5000 by default, as MLflow).
	Host string
	Port int
	// Security puts MLflow's Host and Origin protections in front of the
	// scoring routes when hosts or origins are set (off by default, as
	// MLflow's scoring server has none).
	Security Security
	// Timeout bounds each request (MLflow's --timeout, default 60s).
	Timeout time.Duration
	// Workers and EnvManager go to flavors that run worker processes.
	Workers    int
	EnvManager string
	// Flavor forces a flavor instead of choosing from the MLmodel.
	Flavor string
	// Python is the interpreter for python_function workers with the local
	// env manager (default python3 from PATH).
	Python string
	// WorkerCacheDir holds worker scripts and built environments.
	WorkerCacheDir string
	// WorkerFlavors are key=command external worker flavors.
	WorkerFlavors []string
	// ONNXRuntimeLib is the resolved libonnxruntime path ("" lets the onnx
	// flavor fail with a clear message when an ONNX model is loaded).
	ONNXRuntimeLib string
	// IntraOpThreads and InterOpThreads size ONNX Runtime's pools.
	IntraOpThreads int
	InterOpThreads int
	// GCPercent, when positive, is the Go collector's target (GOGC): the
	// command sets 300 unless GOGC is in the environment. A scoring
	// server's live heap is a few MB and each request allocates some kB,
	// so the default 100 collects dozens of times a second; 300 cut the
	// server's CPU per request by 9% on the linear model for 8.5 MB more
	// resident memory under load.
	GCPercent int
	// Limits and batching (see serve.Options).
	MaxConcurrency int
	MaxQueue       int
	MaxBodyBytes   int64
	MaxBatchSize   int
	MaxBatchDelay  time.Duration
	// ModelName names the model in metrics and the Open Inference Protocol
	// (default: the registered model name of a models:/ URI, else "model").
	ModelName    string
	ModelVersion string
	// DrainDelay keeps serving after a signal while readiness fails, before
	// the listener closes (--drain-delay, default 0).
	DrainDelay time.Duration
	// ShutdownTimeout bounds the drain after a signal (default 30s).
	ShutdownTimeout time.Duration
	// Source resolves remote URIs (models:/, runs:/, …); local folders and
	// archives are handled in any case.
	Source serve.ModelSource
	// LogExperiment, when set, makes the server log itself as a run of
	// this experiment (created when missing) on the Tracking server:
	// settings as params and tags, its prediction figures every
	// LogInterval (default 60s) as metrics, a summary and the MLmodel as
	// artifacts when it stops. A tracking server that cannot be reached
	// is logged and does not stop serving.
	LogExperiment string
	LogInterval   time.Duration
	Tracking      tracking.Config
	// WatchInterval, when positive, makes the server follow a models:/ URI
	// with an alias, a stage or latest: the registry is asked this often
	// which version the URI names, and when it moves the new version is
	// loaded beside the old one and takes the traffic without a restart
	// (the old one closes after its last request). Source must resolve
	// models:/ URIs. WatchTimeout bounds one poll and load (default 10m).
	WatchInterval time.Duration
	WatchTimeout  time.Duration
	// CanaryURI, when set, is served next to ModelURI under the same name
	// and takes CanaryPercent (0-100) of the predictions; a models:/ URI
	// is labelled with its version (and followed with WatchInterval).
	CanaryURI     string
	CanaryPercent int
	// FollowRollout makes the server follow the rollout of the registered
	// model that ModelURI (an alias or a stage) names: every WatchInterval
	// (default 10s) it reads the model's rollout tag (rollout.TagKey) and,
	// while the rollout is active, serves its stable version with the
	// candidate beside it, taking the rollout's weight and shadow share;
	// otherwise the URI alone. Not with CanaryURI.
	FollowRollout bool
	// RouteKeyHeader, when set, names the request header whose hash picks
	// the version while a canary takes a share (see serve.RouteBucket).
	RouteKeyHeader string
	// ShadowTolerance is the relative difference under which a shadow
	// answer's numbers agree with the stable's (default 1e-6).
	ShadowTolerance float64
	// PayloadSample, when positive, logs that share (up to 1) of the
	// prediction requests with their answers (see package payloads) to
	// JSON Lines files in PayloadDir (default: a temporary folder), each
	// uploaded under inference/ of the serving run once closed.
	// PayloadExclude leaves columns out; PayloadMaxBody caps each body
	// (default 1 MiB); PayloadRotateBytes and PayloadInterval close a file
	// at that size or age (defaults 64 MiB, 1m); PayloadMaxPending files
	// wait for upload at most (default 16), older ones are dropped.
	PayloadSample      float64
	PayloadExclude     []string
	PayloadMaxBody     int
	PayloadRotateBytes int64
	PayloadInterval    time.Duration
	PayloadMaxPending  int
	PayloadDir         string
	// Logger is required.
	Logger *slog.Logger
}

func (o *ServeOptions) validate() error {
	if o.ModelURI == "" {
		return errors.New("models serve: a model URI (-m) is required")
	}
	if o.Logger == nil {
		return errors.New("models serve: no logger")
	}
	if o.Port < 0 || o.Port > 65535 {
		return fmt.Errorf("models serve: bad port %d", o.Port)
	}
	if o.Host == "" {
		o.Host = "127.0.0.1"
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = 30 * time.Second
	}
	if o.LogInterval < 0 {
		return fmt.Errorf("models serve: bad log interval %v", o.LogInterval)
	}
	if o.LogInterval == 0 {
		o.LogInterval = time.Minute
	}
	if o.WatchInterval < 0 || o.WatchTimeout < 0 {
		return errors.New("models serve: the watch interval and timeout must not be negative")
	}
	if o.WatchInterval > 0 && !MovingURI(o.ModelURI) && !MovingURI(o.CanaryURI) {
		return fmt.Errorf("models serve: following %s needs a models:/ URI with an alias, a stage or latest", o.ModelURI)
	}
	if o.CanaryPercent < 0 || o.CanaryPercent > 100 {
		return fmt.Errorf("models serve: canary share %d%% is not between 0 and 100", o.CanaryPercent)
	}
	if o.ShadowTolerance < 0 {
		return fmt.Errorf("models serve: shadow tolerance %v is negative", o.ShadowTolerance)
	}
	if o.FollowRollout {
		if !MovingURI(o.ModelURI) {
			return fmt.Errorf("models serve: following a rollout needs -m models:/NAME@ALIAS (or a stage), not %s", o.ModelURI)
		}
		if o.CanaryURI != "" {
			return errors.New("models serve: --canary and --follow-rollout do not go together: the rollout names the candidate")
		}
		if o.WatchInterval == 0 {
			o.WatchInterval = 10 * time.Second
		}
	}
	if o.WatchTimeout == 0 {
		o.WatchTimeout = 10 * time.Minute
	}
	if o.PayloadSample < 0 || o.PayloadSample > 1 {
		return fmt.Errorf("models serve: payload sample share %v is not between 0 and 1", o.PayloadSample)
	}
	if o.ModelName == "" {
		o.ModelName = "model"
		if u, err := pkgformat.ParseURI(o.ModelURI); err == nil && u.Name != "" {
			o.ModelName = u.Name
			if o.ModelVersion == "" {
				o.ModelVersion = u.Version
			}
		}
	}
	return nil
}

// Scoring is a running scoring server: listener, HTTP server and model.
type Scoring struct {
	opts   ServeOptions
	srv    *serve.Server
	http   *http.Server
	ln     net.Listener
	source *archiveSource
	done   chan error
	// resolver names the version of a models:/ URI (nil without a
	// registry); main and canary are what is served (only Start and
	// watch touch them).
	resolver     resolver
	main, canary *target
	switches     prometheus.Counter
	// rollout is set with FollowRollout.
	rollout *rolloutFollower
	// payloads is set with PayloadSample.
	payloads *payloadLog
}

// NewScoring builds the scoring server and binds its listener (Port 0
// picks a free port; see Addr). The model is loaded by Start.
func NewScoring(opts ServeOptions) (*Scoring, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	promReg := prometheus.NewRegistry()
	promReg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg := flavors.NewRegistry()
	if err := builtin.Register(reg, builtin.Options{
		ONNXRuntimeLib: opts.ONNXRuntimeLib, Logger: opts.Logger, Python: opts.Python,
		CacheDir: opts.WorkerCacheDir, Registerer: promReg, WorkerFlavors: opts.WorkerFlavors,
	}); err != nil {
		return nil, fmt.Errorf("models serve: %w", err)
	}
	res, _ := opts.Source.(resolver)
	if opts.WatchInterval > 0 && res == nil {
		return nil, errors.New("models serve: following a models:/ URI needs a registry to ask")
	}
	var follower *rolloutFollower
	if opts.FollowRollout {
		tags, ok := opts.Source.(tagReader)
		if !ok {
			return nil, errors.New("models serve: following a rollout needs a registry to read its tag from")
		}
		u, _ := pkgformat.ParseURI(opts.ModelURI) // validated
		follower = &rolloutFollower{name: u.Name, tags: tags}
	}
	switches := promauto.With(promReg).NewCounter(prometheus.CounterOpts{
		Name: "mlgate_serve_model_switches_total",
		Help: "Times a followed models:/ URI moved and the server switched to the new version.",
	})
	pl, err := newPayloadLog(opts, promReg)
	if err != nil {
		return nil, err
	}
	var plog serve.PayloadLog
	if pl != nil {
		plog = pl
	}
	src := &archiveSource{next: opts.Source}
	srv, err := serve.New(serve.Options{
		Name:        opts.ModelName,
		Version:     opts.ModelVersion,
		Source:      src,
		ReadModel:   pkgformat.ReadModel,
		Flavors:     reg,
		ForceFlavor: opts.Flavor,
		Load: flavors.LoadOptions{
			IntraOpThreads: opts.IntraOpThreads, InterOpThreads: opts.InterOpThreads,
			Workers: opts.Workers, EnvManager: opts.EnvManager,
		},
		Timeout:         opts.Timeout,
		MaxConcurrency:  opts.MaxConcurrency,
		MaxQueue:        opts.MaxQueue,
		MaxBodyBytes:    opts.MaxBodyBytes,
		MaxBatchSize:    opts.MaxBatchSize,
		MaxBatchDelay:   opts.MaxBatchDelay,
		DrainDelay:      opts.DrainDelay,
		RouteKeyHeader:  opts.RouteKeyHeader,
		ShadowTolerance: opts.ShadowTolerance,
		Payloads:        plog,
		MLflowVersion:   version.MLflowCompat,
		ServerVersion:   version.Version,
		Logger:          opts.Logger,
		Registerer:      promReg,
		Gatherer:        promReg,
	})
	if err != nil {
		_ = pl.close(context.Background())
		return nil, err
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(opts.Host, strconv.Itoa(opts.Port)))
	if err != nil {
		_ = pl.close(context.Background())
		return nil, fmt.Errorf("models serve: %w", err)
	}
	return &Scoring{
		opts: opts, srv: srv, ln: ln, source: src, done: make(chan error, 1), resolver: res, switches: switches, rollout: follower,
		payloads: pl,
		http: &http.Server{Handler: guarded(opts.Security.serveGuard(), srv.Handler()), ConnState: srv.ConnState, ReadHeaderTimeout: 30 * time.Second,
			IdleTimeout: 120 * time.Second},
	}, nil
}

// Addr is the address the server listens on.
func (s *Scoring) Addr() string { return s.ln.Addr().String() }

// Server is the embedded scoring server (for swaps and tests).
func (s *Scoring) Server() *serve.Server { return s.srv }

// Start serves HTTP at once (health answers 503 meanwhile) and loads the
// model; it returns when the model is ready or failed to load.
func (s *Scoring) Start(ctx context.Context) error {
	go func() {
		err := s.http.Serve(s.ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.done <- err
	}()
	s.opts.Logger.Info("scoring server listening", slog.String("addr", "http://"+s.Addr()), slog.String("model_uri", s.opts.ModelURI))
	start := time.Now()
	s.main = &target{role: "model", uri: s.opts.ModelURI, install: func(m *serve.Model) error { s.srv.Install(m); return nil }}
	// a registry URI is loaded through the version it names now, which
	// labels the model (metrics, /v2 metadata)
	if s.resolver != nil && registryURI(s.opts.ModelURI) {
		if _, err := s.load(ctx, s.main); err != nil {
			return err
		}
	} else if err := s.srv.Load(ctx, s.opts.ModelURI); err != nil {
		return err
	}
	if s.rollout != nil {
		// the rollout's candidate, loaded by the watcher (see pollRollout)
		s.canary = &target{role: "canary", uri: "rollout of models:/" + s.rollout.name, install: func(m *serve.Model) error {
			return s.srv.InstallCanary(m, 0)
		}}
	}
	if s.opts.CanaryURI != "" {
		if err := s.startCanary(ctx); err != nil {
			return fmt.Errorf("canary %s: %w", s.opts.CanaryURI, err)
		}
	}
	s.opts.Logger.Info("ready", slog.String("model", s.opts.ModelName), slog.Duration("since_start", time.Since(start)))
	// loading (MLmodel parsing, archive extraction, warm-up) leaves
	// garbage and most of the code resident: hand both back now
	go func() {
		debug.FreeOSMemory()
		if n, err := memtrim.Trim(); err != nil {
			s.opts.Logger.Debug("trimming resident code", slog.String("error", err.Error()))
		} else {
			s.opts.Logger.Debug("trimmed resident code", slog.Int64("mapped_bytes", n))
		}
	}()
	return nil
}

// startCanary loads the canary next to the main model: a registry URI
// through its version (labelled with it), anything else as it is
// (labelled "canary").
func (s *Scoring) startCanary(ctx context.Context) error {
	s.canary = &target{role: "canary", uri: s.opts.CanaryURI, install: func(m *serve.Model) error {
		return s.srv.InstallCanary(m, s.opts.CanaryPercent)
	}}
	if s.resolver != nil && registryURI(s.opts.CanaryURI) {
		_, err := s.load(ctx, s.canary)
		return err
	}
	m, err := s.srv.LoadModel(ctx, s.opts.CanaryURI)
	if err != nil {
		return err
	}
	m.Version = "canary"
	s.canary.served = m.Version
	return s.canary.install(m)
}

// Stop turns readiness false, lets accepted requests finish within ctx,
// then closes the model and removes temporary files.
func (s *Scoring) Stop(ctx context.Context) error {
	return errors.Join(s.drain(ctx), s.close())
}

// drain turns readiness false and lets accepted requests finish within ctx.
func (s *Scoring) drain(ctx context.Context) error { return s.srv.Shutdown(ctx, s.http) }

// close closes the models and removes temporary files; payload files not
// uploaded yet get a few seconds.
func (s *Scoring) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = s.payloads.close(ctx) // logged
	return errors.Join(s.srv.Close(), s.source.Close())
}

// RunServe runs `mlgate models serve` until ctx ends (the first SIGINT or
// SIGTERM), then drains within ShutdownTimeout.
func RunServe(ctx context.Context, opts ServeOptions) error {
	if opts.GCPercent > 0 {
		debug.SetGCPercent(opts.GCPercent)
	}
	s, err := NewScoring(opts)
	if err != nil {
		return err
	}
	if err := s.Start(ctx); err != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Stop(sctx)
		return err
	}
	var run *servingRun
	if opts.LogExperiment != "" {
		rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		run, err = startServingRun(rctx, s.opts, s.srv, s.Addr(), s.payloads)
		cancel()
		if err != nil {
			s.opts.Logger.Error("the serving run cannot be logged; serving without it",
				slog.String("experiment", opts.LogExperiment), slog.String("error", err.Error()))
		}
	}
	watched := make(chan struct{})
	wctx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	var follow []*target
	for _, t := range []*target{s.main, s.canary} {
		if t != nil && s.opts.WatchInterval > 0 && MovingURI(t.uri) {
			follow = append(follow, t)
		}
	}
	if len(follow) > 0 {
		go func() {
			defer close(watched)
			s.watch(wctx, follow, run.versionTagger())
		}()
	} else {
		close(watched)
	}
	var serveErr error
	select {
	case <-ctx.Done():
		s.opts.Logger.Info("shutting down: draining in-flight requests", slog.Duration("timeout", s.opts.ShutdownTimeout))
	case serveErr = <-s.done:
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.opts.ShutdownTimeout)
	defer cancel()
	stopWatch() // no version switch while the server drains and closes
	<-watched
	drainErr := s.drain(sctx)
	if s.payloads != nil {
		// after the drain, so that every answered request is in; before the
		// run ends, so that its files are
		pctx, pcancel := context.WithTimeout(context.Background(), 30*time.Second)
		_ = s.payloads.close(pctx) // logged
		pcancel()
	}
	if run != nil {
		// after the drain, so that every request is counted; before the
		// model closes
		rctx, rcancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := run.finish(rctx, s.opts, serveErr); err != nil {
			s.opts.Logger.Error("ending the serving run", slog.String("run_id", run.runID), slog.String("error", err.Error()))
		}
		rcancel()
	}
	return errors.Join(serveErr, drainErr, s.close())
}
