package payloads

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Record is one prediction request with its answer.
type Record struct {
	// Time is when the request arrived.
	Time time.Time
	// Model and Version name what answered; Route is the endpoint.
	Model, Version, Route string
	// Status is the HTTP status of the answer; Latency the time to it.
	Status  int
	Latency time.Duration
	// Request and Response are the bodies (at most the Logger's MaxBody
	// bytes each); the Truncated flags tell that a body was longer.
	Request, Response                   []byte
	RequestTruncated, ResponseTruncated bool
}

// Columns are the fields of a logged record, in the order they are
// written. "request_truncated" and "response_truncated" go with their
// body: excluding "request" leaves both out.
var Columns = slices.Clone(colNames[:])

// columns is a set of columns to leave out.
type columns uint16

func parseExclude(names []string) (columns, error) {
	var ex columns
	for _, n := range names {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		i := columnIndex(n)
		if i < 0 || n == "timestamp_ms" || strings.HasSuffix(n, "_truncated") {
			return 0, fmt.Errorf("payloads: cannot exclude the column %q (one of %s)", n, strings.Join(excludable(), ", "))
		}
		ex |= 1 << i
		if n == "request" || n == "response" {
			ex |= 1 << columnIndex(n+"_truncated")
		}
	}
	return ex, nil
}

func excludable() []string {
	var out []string
	for _, c := range colNames {
		if c != "timestamp_ms" && !strings.HasSuffix(c, "_truncated") {
			out = append(out, c)
		}
	}
	return out
}

func columnIndex(name string) int {
	for i, c := range colNames {
		if c == name {
			return i
		}
	}
	return -1
}

// The columns' positions in Columns.
const (
	colTimestamp = iota
	colModel
	colVersion
	colRoute
	colStatus
	colLatency
	colSample
	colRequest
	colRequestTruncated
	colResponse
	colResponseTruncated
)

// encoder writes records as JSON lines: the columns kept and what every
// line shares, worked out once.
type encoder struct {
	exclude columns
	// keys[i] opens column i's field: `{"name":` for the first one
	// written, `,"name":` for the others.
	keys [len(colNames)][]byte
	// sample is the sampling_fraction value, already formatted.
	sample []byte
}

// colNames is Columns as an array (its length is a constant).
var colNames = [...]string{
	colTimestamp: "timestamp_ms", colModel: "model_name", colVersion: "model_version", colRoute: "route",
	colStatus: "status_code", colLatency: "latency_ms", colSample: "sampling_fraction", colRequest: "request",
	colRequestTruncated: "request_truncated", colResponse: "response", colResponseTruncated: "response_truncated",
}

func newEncoder(sample float64, ex columns) *encoder {
	e := &encoder{exclude: ex, sample: strconv.AppendFloat(nil, sample, 'g', -1, 64)}
	sep := byte('{')
	for i, c := range colNames {
		if e.keeps(i) {
			e.keys[i] = append(append([]byte{sep, '"'}, c...), '"', ':')
			sep = ','
		}
	}
	return e
}

// keeps tells whether column i is written.
func (e *encoder) keeps(i int) bool { return e.exclude&(1<<i) == 0 }

// entry is a queued record: its bodies wait, request then response, in
// its batch's data (the bodies of the entries before it come first).
type entry struct {
	ms, us                  int64 // the time (Unix milliseconds) and the latency (µs)
	model, version, route   string
	status                  int
	reqLen, respLen         int
	reqTruncated, respTrunc bool
}

func entryOf(r *Record) entry {
	return entry{ms: r.Time.UnixMilli(), us: r.Latency.Microseconds(), model: r.Model, version: r.Version, route: r.Route,
		status: r.Status, reqLen: len(r.Request), respLen: len(r.Response), reqTruncated: r.RequestTruncated, respTrunc: r.ResponseTruncated}
}

// appendJSON appends a record (e, with its bodies req and resp) as one
// JSON line without the excluded columns; bodies are kept as text (bytes
// that are not UTF-8 become U+FFFD).
func (e *encoder) appendJSON(b []byte, r *entry, req, resp []byte) []byte {
	for i := range colNames {
		if !e.keeps(i) {
			continue
		}
		b = append(b, e.keys[i]...)
		switch i {
		case colTimestamp:
			b = strconv.AppendInt(b, r.ms, 10)
		case colModel:
			b = appendString(b, r.model)
		case colVersion:
			b = appendString(b, r.version)
		case colRoute:
			b = appendString(b, r.route)
		case colStatus:
			b = strconv.AppendInt(b, int64(r.status), 10)
		case colLatency:
			b = appendMillis(b, r.us)
		case colSample:
			b = append(b, e.sample...)
		case colRequest:
			b = appendString(b, req)
		case colRequestTruncated:
			b = strconv.AppendBool(b, r.reqTruncated)
		case colResponse:
			b = appendString(b, resp)
		case colResponseTruncated:
			b = strconv.AppendBool(b, r.respTrunc)
		}
	}
	return append(b, '}', '\n')
}

// appendMillis appends us microseconds as milliseconds, the way
// strconv.AppendFloat(b, float64(us)/1000, 'f', -1, 64) writes them
// (1500 as 1.5, 2000 as 2, 7 as 0.007) without its shortest-float search.
func appendMillis(b []byte, us int64) []byte {
	if us < 0 {
		b = append(b, '-')
		us = -us // a negative latency is a clock step; kept as it was
	}
	b = strconv.AppendInt(b, us/1000, 10)
	frac := us % 1000
	if frac == 0 {
		return b
	}
	d := [3]byte{byte('0' + frac/100), byte('0' + frac/10%10), byte('0' + frac%10)}
	n := 3
	for d[n-1] == '0' {
		n--
	}
	b = append(b, '.')
	return append(b, d[:n]...)
}

// Byte classes of JSON string escaping.
const (
	plainByte   = iota // printable ASCII but the quote and the backslash: as is
	shortEscape        // ", \\, newline, return, tab: a backslash and a letter
	longEscape         // other control bytes: \\u00XX
	multiByte          // the start of a UTF-8 sequence (or an invalid byte)
)

// byteClass is each byte's class; shortLetter the letter after the
// backslash of a shortEscape.
var byteClass, shortLetter = func() (class, letter [256]byte) {
	for c := range 256 {
		switch {
		case c >= utf8.RuneSelf:
			class[c] = multiByte
		case c == '"' || c == '\\':
			class[c], letter[c] = shortEscape, byte(c)
		case c == '\n':
			class[c], letter[c] = shortEscape, 'n'
		case c == '\r':
			class[c], letter[c] = shortEscape, 'r'
		case c == '\t':
			class[c], letter[c] = shortEscape, 't'
		case c < 0x20:
			class[c] = longEscape
		}
	}
	return class, letter
}()

// appendString appends s as a JSON string, invalid UTF-8 as U+FFFD.
//
// It makes room for twice s first, the most that plain text, short
// escapes and valid UTF-8 take, and stores byte by byte into it (no
// append per run: a JSON body has a quote every few bytes). At the first
// byte that may take more (a \u escape), the rest goes through
// appendRest.
func appendString[T string | []byte](b []byte, s T) []byte {
	n := len(b)
	b = slices.Grow(b, 2*len(s)+2)[:n+2*len(s)+2]
	b[n] = '"'
	j := n + 1
	for i := 0; i < len(s); {
		c := s[i]
		switch byteClass[c] {
		case plainByte:
			b[j] = c
			j++
			i++
			continue
		case shortEscape:
			b[j], b[j+1] = '\\', shortLetter[c]
			j += 2
			i++
			continue
		case multiByte:
			if r, size := decodeRune(s[i:]); r != utf8.RuneError || size > 1 {
				j += copy(b[j:], s[i:i+size])
				i += size
				continue
			}
		}
		return appendRest(b[:j], s[i:])
	}
	b[j] = '"'
	return b[:j+1]
}

// appendRest appends the rest of a JSON string and its closing quote,
// growing as it goes.
func appendRest[T string | []byte](b []byte, s T) []byte {
	const hex = "0123456789abcdef"
	for i := 0; i < len(s); {
		c := s[i]
		switch byteClass[c] {
		case plainByte:
			b = append(b, c)
		case shortEscape:
			b = append(b, '\\', shortLetter[c])
		case longEscape:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			r, size := decodeRune(s[i:])
			if r == utf8.RuneError && size == 1 {
				b = append(b, `\ufffd`...)
			} else {
				b = append(b, s[i:i+size]...)
			}
			i += size
			continue
		}
		i++
	}
	return append(b, '"')
}

func decodeRune[T string | []byte](s T) (rune, int) {
	switch v := any(s).(type) {
	case string:
		return utf8.DecodeRuneInString(v)
	case []byte:
		return utf8.DecodeRune(v)
	}
	return utf8.RuneError, 1
}

// truncate caps a body at max bytes.
func truncate(body []byte, max int, flag *bool) []byte {
	if len(body) > max {
		*flag = true
		return body[:max:max]
	}
	return body
}
