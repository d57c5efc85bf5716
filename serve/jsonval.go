package serve

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// kind is the JSON type of a value.
type kind uint8

const (
	kNull kind = iota
	kBool
	kNumber
	kString
	kArray
	kObject
)

// value is a parsed JSON value that keeps object key order (pandas builds
// columns in first-seen order) and tells integers from floats (pandas infers
// int64 or float64 from the literal). Python's json module also accepts
// NaN, Infinity and -Infinity; so does this parser.
type value struct {
	k    kind
	b    bool
	num  string // the number literal as written
	s    string
	arr  []value
	keys []string
	vals []value
	// csv is the field's text when the value came from CSV (a string
	// column keeps it verbatim, as pandas.read_csv with dtype=object does).
	csv string
}

// isInt reports whether a number literal has no fraction or exponent.
func (v *value) isInt() bool {
	if v.k != kNumber {
		return false
	}
	for i := 0; i < len(v.num); i++ {
		switch v.num[i] {
		case '.', 'e', 'E', 'N', 'I':
			return false
		}
	}
	return true
}

// float returns a number's value as float64.
func (v *value) float() float64 {
	switch v.num {
	case "NaN":
		return math.NaN()
	case "Infinity":
		return math.Inf(1)
	case "-Infinity":
		return math.Inf(-1)
	}
	f, _ := strconv.ParseFloat(v.num, 64)
	return f
}

// get returns the value of key in an object (the last one wins, as in Python).
func (v *value) get(key string) (*value, bool) {
	for i := len(v.keys) - 1; i >= 0; i-- {
		if v.keys[i] == key {
			return &v.vals[i], true
		}
	}
	return nil, false
}

// typeName names the value's type as Python would.
func (v *value) typeName() string {
	switch v.k {
	case kNull:
		return "NoneType"
	case kBool:
		return "bool"
	case kNumber:
		if v.isInt() {
			return "int"
		}
		return "float"
	case kString:
		return "str"
	case kArray:
		return "list"
	default:
		return "dict"
	}
}

// maxDepth bounds nesting so hostile input cannot exhaust the stack.
const maxDepth = 512

// errJSON is a syntax error with its offset.
type errJSON struct {
	msg string
	off int
}

func (e *errJSON) Error() string {
	return fmt.Sprintf("%s: line 1 column %d (char %d)", e.msg, e.off+1, e.off)
}

// parseJSON parses one JSON document.
func parseJSON(data []byte) (value, error) {
	if !utf8.Valid(data) {
		return value{}, errors.New("input is not valid UTF-8")
	}
	p := parser{data: data}
	p.ws()
	v, err := p.value(0)
	if err != nil {
		return value{}, err
	}
	p.ws()
	if p.i != len(p.data) {
		return value{}, &errJSON{"Extra data", p.i}
	}
	return v, nil
}

type parser struct {
	data []byte
	i    int
}

func (p *parser) ws() {
	for p.i < len(p.data) {
		switch p.data[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *parser) lit(s string) bool {
	if len(p.data)-p.i >= len(s) && string(p.data[p.i:p.i+len(s)]) == s {
		p.i += len(s)
		return true
	}
	return false
}

func (p *parser) value(depth int) (value, error) {
	if depth > maxDepth {
		return value{}, &errJSON{"Nesting too deep", p.i}
	}
	if p.i >= len(p.data) {
		return value{}, &errJSON{"Expecting value", p.i}
	}
	switch c := p.data[p.i]; {
	case c == '{':
		return p.object(depth)
	case c == '[':
		return p.array(depth)
	case c == '"':
		s, err := p.str()
		return value{k: kString, s: s}, err
	case c == 't' && p.lit("true"):
		return value{k: kBool, b: true}, nil
	case c == 'f' && p.lit("false"):
		return value{k: kBool}, nil
	case c == 'n' && p.lit("null"):
		return value{k: kNull}, nil
	case c == 'N' && p.lit("NaN"):
		return value{k: kNumber, num: "NaN"}, nil
	case c == 'I' && p.lit("Infinity"):
		return value{k: kNumber, num: "Infinity"}, nil
	case c == '-' && p.lit("-Infinity"):
		return value{k: kNumber, num: "-Infinity"}, nil
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	}
	return value{}, &errJSON{"Expecting value", p.i}
}

func (p *parser) number() (value, error) {
	start := p.i
	if p.data[p.i] == '-' {
		p.i++
	}
	digits := func() int {
		n := 0
		for p.i < len(p.data) && p.data[p.i] >= '0' && p.data[p.i] <= '9' {
			p.i++
			n++
		}
		return n
	}
	if p.i < len(p.data) && p.data[p.i] == '0' {
		p.i++
	} else if digits() == 0 {
		return value{}, &errJSON{"Expecting value", start}
	}
	if p.i < len(p.data) && p.data[p.i] == '.' {
		p.i++
		if digits() == 0 {
			return value{}, &errJSON{"Expecting ',' delimiter", p.i}
		}
	}
	if p.i < len(p.data) && (p.data[p.i] == 'e' || p.data[p.i] == 'E') {
		p.i++
		if p.i < len(p.data) && (p.data[p.i] == '+' || p.data[p.i] == '-') {
			p.i++
		}
		if digits() == 0 {
			return value{}, &errJSON{"Expecting ',' delimiter", p.i}
		}
	}
	return value{k: kNumber, num: string(p.data[start:p.i])}, nil
}

func (p *parser) str() (string, error) {
	start := p.i
	p.i++ // opening quote
	// Fast path: no escapes.
	j := p.i
	for j < len(p.data) && p.data[j] != '"' && p.data[j] != '\\' && p.data[j] >= 0x20 {
		j++
	}
	if j < len(p.data) && p.data[j] == '"' {
		s := string(p.data[p.i:j])
		p.i = j + 1
		return s, nil
	}
	buf := make([]byte, 0, j-p.i+16)
	for {
		if p.i >= len(p.data) {
			return "", &errJSON{"Unterminated string starting at", start}
		}
		c := p.data[p.i]
		switch {
		case c == '"':
			p.i++
			return string(buf), nil
		case c < 0x20:
			return "", &errJSON{"Invalid control character at", p.i}
		case c != '\\':
			buf = append(buf, c)
			p.i++
			continue
		}
		p.i++
		if p.i >= len(p.data) {
			return "", &errJSON{"Unterminated string starting at", start}
		}
		e := p.data[p.i]
		p.i++
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := p.hex4()
			if !ok {
				return "", &errJSON{"Invalid \\uXXXX escape", p.i}
			}
			if utf16.IsSurrogate(r) && p.lit("\\u") {
				r2, ok := p.hex4()
				if !ok {
					return "", &errJSON{"Invalid \\uXXXX escape", p.i}
				}
				r = utf16.DecodeRune(r, r2)
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return "", &errJSON{"Invalid \\escape", p.i - 2}
		}
	}
}

func (p *parser) hex4() (rune, bool) {
	if len(p.data)-p.i < 4 {
		return 0, false
	}
	n, err := strconv.ParseUint(string(p.data[p.i:p.i+4]), 16, 32)
	if err != nil {
		return 0, false
	}
	p.i += 4
	return rune(n), true
}

func (p *parser) array(depth int) (value, error) {
	p.i++
	v := value{k: kArray}
	p.ws()
	if p.i < len(p.data) && p.data[p.i] == ']' {
		p.i++
		v.arr = []value{}
		return v, nil
	}
	for {
		p.ws()
		e, err := p.value(depth + 1)
		if err != nil {
			return value{}, err
		}
		v.arr = append(v.arr, e)
		p.ws()
		if p.i >= len(p.data) {
			return value{}, &errJSON{"Expecting ',' delimiter", p.i}
		}
		switch p.data[p.i] {
		case ',':
			p.i++
		case ']':
			p.i++
			return v, nil
		default:
			return value{}, &errJSON{"Expecting ',' delimiter", p.i}
		}
	}
}

func (p *parser) object(depth int) (value, error) {
	p.i++
	v := value{k: kObject}
	p.ws()
	if p.i < len(p.data) && p.data[p.i] == '}' {
		p.i++
		return v, nil
	}
	for {
		p.ws()
		if p.i >= len(p.data) || p.data[p.i] != '"' {
			return value{}, &errJSON{"Expecting property name enclosed in double quotes", p.i}
		}
		k, err := p.str()
		if err != nil {
			return value{}, err
		}
		p.ws()
		if p.i >= len(p.data) || p.data[p.i] != ':' {
			return value{}, &errJSON{"Expecting ':' delimiter", p.i}
		}
		p.i++
		p.ws()
		e, err := p.value(depth + 1)
		if err != nil {
			return value{}, err
		}
		v.keys = append(v.keys, k)
		v.vals = append(v.vals, e)
		p.ws()
		if p.i >= len(p.data) {
			return value{}, &errJSON{"Expecting ',' delimiter", p.i}
		}
		switch p.data[p.i] {
		case ',':
			p.i++
		case '}':
			p.i++
			return v, nil
		default:
			return value{}, &errJSON{"Expecting ',' delimiter", p.i}
		}
	}
}
