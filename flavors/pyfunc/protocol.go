package pyfunc

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Protocol is the worker protocol version this mlgate speaks. Version 2
// added the optional batch frame ('B', answered by 'M') and the "frames"
// list of the handshake.
const Protocol = 2

// Frame types.
const (
	framePredict   byte = 'P'
	frameBatch     byte = 'B' // decoded data frame(s), for workers that list it
	frameOK        byte = 'O'
	frameUnwrapped byte = 'U'
	frameError     byte = 'E'
	frameMany      byte = 'M' // one sub-frame per input of a 'B' frame
)

const (
	handshakeMagic = "mlgate-worker"
	// maxFrame bounds a frame from a worker (1 GiB).
	maxFrame = 1 << 30
	// maxHandshakeNoise bounds what a worker may print on stdout before
	// its handshake line.
	maxHandshakeNoise = 64 << 10
)

// ErrProtocol means a worker broke the protocol (a bad handshake, an
// unknown frame, a version mismatch).
var ErrProtocol = errors.New("worker protocol error")

var errNoHandshake = fmt.Errorf("%w: worker closed stdout before its handshake", ErrProtocol)

// WorkerInfo is the JSON object of a worker's handshake line.
type WorkerInfo struct {
	PID     int    `json:"pid,omitempty"`
	Runtime string `json:"runtime,omitempty"`
	MLflow  string `json:"mlflow,omitempty"`
	Python  string `json:"python,omitempty"`
	// Frames lists the optional request frame types the worker accepts
	// beyond 'P' (protocol 2: "B").
	Frames []string `json:"frames,omitempty"`
}

// accepts says whether the worker announced the optional frame kind.
func (i *WorkerInfo) accepts(kind byte) bool {
	if i == nil {
		return false
	}
	for _, f := range i.Frames {
		if f == string(kind) {
			return true
		}
	}
	return false
}

// WorkerError is an error a worker answered with: an MLflow error code and
// message. Client-side codes (4xx) also match flavors.ErrBadInput.
type WorkerError struct {
	Code       string `json:"error_code"`
	Message    string `json:"message"`
	StackTrace string `json:"stack_trace,omitempty"`
	badInput   error
}

// Error implements error.
func (e *WorkerError) Error() string { return e.Message }

// ErrorCode is the MLflow error code (read by internal/apierr).
func (e *WorkerError) ErrorCode() string {
	if e.Code == "" {
		return "INTERNAL_ERROR"
	}
	return e.Code
}

// Unwrap returns flavors.ErrBadInput for user errors.
func (e *WorkerError) Unwrap() error { return e.badInput }

// readHandshake reads the handshake line from r. Lines before it that do
// not start with the magic word are returned as noise (a worker printed
// something on stdout before taking it over); they are bounded.
func readHandshake(r *bufio.Reader, noise func(string)) (*WorkerInfo, error) {
	seen := 0
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, errNoHandshake
			}
			return nil, err
		}
		line = strings.TrimRight(line, "\r\n")
		if !strings.HasPrefix(line, handshakeMagic) {
			seen += len(line)
			if seen > maxHandshakeNoise {
				return nil, fmt.Errorf("%w: no handshake line in the first %d bytes of the worker's stdout", ErrProtocol, maxHandshakeNoise)
			}
			if noise != nil {
				noise(line)
			}
			continue
		}
		return parseHandshake(line)
	}
}

// parseHandshake parses "mlgate-worker V {json}" or
// "mlgate-worker-error V {json}".
func parseHandshake(line string) (*WorkerInfo, error) {
	word, rest, _ := strings.Cut(line, " ")
	ver, payload, _ := strings.Cut(rest, " ")
	v, err := strconv.Atoi(ver)
	if err != nil {
		return nil, fmt.Errorf("%w: bad handshake line %q", ErrProtocol, truncate(line, 200))
	}
	switch word {
	case handshakeMagic + "-error":
		we := &WorkerError{}
		if err := json.Unmarshal([]byte(payload), we); err != nil || we.Message == "" {
			return nil, fmt.Errorf("%w: the worker failed to start: %s", ErrProtocol, truncate(payload, 2000))
		}
		return nil, we
	case handshakeMagic:
	default:
		return nil, fmt.Errorf("%w: bad handshake line %q", ErrProtocol, truncate(line, 200))
	}
	if v != Protocol {
		return nil, fmt.Errorf("%w: the worker speaks protocol version %d, this mlgate speaks %d; update the worker or mlgate", ErrProtocol, v, Protocol)
	}
	info := &WorkerInfo{}
	if strings.TrimSpace(payload) != "" {
		if err := json.Unmarshal([]byte(payload), info); err != nil {
			return nil, fmt.Errorf("%w: bad handshake info %q: %w", ErrProtocol, truncate(payload, 200), err)
		}
	}
	return info, nil
}

// writeFrame writes one frame: length, type, body.
func writeFrame(w io.Writer, kind byte, body []byte) error {
	var hdr [5]byte
	binary.BigEndian.PutUint32(hdr[:4], uint32(len(body)+1))
	hdr[4] = kind
	// One write for small frames keeps them atomic on the pipe.
	if len(body) < 64<<10 {
		buf := make([]byte, 0, 5+len(body))
		buf = append(append(buf, hdr[:]...), body...)
		_, err := w.Write(buf)
		return err
	}
	if _, err := w.Write(hdr[:]); err != nil {
		return err
	}
	_, err := w.Write(body)
	return err
}

// readFrame reads one frame.
func readFrame(r io.Reader) (byte, []byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n == 0 || n > maxFrame {
		return 0, nil, fmt.Errorf("%w: frame length %d", ErrProtocol, n)
	}
	var buf []byte
	if n <= 1<<20 {
		buf = make([]byte, n)
		if _, err := io.ReadFull(r, buf); err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return 0, nil, err
		}
	} else {
		// a large length is only believed as its bytes arrive: a
		// corrupt header must not allocate up to maxFrame at once
		var b bytes.Buffer
		if m, err := io.CopyN(&b, r, int64(n)); err != nil || m != int64(n) {
			if err == nil || errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return 0, nil, err
		}
		buf = b.Bytes()
	}
	return buf[0], buf[1:], nil
}

// decodeError parses an 'E' frame body.
func decodeError(body []byte) *WorkerError {
	we := &WorkerError{}
	if err := json.Unmarshal(body, we); err != nil || (we.Message == "" && we.Code == "") {
		return &WorkerError{Code: "INTERNAL_ERROR", Message: "worker sent a malformed error: " + truncate(string(bytes.TrimSpace(body)), 2000)}
	}
	return we
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
