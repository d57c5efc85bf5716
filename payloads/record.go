package payloads

import (
	"fmt"
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
var Columns = []string{
	"timestamp_ms", "model_name", "model_version", "route", "status_code",
	"latency_ms", "sampling_fraction", "request", "request_truncated", "response", "response_truncated",
}

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
	for _, c := range Columns {
		if c != "timestamp_ms" && !strings.HasSuffix(c, "_truncated") {
			out = append(out, c)
		}
	}
	return out
}

func columnIndex(name string) int {
	for i, c := range Columns {
		if c == name {
			return i
		}
	}
	return -1
}

// appendJSON appends r as one JSON line without the excluded columns;
// bodies are kept as text (bytes that are not UTF-8 become U+FFFD).
func appendJSON(b []byte, r *Record, sample float64, ex columns) []byte {
	b = append(b, '{')
	first := true
	field := func(i int) bool {
		if ex&(1<<i) != 0 {
			return false
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, '"')
		b = append(b, Columns[i]...)
		b = append(b, '"', ':')
		return true
	}
	for i, c := range Columns {
		if !field(i) {
			continue
		}
		switch c {
		case "timestamp_ms":
			b = strconv.AppendInt(b, r.Time.UnixMilli(), 10)
		case "model_name":
			b = appendString(b, r.Model)
		case "model_version":
			b = appendString(b, r.Version)
		case "route":
			b = appendString(b, r.Route)
		case "status_code":
			b = strconv.AppendInt(b, int64(r.Status), 10)
		case "latency_ms":
			b = strconv.AppendFloat(b, float64(r.Latency.Microseconds())/1000, 'f', -1, 64)
		case "sampling_fraction":
			b = strconv.AppendFloat(b, sample, 'g', -1, 64)
		case "request":
			b = appendString(b, r.Request)
		case "request_truncated":
			b = strconv.AppendBool(b, r.RequestTruncated)
		case "response":
			b = appendString(b, r.Response)
		case "response_truncated":
			b = strconv.AppendBool(b, r.ResponseTruncated)
		}
	}
	return append(b, '}', '\n')
}

// appendString appends s as a JSON string, invalid UTF-8 as U+FFFD.
func appendString[T string | []byte](b []byte, s T) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := decodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
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
