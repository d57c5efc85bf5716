package store

import (
	"strconv"
	"strings"
	"unicode"
)

// Entity types of a search identifier.
const (
	KindMetric    = "metric"
	KindParam     = "parameter"
	KindTag       = "tag"
	KindAttribute = "attribute"
	KindDataset   = "dataset"
)

// Comparison is one "<type>.<key> <op> <value>" clause of a filter.
type Comparison struct {
	Kind  string // one of the Kind constants
	Key   string
	Op    string // "=", "!=", ">", ">=", "<", "<=", "LIKE", "ILIKE", "IN", "NOT IN", "IS NULL", "IS NOT NULL"
	Str   string
	Num   float64
	IsNum bool
	List  []string
}

// OrderBy is one order_by entry.
type OrderBy struct {
	Kind string
	Key  string
	Asc  bool
}

var kindAliases = map[string]string{
	"metric": KindMetric, "metrics": KindMetric,
	"param": KindParam, "params": KindParam, "parameter": KindParam, "parameters": KindParam,
	"tag": KindTag, "tags": KindTag,
	"attribute": KindAttribute, "attributes": KindAttribute, "attr": KindAttribute, "run": KindAttribute,
	"dataset": KindDataset, "datasets": KindDataset,
}

type lexer struct {
	s   string
	pos int
}

func (l *lexer) skipSpace() {
	for l.pos < len(l.s) && unicode.IsSpace(rune(l.s[l.pos])) {
		l.pos++
	}
}

func (l *lexer) eof() bool { l.skipSpace(); return l.pos >= len(l.s) }

// quoted reads a string quoted by q starting at l.pos (which is q).
func (l *lexer) quoted() (string, error) {
	q := l.s[l.pos]
	var b strings.Builder
	for i := l.pos + 1; i < len(l.s); i++ {
		c := l.s[i]
		if c == q {
			if i+1 < len(l.s) && l.s[i+1] == q { // doubled quote escapes itself
				b.WriteByte(q)
				i++
				continue
			}
			l.pos = i + 1
			return b.String(), nil
		}
		if c == '\\' && i+1 < len(l.s) && l.s[i+1] == q {
			b.WriteByte(q)
			i++
			continue
		}
		b.WriteByte(c)
	}
	return "", invalidf("Invalid filter: unterminated quoted string starting at position %d", l.pos)
}

func isBareKeyChar(c byte) bool {
	return c == '_' || c == '.' || c == '-' || c == '/' || c == ':' || c >= 0x80 ||
		c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// identifier reads "<type>.<key>" or a bare attribute key.
func (l *lexer) identifier() (kind, key string, err error) {
	l.skipSpace()
	start := l.pos
	if l.pos < len(l.s) && (l.s[l.pos] == '"' || l.s[l.pos] == '`') {
		k, err := l.quoted()
		if err != nil {
			return "", "", err
		}
		return KindAttribute, k, nil
	}
	for l.pos < len(l.s) && isBareKeyChar(l.s[l.pos]) && l.s[l.pos] != '.' {
		l.pos++
	}
	word := l.s[start:l.pos]
	if word == "" {
		return "", "", invalidf("Invalid filter: expected an identifier at position %d in '%s'", start, l.s)
	}
	if l.pos < len(l.s) && l.s[l.pos] == '.' {
		k, ok := kindAliases[strings.ToLower(word)]
		if !ok {
			return "", "", invalidf("Invalid entity type '%s'. Valid values are ['metric', 'parameter', 'tag', 'attribute', 'dataset']", word)
		}
		l.pos++
		if l.pos < len(l.s) && (l.s[l.pos] == '"' || l.s[l.pos] == '`') {
			key, err := l.quoted()
			return k, key, err
		}
		ks := l.pos
		for l.pos < len(l.s) && isBareKeyChar(l.s[l.pos]) {
			l.pos++
		}
		if l.pos == ks {
			return "", "", invalidf("Invalid filter: missing key after '%s.' at position %d", word, ks)
		}
		return k, l.s[ks:l.pos], nil
	}
	return KindAttribute, word, nil
}

func (l *lexer) word() string {
	l.skipSpace()
	start := l.pos
	for l.pos < len(l.s) && (unicode.IsLetter(rune(l.s[l.pos]))) {
		l.pos++
	}
	return l.s[start:l.pos]
}

func (l *lexer) comparator() (string, error) {
	l.skipSpace()
	for _, op := range []string{"!=", ">=", "<=", "<>", "=", ">", "<"} {
		if strings.HasPrefix(l.s[l.pos:], op) {
			l.pos += len(op)
			if op == "<>" {
				op = "!="
			}
			return op, nil
		}
	}
	save := l.pos
	w := strings.ToUpper(l.word())
	switch w {
	case "LIKE", "ILIKE", "IN":
		return w, nil
	case "NOT":
		if strings.ToUpper(l.word()) == "IN" {
			return "NOT IN", nil
		}
	case "IS":
		w2 := strings.ToUpper(l.word())
		if w2 == "NULL" {
			return "IS NULL", nil
		}
		if w2 == "NOT" && strings.ToUpper(l.word()) == "NULL" {
			return "IS NOT NULL", nil
		}
	}
	return "", invalidf("Invalid comparator at position %d in filter '%s'", save, l.s)
}

// value reads a quoted string, a number or a parenthesised list of strings.
func (l *lexer) value(c *Comparison) error {
	l.skipSpace()
	if l.pos >= len(l.s) {
		return invalidf("Invalid filter '%s': missing value after '%s'", l.s, c.Op)
	}
	switch l.s[l.pos] {
	case '\'', '"':
		s, err := l.quoted()
		c.Str = s
		return err
	case '(':
		l.pos++
		for {
			l.skipSpace()
			if l.pos < len(l.s) && l.s[l.pos] == ')' && len(c.List) == 0 {
				return invalidf("While parsing a list in the query, expected a non-empty list of string values, but got empty list")
			}
			if l.pos >= len(l.s) || (l.s[l.pos] != '\'' && l.s[l.pos] != '"') {
				return invalidf("While parsing a list in the query, expected string value, punctuation, or whitespace, but got different type in list: '%s'", l.s)
			}
			s, err := l.quoted()
			if err != nil {
				return err
			}
			c.List = append(c.List, s)
			l.skipSpace()
			if l.pos < len(l.s) && l.s[l.pos] == ',' {
				l.pos++
				continue
			}
			if l.pos < len(l.s) && l.s[l.pos] == ')' {
				l.pos++
				return nil
			}
			return invalidf("Invalid list in filter '%s': expected ',' or ')'", l.s)
		}
	default:
		start := l.pos
		for l.pos < len(l.s) && (l.s[l.pos] == '-' || l.s[l.pos] == '+' || l.s[l.pos] == '.' || l.s[l.pos] == 'e' || l.s[l.pos] == 'E' || l.s[l.pos] >= '0' && l.s[l.pos] <= '9') {
			l.pos++
		}
		f, err := strconv.ParseFloat(l.s[start:l.pos], 64)
		if err != nil || start == l.pos {
			return invalidf("Invalid filter '%s': expected a quoted string or a number at position %d", l.s, start)
		}
		c.Num, c.IsNum = f, true
		return nil
	}
}

// ParseFilter parses a search filter: comparisons joined by AND.
func ParseFilter(filter string) ([]Comparison, error) {
	l := &lexer{s: filter}
	var out []Comparison
	if l.eof() {
		return nil, nil
	}
	for {
		var c Comparison
		var err error
		if c.Kind, c.Key, err = l.identifier(); err != nil {
			return nil, err
		}
		if c.Op, err = l.comparator(); err != nil {
			return nil, err
		}
		if c.Op != "IS NULL" && c.Op != "IS NOT NULL" {
			if err := l.value(&c); err != nil {
				return nil, err
			}
		}
		out = append(out, c)
		if l.eof() {
			return out, nil
		}
		at := l.pos
		if w := strings.ToUpper(l.word()); w != "AND" {
			if w == "OR" {
				return nil, invalidf("Invalid clause(s) in filter string: 'OR'. Only 'AND' is supported to join comparisons in filter '%s'", filter)
			}
			return nil, invalidf("Invalid filter '%s': expected 'AND' at position %d", filter, at)
		}
		if l.eof() {
			return nil, invalidf("Invalid filter '%s': dangling 'AND'", filter)
		}
	}
}

// ParseOrderBy parses one order_by entry "<identifier> [ASC|DESC]".
func ParseOrderBy(s string) (OrderBy, error) {
	l := &lexer{s: s}
	kind, key, err := l.identifier()
	if err != nil {
		return OrderBy{}, invalidf("Invalid order_by clause '%s'. %s", s, err.Error())
	}
	o := OrderBy{Kind: kind, Key: key, Asc: true}
	if !l.eof() {
		switch strings.ToUpper(l.word()) {
		case "ASC":
		case "DESC":
			o.Asc = false
		default:
			return OrderBy{}, invalidf("Invalid ordering key in order_by clause '%s'.", s)
		}
	}
	if !l.eof() {
		return OrderBy{}, invalidf("Invalid order_by clause '%s'. Could not be parsed.", s)
	}
	return o, nil
}
