package serve

import (
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/mlgate/mlgate/payloads"
)

// Payload logging: for a sampled share of the prediction requests, the
// request body and the answer written are kept (each capped) and handed,
// with the time, version, status and latency, to Options.Payloads once
// the answer is written, at the same point that counts the request in the
// per-version figures (observe). Requests not sampled cost one call to
// Sample. The buffers that keep the bodies are pooled: the log copies
// what it keeps.

// PayloadLog receives sampled prediction requests with their answers.
// *payloads.Logger implements it.
type PayloadLog interface {
	// Sample decides, on the request path, whether a request is kept.
	Sample() bool
	// MaxBody caps each kept body in bytes.
	MaxBody() int
	// Add takes a kept request once answered; it must not block, and
	// must copy what it keeps of the bodies (their buffers are reused).
	Add(payloads.Record)
}

// payloadCapture replaces the gin writer of a sampled request: it keeps
// the first max bytes of the answer and, through keepRequest, of the
// request body.
type payloadCapture struct {
	gin.ResponseWriter
	max                 int
	req, resp           []byte
	reqTrunc, respTrunc bool
}

// captures are payloadCaptures for reuse.
var captures = sync.Pool{New: func() any { return new(payloadCapture) }}

// maxPooledCapture bounds the buffers a capture keeps when it goes back
// to the pool: those of outsized bodies are let go.
const maxPooledCapture = 64 << 10

func (w *payloadCapture) keep(b []byte) {
	room := w.max - len(w.resp)
	if len(b) > room {
		w.respTrunc = true
		b = b[:max(room, 0)]
	}
	w.resp = append(w.resp, b...)
}

func (w *payloadCapture) Write(b []byte) (int, error) {
	w.keep(b)
	return w.ResponseWriter.Write(b)
}

func (w *payloadCapture) WriteString(s string) (int, error) {
	w.keep([]byte(s))
	return w.ResponseWriter.WriteString(s)
}

// capturePayload starts capturing c when it is a prediction request and
// sampled; the result is nil otherwise.
func (s *Server) capturePayload(c *gin.Context, route string) *payloadCapture {
	if s.opts.Payloads == nil || !predictionRoute(route) || !s.opts.Payloads.Sample() {
		return nil
	}
	pc := captures.Get().(*payloadCapture)
	pc.ResponseWriter, pc.max = c.Writer, s.opts.Payloads.MaxBody()
	c.Writer = pc
	return pc
}

// keepRequest keeps (a copy of the start of) a sampled request's body.
func keepRequest(c *gin.Context, body []byte) {
	pc, ok := c.Writer.(*payloadCapture)
	if !ok {
		return
	}
	pc.reqTrunc = len(body) > pc.max
	pc.req = append(pc.req[:0], body[:min(len(body), pc.max)]...)
}

// logPayload hands a captured request to the payload log, gives c its
// own writer back and pc to the pool.
func (s *Server) logPayload(c *gin.Context, pc *payloadCapture, start time.Time, took time.Duration, route, version string, status int) {
	s.opts.Payloads.Add(payloads.Record{
		Time: start, Model: s.opts.Name, Version: version, Route: route, Status: status, Latency: took,
		Request: pc.req, Response: pc.resp, RequestTruncated: pc.reqTrunc, ResponseTruncated: pc.respTrunc,
	})
	c.Writer = pc.ResponseWriter
	*pc = payloadCapture{req: pc.req[:0], resp: pc.resp[:0]}
	if cap(pc.req)+cap(pc.resp) > maxPooledCapture {
		return
	}
	captures.Put(pc)
}
