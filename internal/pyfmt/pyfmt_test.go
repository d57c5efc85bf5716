package pyfmt

import (
	"strings"
	"testing"
)

// TestForms checks the forms against what Python 3.11 prints.
func TestForms(t *testing.T) {
	for in, want := range map[string]string{
		"abc": `b'abc'`, "a'b": `b"a'b"`, `a'"b`: `b'a\'"b'`, "\x00\n\xff\\": `b'\x00\n\xff\\'`,
	} {
		if got := Bytes([]byte(in)); got != want {
			t.Errorf("Bytes(%q) = %s, want %s", in, got, want)
		}
	}
	for in, want := range map[string]string{"é\n<&>\x01\x7f😀": `"\u00e9\n<&>\u0001\u007f\ud83d\ude00"`} {
		var b strings.Builder
		if String(&b, in); b.String() != want {
			t.Errorf("String(%q) = %s, want %s", in, b.String(), want)
		}
	}
	for f, want := range map[float64]string{1: "1.0", 1e16: "1e+16", 1e-5: "1e-05", 0.0001: "0.0001", 123.456: "123.456"} {
		if got := Float(f); got != want {
			t.Errorf("Float(%v) = %s, want %s", f, got, want)
		}
	}
}
