package apierr

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// longString is the longest message MarshalLong hands to encoding/json in
// one piece.
const longString = 32 << 10

// placeholder stands for the long message while the rest of the body is
// marshalled (no error body field holds NUL bytes).
const placeholder = "\x00mlgate-long-message\x00"

// MarshalLong is json.Marshal(v), byte for byte, where msgs are string
// fields of v holding one message that may be long. encoding/json keeps the
// buffer of every Marshal in a sync.Pool whatever its size, and an error
// message may quote megabytes of a request (a column name): a buffer of
// that size would stay pinned for as long as later bodies keep taking it
// from the pool. A message above 32 KiB is therefore escaped in pieces cut
// between runes, which escape exactly as the whole does.
func MarshalLong(v any, msgs ...*string) ([]byte, error) {
	if len(msgs) == 0 || len(*msgs[0]) <= longString {
		return json.Marshal(v)
	}
	long := *msgs[0]
	for _, m := range msgs {
		if *m != long {
			return json.Marshal(v)
		}
	}
	for _, m := range msgs {
		*m = placeholder
	}
	b, err := json.Marshal(v)
	for _, m := range msgs {
		*m = long
	}
	if err != nil {
		return nil, err
	}
	q, _ := json.Marshal(placeholder)
	out := make([]byte, 0, len(b)+len(msgs)*(len(long)+len(long)/8))
	for {
		i := bytes.Index(b, q)
		if i < 0 {
			return append(out, b...), nil
		}
		out = appendString(append(out, b[:i]...), long, longString)
		b = b[i+len(q):]
	}
}

// appendString appends s as encoding/json writes it, marshalling pieces
// of about piece bytes (at least utf8.UTFMax, so that a cut before an
// unfinished rune leaves a piece).
func appendString(out []byte, s string, piece int) []byte {
	out = append(out, '"')
	for len(s) > 0 {
		n := min(len(s), max(piece, utf8.UTFMax))
		// do not cut a sequence that may go on past n: start the next
		// piece at its first byte (decoding from there sees the same bytes)
		for k := 1; k < utf8.UTFMax && k <= n && n < len(s); k++ {
			if utf8.RuneStart(s[n-k]) {
				if !utf8.FullRuneInString(s[n-k : n]) {
					n -= k
				}
				break
			}
		}
		b, _ := json.Marshal(s[:n]) // a string always marshals
		out = append(out, b[1:len(b)-1]...)
		s = s[n:]
	}
	return append(out, '"')
}
