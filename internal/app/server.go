package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/mlgate/mlgate/artifacts"
	"github.com/mlgate/mlgate/internal/auth"
	"github.com/mlgate/mlgate/internal/conns"
	"github.com/mlgate/mlgate/internal/db"
	"github.com/mlgate/mlgate/internal/version"
	regserver "github.com/mlgate/mlgate/registry/server"
	regstore "github.com/mlgate/mlgate/registry/store"
	"github.com/mlgate/mlgate/tracking/proxy"
	trkserver "github.com/mlgate/mlgate/tracking/server"
	"github.com/mlgate/mlgate/tracking/store"
	"github.com/mlgate/mlgate/ui"
)

// ServerOptions configure the tracking and registry server (`mlgate server`).
type ServerOptions struct {
	// BackendStoreURI is sqlite:///path.db or postgresql://… (default sqlite:///mlgate.db).
	BackendStoreURI string
	// DefaultArtifactRoot is where new experiments store artifacts; empty
	// means mlflow-artifacts:/ when ServeArtifacts, else ./mlruns.
	DefaultArtifactRoot string
	// ArtifactsDestination is the proxied artifact store: a folder or any
	// URI artifacts.Open reads (s3://, gs://, wasbs://, abfss://; default
	// ./mlartifacts).
	ArtifactsDestination string
	// ServeArtifacts enables the mlflow-artifacts proxy routes.
	ServeArtifacts bool
	// Host and Port to listen on (default 127.0.0.1:5000; port 0 picks one).
	Host string
	Port int
	// Auth is "none" (default) or "basic"; AuthUsersFile is the users file.
	Auth          string
	AuthUsersFile string
	// AppName "basic-auth" turns on MLflow's basic-auth app (users,
	// admins, per-resource permissions) configured by BasicAuth.
	AppName   string
	BasicAuth auth.Config
	// Artifacts reach the artifact stores of the destination and of
	// artifact roots (artifacts.FromEnv).
	Artifacts artifacts.Options
	// ModelVersionSourceRegex, when set, must match the source of every
	// new model version (MLFLOW_CREATE_MODEL_VERSION_SOURCE_VALIDATION_REGEX).
	ModelVersionSourceRegex string
	// WebhookAllowedSchemes are the URL schemes registry webhooks may use
	// (MLFLOW_WEBHOOK_ALLOWED_SCHEMES; default https).
	WebhookAllowedSchemes []string
	// WebhookAllowPrivateIPs lets webhooks reach loopback and private
	// addresses (MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS).
	WebhookAllowPrivateIPs bool
	// MaxWriteTransactions bounds the write transactions a PostgreSQL
	// store runs at once (db.DB.SetWriteLimit); 0: no bound.
	MaxWriteTransactions int
	// Logger receives request errors and lifecycle lines; nil discards.
	Logger *slog.Logger
	// Registerer receives the server metrics served on /metrics; nil
	// creates a private registry.
	Registerer prometheus.Registerer
	// Gatherer serves /metrics; defaults to the private registry.
	Gatherer prometheus.Gatherer
	// Security configures the security middleware (on unless Disabled).
	Security Security
}

func (o *ServerOptions) validate() error {
	if o.BackendStoreURI == "" {
		o.BackendStoreURI = "sqlite:///mlgate.db"
	}
	if o.ArtifactsDestination == "" {
		o.ArtifactsDestination = "./mlartifacts"
	}
	if o.Host == "" {
		o.Host = "127.0.0.1"
	}
	if o.Port < 0 || o.Port > 65535 {
		return fmt.Errorf("port %d out of range", o.Port)
	}
	switch o.Auth {
	case "", "none":
		o.Auth = "none"
	case "basic":
		if o.AuthUsersFile == "" {
			return errors.New("--auth basic needs --auth-users FILE")
		}
	default:
		return fmt.Errorf("--auth %q: want none or basic", o.Auth)
	}
	switch o.AppName {
	case "":
	case "basic-auth":
		if o.Auth != "none" {
			return errors.New("--app-name basic-auth and --auth basic are alternatives: pick one")
		}
	default:
		return fmt.Errorf("--app-name %q: want basic-auth", o.AppName)
	}
	if o.DefaultArtifactRoot == "" {
		if o.ServeArtifacts {
			o.DefaultArtifactRoot = "mlflow-artifacts:/"
		} else {
			abs, err := filepath.Abs("mlruns")
			if err != nil {
				return err
			}
			o.DefaultArtifactRoot = abs
		}
	} else if !strings.Contains(o.DefaultArtifactRoot, ":") {
		abs, err := filepath.Abs(o.DefaultArtifactRoot)
		if err != nil {
			return err
		}
		o.DefaultArtifactRoot = abs
	}
	if o.Security.XFrameOptions == "" {
		o.Security.XFrameOptions = "SAMEORIGIN"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Registerer == nil {
		reg := prometheus.NewRegistry()
		// Go runtime and process figures (goroutines, RSS, open files),
		// as models serve has: the soak reads them.
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		o.Registerer, o.Gatherer = reg, reg
	}
	if o.Gatherer == nil {
		o.Gatherer = prometheus.NewRegistry()
	}
	return nil
}

// Server is an embeddable tracking and registry server: New, Start, Addr,
// Stop (or Run). Tests and quickstart run it in-process on 127.0.0.1:0.
type Server struct {
	opts     ServerOptions
	db       *db.DB
	authDB   *db.DB // the basic-auth app's own database, when not db
	tracking *store.Store
	registry *regstore.Store
	engine   *gin.Engine
	http     *http.Server
	fresh    conns.Fresh // connections without a request yet, closed by Stop
	// hooks are the webhook events accepted and not yet delivered; Stop
	// delivers them before closing the store.
	hooks regserver.Deliveries

	mu      sync.Mutex
	ln      net.Listener
	started bool
	stopped bool
	done    chan error
}

// NewServer opens the stores (migrating them) and builds the HTTP handler.
func NewServer(ctx context.Context, opts ServerOptions) (*Server, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	d, err := db.Open(ctx, opts.BackendStoreURI)
	if err != nil {
		return nil, err
	}
	d.SetWriteLimit(opts.MaxWriteTransactions)
	s := &Server{opts: opts, db: d, done: make(chan error, 1)}
	if err := s.build(ctx); err != nil {
		_ = d.Close()
		return nil, err
	}
	return s, nil
}

func (s *Server) build(ctx context.Context) error {
	o := s.opts
	tr, err := store.Open(ctx, s.db, store.Options{DefaultArtifactRoot: o.DefaultArtifactRoot, Logger: o.Logger})
	if err != nil {
		return fmt.Errorf("tracking store: %w", err)
	}
	s.tracking = tr
	reg, err := regstore.New(ctx, s.db, regstore.Options{
		RunArtifactURI: func(ctx context.Context, runID string) (string, error) {
			r, err := tr.GetRun(ctx, runID)
			if errors.Is(err, store.ErrNotFound) {
				return "", fmt.Errorf("%w: %w", regstore.ErrNotFound, err)
			}
			if err != nil {
				return "", err
			}
			return r.Info.ArtifactURI, nil
		},
		LoggedModel: func(ctx context.Context, id string) (regstore.LoggedModel, error) {
			m, err := tr.GetLoggedModel(ctx, id)
			if errors.Is(err, store.ErrNotFound) {
				return regstore.LoggedModel{}, fmt.Errorf("%w: %w", regstore.ErrNotFound, err)
			}
			if err != nil {
				return regstore.LoggedModel{}, err
			}
			return regstore.LoggedModel{ArtifactLocation: m.ArtifactURI, SourceRunID: m.SourceRunID}, nil
		},
		AddModelVersion: tr.AddModelVersion,
	})
	if err != nil {
		return fmt.Errorf("registry store: %w", err)
	}
	s.registry = reg

	resolver := &proxy.Resolver{Options: o.Artifacts}
	if o.ServeArtifacts {
		dest := o.ArtifactsDestination
		opts := o.Artifacts
		opts.Tracking = nil
		repo, err := artifacts.Open(ctx, dest, opts)
		if err != nil {
			return fmt.Errorf("artifacts destination %s: %w", dest, err)
		}
		resolver.Proxy = repo
	}

	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.ContextWithFallback = true
	e.Use(gin.Recovery(), newHTTPMetrics(o.Registerer).middleware())
	if guard := o.Security.serverGuard(e); guard != nil {
		e.Use(guard)
	}
	var read, write []gin.HandlerFunc
	var users *auth.Authenticator
	var perms *auth.App
	topts := trkserver.Options{Store: tr, Logger: o.Logger}
	if o.Auth == "basic" {
		if users, err = auth.Load(o.AuthUsersFile); err != nil {
			return err
		}
		e.Use(users.Middleware("/health", "/version"))
	}
	if o.AppName == "basic-auth" {
		if perms, err = s.basicAuth(ctx); err != nil {
			return err
		}
		e.Use(perms.Middleware())
		perms.Mount(e)
		topts.FilterExperiments = perms.FilterExperiments
		topts.RunCreated = perms.RunCreated
	}
	for _, p := range []string{"/api/2.0", "/ajax-api/2.0"} {
		if perms != nil {
			e.GET(p+"/mlgate/users/current", perms.Current)
		} else {
			e.GET(p+"/mlgate/users/current", auth.CurrentUser(users))
		}
	}
	e.GET("/health", func(c *gin.Context) { c.String(http.StatusOK, "OK") })
	e.GET("/version", func(c *gin.Context) { c.String(http.StatusOK, version.MLflowCompat) })
	e.GET("/metrics", gin.WrapH(promhttp.HandlerFor(o.Gatherer, promhttp.HandlerOpts{})))
	trkserver.New(topts).Mount(e)
	ropts := regserver.Options{Store: reg, Logger: o.Logger, Registerer: o.Registerer, Deliveries: &s.hooks,
		WebhookAllowedSchemes: o.WebhookAllowedSchemes, WebhookAllowPrivateIPs: o.WebhookAllowPrivateIPs}
	if o.ModelVersionSourceRegex != "" {
		re, err := regexp.Compile(o.ModelVersionSourceRegex)
		if err != nil {
			return fmt.Errorf("MLFLOW_CREATE_MODEL_VERSION_SOURCE_VALIDATION_REGEX: %w", err)
		}
		ropts.SourceRegex = re
	}
	if perms != nil {
		ropts.FilterModels = perms.FilterModels
	}
	if err := regserver.Mount(e, ropts); err != nil {
		return err
	}
	proxy.NewHandlers(proxy.Options{
		Resolver: resolver,
		RunArtifactURI: func(ctx context.Context, runID string) (string, error) {
			r, err := tr.GetRun(ctx, runID)
			if err != nil {
				return "", err
			}
			return r.Info.ArtifactURI, nil
		},
		ModelVersionURI: reg.GetModelVersionDownloadURI,
		LoggedModelURI: func(ctx context.Context, id string) (string, error) {
			m, err := tr.GetLoggedModel(ctx, id)
			if err != nil {
				return "", err
			}
			return m.ArtifactURI, nil
		},
		Logger: o.Logger,
	}).Mount(e, read, write)
	ui.Mount(e)
	e.NoRoute(func(c *gin.Context) {
		c.JSON(http.StatusNotFound, gin.H{"error_code": "ENDPOINT_NOT_FOUND", "message": "No such endpoint: " + c.Request.Method + " " + c.Request.URL.Path})
	})
	s.engine = e
	s.http = &http.Server{Handler: e, ConnState: s.fresh.ConnState, ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout: 120 * time.Second}
	if perms != nil {
		s.http.ConnContext = perms.ConnContext // a keep-alive connection's sign-in is remembered
	}
	return nil
}

// Handler returns the server's HTTP handler (for httptest).
func (s *Server) Handler() http.Handler { return s.engine }

// TrackingStore returns the tracking store (for embedded clients).
func (s *Server) TrackingStore() *store.Store { return s.tracking }

// RegistryStore returns the registry store (for embedded clients).
func (s *Server) RegistryStore() *regstore.Store { return s.registry }

// Start listens and serves in the background.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return errors.New("server: Start after Stop")
	}
	if s.started {
		return nil
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(s.opts.Host, strconv.Itoa(s.opts.Port)))
	if err != nil {
		return err
	}
	s.ln, s.started = ln, true
	go func() {
		err := s.http.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.done <- err
	}()
	s.opts.Logger.Info("mlgate server listening", slog.String("addr", ln.Addr().String()),
		slog.String("backend_store", s.db.URI), slog.String("default_artifact_root", s.opts.DefaultArtifactRoot),
		slog.Bool("serve_artifacts", s.opts.ServeArtifacts), slog.String("auth", s.opts.Auth))
	return nil
}

// Addr is the listening address (host:port) once started.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// URL is the server's base URL (http://host:port) once started.
func (s *Server) URL() string { return "http://" + s.Addr() }

// Stop drains in-flight requests and webhook deliveries (bounded by ctx)
// and closes the stores.
func (s *Server) Stop(ctx context.Context) error {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return nil
	}
	s.stopped = true
	started := s.started
	s.mu.Unlock()
	var errs []error
	if started {
		if err := s.fresh.Shutdown(ctx, s.http); err != nil {
			errs = append(errs, err, s.http.Close())
		}
		if err := <-s.done; err != nil {
			errs = append(errs, err)
		}
	}
	if err := s.hooks.Wait(ctx); err != nil {
		errs = append(errs, err)
	}
	if s.authDB != nil {
		errs = append(errs, s.authDB.Close())
	}
	if s.tracking != nil {
		errs = append(errs, s.tracking.Close())
	}
	errs = append(errs, s.db.Close())
	return errors.Join(errs...)
}

// RunServer runs the server until ctx ends, then shuts down gracefully.
func RunServer(ctx context.Context, opts ServerOptions) error {
	s, err := NewServer(ctx, opts)
	if err != nil {
		return err
	}
	if err := s.Start(); err != nil {
		_ = s.Stop(context.Background())
		return err
	}
	select {
	case <-ctx.Done():
	case err := <-s.done:
		s.done <- err
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return s.Stop(sctx)
}
