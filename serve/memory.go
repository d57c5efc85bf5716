package serve

import (
	"io"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/mlgate/mlgate/internal/memtrim"
)

// Memory of outsized requests. A request takes a few times its body while
// it runs (the body, the parsed document, the model's input and output,
// the answer); pools keep nothing of that size (parsers above
// maxPooledStack values are dropped). What one outsized request leaves is
// free heap that Go would hand back only minutes later: the server's
// Releaser (memtrim) returns it once such requests stop.

// countingBody counts the bytes a handler read from a request body, and
// the decoded bytes it made of them (a compressed body's inflated size).
type countingBody struct {
	io.ReadCloser
	n int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	return n, err
}

// countBody wraps a request body so that the request's size is known when
// it ends (nil when the request has no body).
func countBody(c *gin.Context) *countingBody {
	if c.Request.Body == nil || c.Request.Body == http.NoBody {
		return nil
	}
	cb := &countingBody{ReadCloser: c.Request.Body}
	c.Request.Body = cb
	return cb
}

// noteDecoded adds a decoded body's size to the request's count.
func noteDecoded(c *gin.Context, n int) {
	if cb, ok := c.Request.Body.(*countingBody); ok {
		cb.n += int64(n)
	}
}

// noteRequest tells the releaser how many bytes a finished request handled.
func (s *Server) noteRequest(c *gin.Context, cb *countingBody) {
	n := int64(max(c.Writer.Size(), 0))
	if cb != nil {
		n += cb.n
	}
	s.release.Note(n)
}

// newReleaser builds the releaser of Options.ReleaseBytes (nil when off).
func newReleaser(bytes int64) *memtrim.Releaser {
	switch {
	case bytes < 0:
		return nil
	case bytes == 0:
		bytes = memtrim.DefaultThreshold
	}
	return memtrim.NewReleaser(bytes, memtrim.DefaultQuiet)
}

// readAllSized reads r whole. With a known length (the Content-Length,
// bounded by the caller) it allocates the buffer once instead of doubling
// it, which would make a 50 MB body cost about twice that at its peak.
func readAllSized(r io.Reader, size int64) ([]byte, error) {
	if size <= 0 {
		return io.ReadAll(r)
	}
	buf := make([]byte, 0, size+1) // +1: EOF is seen without growing
	for {
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
		if len(buf) == cap(buf) {
			// longer than announced (net/http refuses that, but a
			// wrapped body may not): go on the ordinary way
			rest, err := io.ReadAll(r)
			return append(buf, rest...), err
		}
	}
}
