package apierr

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// MarshalLong writes what json.Marshal writes, for long messages with
// every kind of character at every position of the pieces' cuts.
func TestMarshalLongIsJSONMarshal(t *testing.T) {
	unit := "aé€😀<>&\u2028\x00\"\\\n\xff\xe2\x82" // ASCII, 2-4 byte runes, HTML, controls, invalid bytes
	for _, shift := range []int{0, 1, 2, 3, 5, 7} {
		long := strings.Repeat("x", shift) + strings.Repeat(unit, 3*longString/len(unit))
		for _, v := range []struct {
			body Body
			msg  bool
		}{{Body{ErrorCode: BadRequest, Message: long, SQLState: "22000"}, true}, {Body{ErrorCode: BadRequest, Message: "short"}, true}} {
			b := v.body
			got, err := MarshalLong(&b, &b.Message)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := json.Marshal(v.body)
			if !bytes.Equal(got, want) {
				i := 0
				for i < min(len(got), len(want)) && got[i] == want[i] {
					i++
				}
				t.Fatalf("shift %d: differs at byte %d of %d/%d: %q vs %q", shift, i, len(got), len(want), got[max(0, i-20):min(len(got), i+20)], want[max(0, i-20):min(len(want), i+20)])
			}
			if b.Message != v.body.Message {
				t.Fatal("MarshalLong changed the message")
			}
		}
	}
	// two fields with the same long message (the OIP error body)
	long := strings.Repeat("é<", longString)
	type two struct {
		A string `json:"a"`
		C int    `json:"c"`
		B string `json:"b"`
	}
	v := two{A: long, C: 3, B: long}
	got, _ := MarshalLong(&v, &v.A, &v.B)
	want, _ := json.Marshal(v)
	if !bytes.Equal(got, want) {
		t.Fatal("two fields: not json.Marshal's bytes")
	}
}

func TestAppendStringCutsOnlyBetweenRunes(t *testing.T) {
	// a 4-byte rune straddling every cut; invalid continuation bytes alone
	for _, s := range []string{strings.Repeat("abc😀", longString), strings.Repeat("\x80", 3*longString), strings.Repeat("\xf0\x9f", 2*longString)} {
		got := appendString(nil, s, longString)
		want, _ := json.Marshal(s)
		if !bytes.Equal(got, want) {
			t.Fatalf("%d bytes (valid %v): not json.Marshal's bytes", len(s), utf8.ValidString(s))
		}
	}
}

// Pieces of any size give json.Marshal's bytes for any string.
func FuzzAppendString(f *testing.F) {
	f.Add("aé€😀<>&\u2028\x00\"\\\n\xff\xe2\x82", 1)
	f.Add(strings.Repeat("\xf0\x9f\x98", 5), 2)
	f.Fuzz(func(t *testing.T, s string, piece int) {
		piece = 1 + (piece&0x7fffffff)%16
		got := appendString(nil, s, piece)
		want, _ := json.Marshal(s)
		if !bytes.Equal(got, want) {
			t.Fatalf("pieces of %d: %q, json.Marshal: %q", piece, got, want)
		}
	})
}
