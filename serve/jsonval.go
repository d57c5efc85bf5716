package serve

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
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
	k   kind
	b   bool
	num string // the number literal as written
	s   string
	arr []value
	// nums is a packed array of plain number literals (arr is then nil
	// until items expands it): large numeric tensors skip one value per
	// element. Only parseJSONPacked makes them.
	nums *packedNums
	keys []string
	vals []value
	// csv is the field's text when the value came from CSV (a string
	// column keeps it verbatim, as pandas.read_csv with dtype=object does).
	csv string
}

// items returns an array's elements, expanding a packed number array.
func (v *value) items() []value {
	if v.arr == nil && v.nums != nil {
		arr := make([]value, v.nums.len())
		for i := range arr {
			arr[i] = value{k: kNumber, num: v.nums.at(i)}
		}
		v.arr, v.nums = arr, nil
	}
	return v.arr
}

// packedNums is an array of number literals kept as offsets into the
// document (no pointers per element: nothing for the GC to scan).
type packedNums struct {
	src string
	off []uint32 // start, end of each literal
	// vals, when set, holds each literal's value as the parser computed it
	// while scanning (see scanNumberValue), NaN where it could not.
	vals []float64
}

func (n *packedNums) len() int { return len(n.off) / 2 }

func (n *packedNums) at(i int) string { return n.src[n.off[2*i]:n.off[2*i+1]] }

// float is Python's float() of literal i.
func (n *packedNums) float(i int) float64 {
	if n.vals != nil {
		if f := n.vals[i]; !math.IsNaN(f) {
			return f
		}
	} else if f, ok := fastFloat(n.at(i)); ok {
		return f
	}
	f, _ := strconv.ParseFloat(n.at(i), 64)
	return f
}

// slice returns literals [from, to).
func (n *packedNums) slice(from, to int) *packedNums {
	out := &packedNums{src: n.src, off: n.off[2*from : 2*to : 2*to]}
	if n.vals != nil {
		out.vals = n.vals[from:to:to]
	}
	return out
}

// length is an array's element count without expanding it.
func (v *value) length() int {
	if v.arr == nil {
		return v.nums.len()
	}
	return len(v.arr)
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
	if f, ok := fastFloat(v.num); ok {
		return f
	}
	f, _ := strconv.ParseFloat(v.num, 64)
	return f
}

// pow10 holds the powers of ten a float64 represents exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// fastFloat parses a JSON number literal whose digits fit in 2^53 and whose
// decimal exponent is at most 22 in size: one exact multiplication or
// division, so the result is the correctly rounded one strconv.ParseFloat
// gives (Clinger's fast path). ok is false for anything else.
func fastFloat(s string) (f float64, ok bool) {
	i, neg := 0, false
	if i < len(s) && s[i] == '-' {
		neg = true
		i++
	}
	var mant uint64
	digits, exp, start := 0, 0, i
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		if mant == 0 && s[i] == '0' {
			continue
		}
		mant = mant*10 + uint64(s[i]-'0')
		digits++
	}
	if i == start {
		return 0, false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if i == len(s) || s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			exp--
			if mant == 0 && s[i] == '0' {
				continue
			}
			mant = mant*10 + uint64(s[i]-'0')
			digits++
		}
	}
	if digits > 15 {
		return 0, false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		eneg := false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			eneg = s[i] == '-'
			i++
		}
		if i == len(s) || s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		e := 0
		for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			if e > 1000 {
				return 0, false
			}
			e = e*10 + int(s[i]-'0')
		}
		if eneg {
			e = -e
		}
		exp += e
	}
	if i != len(s) {
		return 0, false
	}
	return exactFloat(mant, exp, neg)
}

// exactFloat is ±mant × 10^exp when one exact multiplication or division
// gives it (mant below 2^53, |exp| ≤ 22: Clinger's fast path, correctly
// rounded); ok is false otherwise.
func exactFloat(mant uint64, exp int, neg bool) (f float64, ok bool) {
	f = float64(mant)
	switch {
	case mant == 0:
	case exp == 0:
	case exp > 0 && exp <= 22:
		f *= pow10[exp]
	case exp < 0 && exp >= -22:
		f /= pow10[-exp]
	default:
		return 0, false
	}
	if neg {
		f = -f
	}
	return f, true
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
	return parseDoc(data, false)
}

// parseJSONPacked parses one JSON document, packing arrays of plain
// numbers (callers read arrays through items and length).
func parseJSONPacked(data []byte) (value, error) {
	return parseDoc(data, true)
}

func parseDoc(data []byte, pack bool) (value, error) {
	if !utf8.Valid(data) {
		return value{}, errors.New("input is not valid UTF-8")
	}
	p := parsers.Get().(*parser)
	defer p.release()
	// packed offsets are 32-bit
	p.data, p.i, p.pack, p.src = data, 0, pack && len(data) < math.MaxUint32, ""
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

// parser reads one document. Number literals and unescaped strings are
// views into data, which the caller must not modify while values live
// (request bodies are read once and never reused). Arrays and objects
// collect their members on one shared stack and keep an exact-size copy.
type parser struct {
	data  []byte
	i     int
	stack []value
	names []string
	pack  bool
	lits  []uint32
	vals  []float64 // the values of lits' literals (see packed)
	src   string    // data as a string view, made on first use
	// hw and hwNames are the most stack and names held (cleared on release).
	hw, hwNames int
}

// parsers keeps parsers with their stacks grown.
var parsers = sync.Pool{New: func() any { return &parser{} }}

// maxPooledStack bounds the stacks a pooled parser keeps.
const maxPooledStack = 1 << 12

// release clears what the parser saw (its stacks hold views of the
// document) and pools it.
func (p *parser) release() {
	clear(p.stack[:p.hw])
	clear(p.names[:p.hwNames])
	p.hw, p.hwNames = 0, 0
	p.data, p.src = nil, ""
	if cap(p.stack) > maxPooledStack || cap(p.names) > maxPooledStack || cap(p.lits) > 4*maxPooledStack ||
		cap(p.vals) > 2*maxPooledStack {
		return
	}
	p.stack, p.names, p.lits, p.vals = p.stack[:0], p.names[:0], p.lits[:0], p.vals[:0]
	parsers.Put(p)
}

// plainNumber reports whether c starts a number literal (not -Infinity).
func (p *parser) plainNumber() bool {
	if p.i >= len(p.data) {
		return false
	}
	c := p.data[p.i]
	if c >= '0' && c <= '9' {
		return true
	}
	return c == '-' && p.i+1 < len(p.data) && p.data[p.i+1] >= '0' && p.data[p.i+1] <= '9'
}

// minPackedVals is the shortest packed array that keeps the values
// computed while scanning.
const minPackedVals = 16

// packed parses the rest of an array whose first element starts a plain
// number. ok is false (and nothing consumed) when a non-number follows:
// the caller then parses the array the general way.
func (p *parser) packed() (nums *packedNums, ok bool, err error) {
	start, base, vbase := p.i, len(p.lits), len(p.vals)
	defer func() { p.lits, p.vals = p.lits[:base], p.vals[:vbase] }()
	for {
		if !p.plainNumber() {
			p.i = start
			return nil, false, nil
		}
		from := p.i
		f, fast, err := p.scanNumberValue()
		if err != nil {
			return nil, false, err
		}
		if !fast {
			f = math.NaN()
		}
		p.lits = append(p.lits, uint32(from), uint32(p.i))
		p.vals = append(p.vals, f)
		p.ws()
		if p.i >= len(p.data) {
			return nil, false, &errJSON{"Expecting ',' delimiter", p.i}
		}
		switch p.data[p.i] {
		case ',':
			p.i++
			p.ws()
		case ']':
			p.i++
			if p.src == "" {
				p.src = p.view(0, len(p.data))
			}
			off := append(make([]uint32, 0, len(p.lits)-base), p.lits[base:]...)
			var vals []float64 // a short array parses again cheaper than it allocates
			if len(p.vals)-vbase >= minPackedVals {
				vals = append(make([]float64, 0, len(p.vals)-vbase), p.vals[vbase:]...)
			}
			return &packedNums{src: p.src, off: off, vals: vals}, true, nil
		default:
			return nil, false, &errJSON{"Expecting ',' delimiter", p.i}
		}
	}
}

// view returns data[from:to] as a string without copying.
func (p *parser) view(from, to int) string {
	if from == to {
		return ""
	}
	return unsafe.String(&p.data[from], to-from) //nolint:gosec // read-only view of a body that is never written again
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
	if err := p.scanNumber(); err != nil {
		return value{}, err
	}
	return value{k: kNumber, num: p.view(start, p.i)}, nil
}

// scanNumberValue moves past one number literal as scanNumber does and
// computes its value on the way when Clinger's fast path applies (the
// fastFloat conditions); fast is false when it does not.
func (p *parser) scanNumberValue() (f float64, fast bool, err error) {
	start := p.i
	neg := p.data[p.i] == '-'
	if neg {
		p.i++
	}
	var mant uint64
	sig, exp, n := 0, 0, 0 // significant digits, decimal exponent, digits seen
	if p.i < len(p.data) && p.data[p.i] == '0' {
		p.i++
	} else {
		for ; p.i < len(p.data) && p.data[p.i] >= '0' && p.data[p.i] <= '9'; p.i++ {
			if sig < 19 {
				mant = mant*10 + uint64(p.data[p.i]-'0')
			}
			sig++ // no leading zero: every digit counts
			n++
		}
		if n == 0 {
			return 0, false, &errJSON{"Expecting value", start}
		}
	}
	if p.i < len(p.data) && p.data[p.i] == '.' {
		p.i++
		n = 0
		for ; p.i < len(p.data) && p.data[p.i] >= '0' && p.data[p.i] <= '9'; p.i++ {
			n++
			exp--
			if mant == 0 && p.data[p.i] == '0' {
				continue
			}
			if sig < 19 {
				mant = mant*10 + uint64(p.data[p.i]-'0')
			}
			sig++
		}
		if n == 0 {
			return 0, false, &errJSON{"Expecting ',' delimiter", p.i}
		}
	}
	if p.i < len(p.data) && (p.data[p.i] == 'e' || p.data[p.i] == 'E') {
		p.i++
		eneg := false
		if p.i < len(p.data) && (p.data[p.i] == '+' || p.data[p.i] == '-') {
			eneg = p.data[p.i] == '-'
			p.i++
		}
		e := 0
		n = 0
		for ; p.i < len(p.data) && p.data[p.i] >= '0' && p.data[p.i] <= '9'; p.i++ {
			if e < 10000 {
				e = e*10 + int(p.data[p.i]-'0')
			}
			n++
		}
		if n == 0 {
			return 0, false, &errJSON{"Expecting ',' delimiter", p.i}
		}
		if eneg {
			e = -e
		}
		exp += e
	}
	if sig > 308 && exp == 0 && !bytes.ContainsAny(p.data[start:p.i], ".eE") {
		if _, err := strconv.ParseFloat(string(p.data[start:p.i]), 64); err != nil {
			return 0, false, errIntTooLarge
		}
	}
	if sig > 15 {
		return 0, false, nil
	}
	f, fast = exactFloat(mant, exp, neg)
	return f, fast, nil
}

// errIntTooLarge is an integer literal beyond float64's range (10^400),
// which MLflow refuses when it converts it (Python's "int too large to
// convert to float").
var errIntTooLarge = errors.New("int too large to convert to float")

// scanNumber moves past one number literal.
func (p *parser) scanNumber() error {
	_, _, err := p.scanNumberValue()
	return err
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
		s := p.view(p.i, j)
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
	if p.pack && p.plainNumber() {
		nums, ok, err := p.packed()
		if err != nil {
			return value{}, err
		}
		if ok {
			v.nums = nums
			return v, nil
		}
	}
	base := len(p.stack)
	defer func() { p.stack = p.stack[:base] }()
	for {
		p.ws()
		e, err := p.value(depth + 1)
		if err != nil {
			return value{}, err
		}
		p.stack = append(p.stack, e)
		p.hw = max(p.hw, len(p.stack))
		p.ws()
		if p.i >= len(p.data) {
			return value{}, &errJSON{"Expecting ',' delimiter", p.i}
		}
		switch p.data[p.i] {
		case ',':
			p.i++
		case ']':
			p.i++
			v.arr = append(make([]value, 0, len(p.stack)-base), p.stack[base:]...)
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
	base, nbase := len(p.stack), len(p.names)
	defer func() { p.stack, p.names = p.stack[:base], p.names[:nbase] }()
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
		p.names = append(p.names, k)
		p.stack = append(p.stack, e)
		p.hw, p.hwNames = max(p.hw, len(p.stack)), max(p.hwNames, len(p.names))
		p.ws()
		if p.i >= len(p.data) {
			return value{}, &errJSON{"Expecting ',' delimiter", p.i}
		}
		switch p.data[p.i] {
		case ',':
			p.i++
		case '}':
			p.i++
			v.keys = append(make([]string, 0, len(p.names)-nbase), p.names[nbase:]...)
			v.vals = append(make([]value, 0, len(p.stack)-base), p.stack[base:]...)
			return v, nil
		default:
			return value{}, &errJSON{"Expecting ',' delimiter", p.i}
		}
	}
}
