package serve

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/mlgate/mlgate/flavors"
	"github.com/mlgate/mlgate/internal/apierr"
)

// timeoutMessage is MLflow's answer when a request exceeds the timeout.
const timeoutMessage = "Request processing time exceeded limit"

// errQueueFull is answered 503 with Retry-After.
var errQueueFull = &apierr.Error{
	Code:    apierr.TemporarilyUnavailable,
	Message: "The server is overloaded: the request queue is full. Retry later.",
	Headers: map[string]string{"Retry-After": "1"},
}

// requestContext bounds a request by the server's timeout.
func (s *Server) requestContext(c *gin.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(c.Request.Context(), s.opts.Timeout)
}

// result is a prediction's outcome.
type result struct {
	out *flavors.Output
	err error
}

// predict admits the request (or refuses it when the queue is full) and
// runs it, batched when the model allows.
func (s *Server) predict(ctx context.Context, h *handle, in *flavors.Input) (*flavors.Output, error) {
	limit := int64(s.opts.MaxQueue + s.opts.MaxConcurrency)
	if s.admitted.Add(1) > limit {
		s.admitted.Add(-1)
		return nil, errQueueFull
	}
	defer s.admitted.Add(-1)
	if h.batch != nil {
		if _, rows, ok := batchKey(in); ok && rows > 0 && rows < s.opts.MaxBatchSize {
			return h.batch.submit(ctx, in)
		}
	}
	enq := time.Now()
	s.metrics.queued.Inc()
	select {
	case s.slots <- struct{}{}:
		s.metrics.queued.Dec()
	case <-ctx.Done():
		s.metrics.queued.Dec()
		return nil, ctx.Err()
	}
	h.obs.queue.Observe(time.Since(enq).Seconds())
	if !h.tryAcquire() { // the worker holds its own reference
		<-s.slots
		return nil, flavors.ErrUnavailable
	}
	done := make(chan result, 1)
	// The prediction outlives a client that goes away (a worker's answer
	// is awaited, not abandoned mid-protocol) but not the request's
	// deadline: ONNX Runtime stops the run and a python_function worker
	// that has not answered is replaced, freeing the slot for the next.
	pctx, cancel := context.WithoutCancel(ctx), context.CancelFunc(func() {})
	if dl, ok := ctx.Deadline(); ok {
		pctx, cancel = context.WithDeadline(pctx, dl)
	}
	go func() {
		defer h.release()
		defer func() { <-s.slots }()
		defer cancel()
		out, err := s.call(pctx, h, in, rowsOf(in))
		done <- result{out, err}
	}()
	select {
	case r := <-done:
		return r.out, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// call runs the predictor once, turning a panic into an error.
func (s *Server) call(ctx context.Context, h *handle, in *flavors.Input, rows int) (out *flavors.Output, err error) {
	err = s.timed(h, rows, func() error {
		out, err = h.m.Predictor.Predict(ctx, in)
		if err == nil && out == nil {
			err = errors.New("the predictor returned no output")
		}
		return err
	})
	return out, err
}

// timed runs one predictor call f, timing it, counting its rows (when
// known) and turning a panic into an error.
func (s *Server) timed(h *handle, rows int, f func() error) (err error) {
	start := time.Now()
	s.limit.begin()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("predictor panicked: %v", r)
		}
		now := time.Now()
		d := now.Sub(start)
		s.limit.end(start, now)
		if s.shadow.pct.Load() > 0 {
			s.shadow.adm.earn(d) // the mirrors' budget at saturation
		}
		h.obs.inference.Observe(d.Seconds())
		if rows > 0 {
			h.obs.batchSize.Observe(float64(rows))
		}
	}()
	return f()
}

// predictError maps a prediction failure to MLflow's answer.
func (s *Server) predictError(err error) error {
	var ae *apierr.Error
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.Is(err, context.DeadlineExceeded):
		return &apierr.Error{Code: apierr.DeadlineExceeded, Status: http.StatusGatewayTimeout, Message: timeoutMessage, Err: err,
			Form: apierr.FormPlain, ContentType: "application/json"}
	case errors.Is(err, context.Canceled):
		return apierr.Wrap(apierr.Cancelled, err)
	case errors.Is(err, flavors.ErrUnavailable):
		return &apierr.Error{Code: apierr.TemporarilyUnavailable, Message: err.Error(), Err: err,
			Headers: map[string]string{"Retry-After": "1"}}
	}
	var coder apierr.Coder
	if errors.As(err, &coder) {
		return apierr.From(err)
	}
	s.log.Info("prediction failed", slog.String("error", err.Error()))
	return &apierr.Error{Code: apierr.BadRequest, Err: err, Message: "Encountered an unexpected error while evaluating the model. Verify" +
		" that the serialized input Dataframe is compatible with the model for" +
		" inference. Error: " + err.Error()}
}

// warmUp runs the model's serving input example through the same path as
// a request, so that the first real request does not pay for lazy
// initialisation.
func (s *Server) warmUp(ctx context.Context, m *Model) error {
	body, err := readExample(m.Dir)
	if err != nil || body == nil {
		return err
	}
	req, err := parseJSONBody(body)
	if err != nil {
		return err
	}
	in, err := buildInput(req, m.signature())
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	_, err = s.call(ctx, &handle{m: m, obs: s.metrics.modelSeries(m.Name)}, in, 0)
	return err
}

// exampleFile is the ready /invocations payload MLflow saves with a model.
const exampleFile = "serving_input_example.json"

// readExample returns the model's serving input example, or nil.
func readExample(dir string) ([]byte, error) {
	if dir == "" {
		return nil, nil
	}
	b, err := os.ReadFile(filepath.Join(dir, exampleFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return b, err
}
