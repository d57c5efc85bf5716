package serve

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/mlgate/mlgate/internal/apierr"
)

// routes builds the route table: every endpoint is listed here.
func (s *Server) routes() *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.HandleMethodNotAllowed = true
	e.Use(s.recoverer(), s.observe())
	h := func(f apierr.HandlerFunc) gin.HandlerFunc { return apierr.Handle(s.log, f) }

	// health probes are not logged: a loading or draining server would
	// fill the log with them
	e.GET("/ping", apierr.Handle(nil, s.health))
	e.GET("/health", apierr.Handle(nil, s.health))
	e.GET("/version", s.version)
	e.POST("/invocations", h(s.invocations))
	e.GET("/metrics", gin.WrapH(promhttp.HandlerFor(s.opts.Gatherer, promhttp.HandlerOpts{})))

	o := func(f apierr.HandlerFunc) gin.HandlerFunc { return s.oipHandle(f) }
	e.GET("/v2", o(s.oipServerMeta))
	e.GET("/v2/", o(s.oipServerMeta))
	e.GET("/v2/health/live", o(s.oipLive))
	e.GET("/v2/health/ready", o(s.oipReady))
	e.GET("/v2/models/:name", o(s.oipModelMeta))
	e.GET("/v2/models/:name/ready", o(s.oipModelReady))
	e.POST("/v2/models/:name/infer", o(s.oipInfer))
	e.GET("/v2/models/:name/versions/:version", o(s.oipModelMeta))
	e.GET("/v2/models/:name/versions/:version/ready", o(s.oipModelReady))
	e.POST("/v2/models/:name/versions/:version/infer", o(s.oipInfer))
	e.GET("/v1/models", o(s.v1Models))
	e.GET("/v1/models/:name", o(s.v1Model))
	e.POST("/v1/models/:name", o(s.v1Predict))

	e.NoRoute(h(func(c *gin.Context) error {
		return apierr.Detail(http.StatusNotFound, apierr.EndpointNotFound, "Not Found")
	}))
	e.NoMethod(h(func(c *gin.Context) error {
		return apierr.Detail(http.StatusMethodNotAllowed, apierr.BadRequest, "Method Not Allowed")
	}))
	return e
}

// recoverer turns a panic into an INTERNAL_ERROR answer.
func (s *Server) recoverer() gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if r := recover(); r != nil {
				if err, ok := r.(error); ok && errors.Is(err, http.ErrAbortHandler) {
					panic(r)
				}
				apierr.Write(c, s.log, apierr.New(apierr.InternalError, "internal error: %v", r))
			}
		}()
		c.Next()
	}
}

// observe records request counts and total latency per route, and hands
// a sampled prediction request with its answer to the payload log.
func (s *Server) observe() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		pc := s.capturePayload(c, c.FullPath())
		cb := countBody(c)
		s.metrics.inFlight.Inc()
		s.shadow.enter()
		defer s.shadow.leave() // a panic goes through here to recoverer
		c.Next()
		s.metrics.inFlight.Dec()
		s.noteRequest(c, cb)
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		version, status := s.requestVersion(c), c.Writer.Status()
		rs := s.metrics.requestSeries(s.opts.Name, requestKey{route: route, version: version, status: status})
		rs.count.Inc()
		took := time.Since(start)
		rs.total.Observe(took.Seconds())
		if pc != nil {
			s.logPayload(c, pc, start, took, route, version, status)
		}
	}
}

// health answers /ping and /health as MLflow does ("\n", 200) once the
// model is loaded and warmed up and the server is not draining.
func (s *Server) health(c *gin.Context) error {
	if !s.Ready() {
		msg := "the model is not loaded yet"
		if s.draining.Load() {
			msg = "the server is shutting down"
		}
		return apierr.New(apierr.TemporarilyUnavailable, "%s", msg)
	}
	c.Data(http.StatusOK, "application/json", []byte("\n"))
	return nil
}

func (s *Server) version(c *gin.Context) {
	c.Data(http.StatusOK, "application/json", []byte(s.opts.MLflowVersion))
}

// readBody reads at most MaxBodyBytes; a larger body is a 413.
func (s *Server) readBody(c *gin.Context) ([]byte, error) {
	if c.Request.ContentLength > s.opts.MaxBodyBytes {
		return nil, s.tooLarge()
	}
	r := http.MaxBytesReader(c.Writer, c.Request.Body, s.opts.MaxBodyBytes)
	body, err := readAllSized(r, c.Request.ContentLength)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, s.tooLarge()
		}
		return nil, apierr.New(apierr.BadRequest, "failed to read the request body: %s", err.Error())
	}
	keepRequest(c, body)
	return body, nil
}

func (s *Server) tooLarge() error {
	return &apierr.Error{Code: apierr.RequestLimitExceeded, Status: http.StatusRequestEntityTooLarge,
		Message: "Request body is larger than the limit of " + strconv.FormatInt(s.opts.MaxBodyBytes, 10) + " bytes"}
}

// invocations is MLflow's POST /invocations.
func (s *Server) invocations(c *gin.Context) error {
	ctx, cancel := s.requestContext(c)
	defer cancel()
	body, err := s.readBody(c)
	if err != nil {
		return err
	}
	mt, err := checkContentType(c.GetHeader("Content-Type"))
	if err != nil {
		return err
	}
	h := s.route(c, "", true)
	if h == nil {
		return apierr.New(apierr.TemporarilyUnavailable, "the model is not loaded")
	}
	defer h.release()
	s.answeredBy(c, h)

	var req *request
	if mt == "text/csv" {
		f, err := parseCSV(body)
		if err != nil {
			return err
		}
		req = &request{frame: f}
	} else {
		if req, err = parseJSONBody(body); err != nil {
			return err
		}
	}
	sig := h.m.signature()
	if !req.llm && fromTypeHint(h.m) {
		if req.format != fmtInputs {
			return apierr.New(apierr.InvalidParameterValue,
				"Request payload must be a dictionary with 'inputs' key when the model contains a valid type hint.")
		}
		req = &request{data: req.data, params: req.params, llm: true, hinted: true}
	}
	in, err := buildInput(req, sig)
	if err != nil {
		return err
	}
	out, err := s.predict(ctx, h, in)
	if err != nil {
		return s.predictError(err)
	}
	var b, rendered []byte
	if req.llm && !req.hinted {
		b, err = appendOutput(nil, out)
	} else {
		b, err = renderPredictions(out)
		rendered = b
	}
	if err != nil {
		return apierr.New(apierr.InternalError, "rendering predictions: %s", err.Error())
	}
	c.Data(http.StatusOK, "application/json", b)
	s.mirror(h, in, out, rendered)
	return nil
}

func fromTypeHint(m *Model) bool {
	if m.Meta == nil || m.Meta.Extra == nil {
		return false
	}
	v, _ := m.Meta.Extra["is_signature_from_type_hint"].(bool)
	return v
}
