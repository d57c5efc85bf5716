// Package search is MLflow's search language as mlgate's stores speak it:
// the filter grammar ("<type>.<key> <op> <value>" clauses joined by AND),
// order_by entries, the offset page token MLflow's clients pass back, and
// the SQL builder that turns clauses into portable SQLite and PostgreSQL
// conditions.
//
// The tracking and model registry stores share it. What differs between
// them — the entity prefixes each allows, which bytes may form a bare key,
// the IS NULL operators and the MLflow message of every syntax error — is a
// Grammar value each store defines. Errors are *storeerr.Error values with
// code INVALID_PARAMETER_VALUE. The package imports no mlgate package but
// internal/db, internal/storeerr and internal/pyfmt.
package search

import (
	"strconv"
	"strings"
	"unicode"

	"github.com/mlgate/mlgate/internal/storeerr"
)

// Entity types of a search identifier.
const (
	Metric    = "metric"
	Param     = "parameter"
	Tag       = "tag"
	Attribute = "attribute"
	Dataset   = "dataset"
)

// Clause is one "<type>.<key> <op> <value>" comparison of a filter.
type Clause struct {
	Kind string // one of the entity types; a bare key is an Attribute
	Key  string // quotes removed
	// Op is upper-case: "=", "!=", ">", ">=", "<", "<=", "LIKE", "ILIKE",
	// "IN", "NOT IN", "IS NULL", "IS NOT NULL".
	Op string
	// Str is a quoted value, or the text of an unquoted number.
	Str   string
	Num   float64
	IsNum bool
	// List holds the values of a parenthesised list (IN, NOT IN).
	List []string
}

// Fault names a syntax error of a filter; a Grammar turns it into the
// message its MLflow entity answers with.
type Fault int

// The syntax faults, with what their message templates can show.
const (
	Unterminated  Fault = iota // a quoted string has no end; {pos} is its opening quote
	NoIdentifier               // no identifier at {pos}
	BadEntity                  // {word} is not an entity prefix the grammar allows
	NoKey                      // nothing after "{word}." at {pos}
	BadComparator              // no comparator at {pos}
	NoValue                    // the filter ends after the comparator {op}
	EmptyList                  // "()"
	ListItem                   // a list item that is not a quoted string
	ListEnd                    // a list item not followed by ',' or ')'
	BadValue                   // neither a quoted string nor a number at {pos}
	Or                         // clauses joined by OR ({word}: the OR as written)
	NoAnd                      // something other than AND at {pos} after a clause
	DanglingAnd                // AND at the end
	OrderIdent                 // order_by entry {filter} has no identifier; {word} is the cause
	BadBang                    // Strict: a '!' at {pos} that is not "!="
	BadNumber                  // Strict: {word} (Go-quoted) at {pos} is not a number
	BadChar                    // Strict: the byte {word} (Go-quoted) at {pos} starts no token
)

// problem is a syntax fault with where it happened.
type problem struct {
	Fault  Fault
	Filter string // the whole filter (or order_by entry)
	Pos    int
	Word   string
	Op     string
	Ident  string // the clause's identifier as written
}

// Grammar is what differs between the entities searched with the language.
type Grammar struct {
	// Entities maps an identifier prefix ("tags" in "tags.x") to its type.
	Entities map[string]string
	// FoldEntities looks prefixes up in lower case.
	FoldEntities bool
	// KeyByte reports whether c may stand in an unquoted key.
	KeyByte func(c byte) bool
	// Null allows the IS NULL and IS NOT NULL comparators.
	Null bool
	// Backslash lets \q stand for the quote q inside a quoted string.
	Backslash bool
	// Strict reads a filter as a tokenizer that reads the whole filter
	// before parsing does: every token is checked first (see scan), so the
	// first bad token, wherever it is, is the error; an identifier starts
	// with a letter, '_' or a backquote, is not the keyword AND, and a
	// double-quoted text is a string, never a name.
	Strict bool
	// TrailingAnd accepts a filter ending in AND, as MLflow's registry
	// searches do.
	TrailingAnd bool
	// ZeroToken accepts a page token whose offset is 0.
	ZeroToken bool
	// Messages holds the entity's message for each syntax fault, and
	// Fallback the message of faults it does not list (see Messages).
	Messages Messages
	Fallback string
	// TokenMessages holds the message for each page token fault.
	TokenMessages map[TokenFault]string
}

// Messages maps syntax faults to message templates. A template names what
// it shows in braces: {filter} (the whole filter or order_by entry), {pos},
// {rest} (the filter from pos on), {word} (a prefix, or for OrderIdent the
// identifier's own error), {op} (the comparator) and, for NoValue, {ident}
// (the clause's identifier as written).
type Messages map[Fault]string

// With returns m with msg for each of faults.
func (m Messages) With(msg string, faults ...Fault) Messages {
	for _, f := range faults {
		m[f] = msg
	}
	return m
}

func (g *Grammar) fail(p problem) error {
	msg, ok := g.Messages[p.Fault]
	if !ok {
		msg = g.Fallback
	}
	return &storeerr.Error{Code: storeerr.InvalidParameterValue, Message: strings.NewReplacer(
		"{filter}", p.Filter, "{pos}", strconv.Itoa(p.Pos), "{rest}", p.Filter[min(p.Pos, len(p.Filter)):],
		"{word}", p.Word, "{op}", p.Op, "{ident}", p.Ident).Replace(msg)}
}

type lexer struct {
	g     *Grammar
	s     string
	pos   int
	ident string // the identifier of the clause being read, as written
}

func (l *lexer) fail(f Fault, pos int) error {
	return l.g.fail(problem{Fault: f, Filter: l.s, Pos: pos})
}

func (l *lexer) skipSpace() {
	for l.pos < len(l.s) && unicode.IsSpace(rune(l.s[l.pos])) {
		l.pos++
	}
}

func (l *lexer) eof() bool { l.skipSpace(); return l.pos >= len(l.s) }

func (l *lexer) at(cs string) bool { return l.pos < len(l.s) && strings.IndexByte(cs, l.s[l.pos]) >= 0 }

// quoted reads a string quoted by q starting at l.pos (which is q); a
// doubled quote stands for itself.
func (l *lexer) quoted() (string, error) {
	q := l.s[l.pos]
	var b strings.Builder
	for i := l.pos + 1; i < len(l.s); i++ {
		c := l.s[i]
		if c == q || (c == '\\' && l.g.Backslash) {
			if i+1 < len(l.s) && l.s[i+1] == q {
				b.WriteByte(q)
				i++
				continue
			}
			if c == q {
				l.pos = i + 1
				return b.String(), nil
			}
		}
		b.WriteByte(c)
	}
	return "", l.fail(Unterminated, l.pos)
}

// identifier reads "<type>.<key>" or a bare attribute key.
func (l *lexer) identifier() (kind, key string, err error) {
	l.skipSpace()
	start := l.pos
	if l.at("`") || l.at("\"") && !l.g.Strict {
		k, err := l.quoted()
		return Attribute, k, err
	}
	if l.g.Strict && l.pos < len(l.s) && (isDigit(l.s[l.pos]) || l.s[l.pos] == '.') {
		return "", "", l.fail(NoIdentifier, start) // a number, not a name
	}
	for l.pos < len(l.s) && l.g.KeyByte(l.s[l.pos]) && l.s[l.pos] != '.' {
		l.pos++
	}
	word := l.s[start:l.pos]
	if word == "" || l.g.Strict && strings.EqualFold(word, "and") {
		return "", "", l.fail(NoIdentifier, start)
	}
	if !l.at(".") {
		return Attribute, word, nil
	}
	prefix := word
	if l.g.FoldEntities {
		prefix = strings.ToLower(word)
	}
	k, ok := l.g.Entities[prefix]
	if !ok {
		return "", "", l.g.fail(problem{Fault: BadEntity, Filter: l.s, Pos: start, Word: word})
	}
	l.pos++
	ks := l.pos
	if l.at("\"`") {
		key, err := l.quoted()
		if err == nil && key == "" { // tags.`` names no key, as tags. does not
			return "", "", l.g.fail(problem{Fault: NoKey, Filter: l.s, Pos: ks, Word: word})
		}
		return k, key, err
	}
	for l.pos < len(l.s) && l.g.KeyByte(l.s[l.pos]) {
		l.pos++
	}
	if l.pos == ks {
		return "", "", l.g.fail(problem{Fault: NoKey, Filter: l.s, Pos: ks, Word: word})
	}
	return k, l.s[ks:l.pos], nil
}

// word reads a run of letters (a keyword).
func (l *lexer) word() string {
	l.skipSpace()
	start := l.pos
	for l.pos < len(l.s) && unicode.IsLetter(rune(l.s[l.pos])) {
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
	switch w := strings.ToUpper(l.word()); w {
	case "LIKE", "ILIKE", "IN":
		return w, nil
	case "NOT":
		if strings.ToUpper(l.word()) == "IN" {
			return "NOT IN", nil
		}
	case "IS":
		if !l.g.Null {
			break
		}
		w2 := strings.ToUpper(l.word())
		if w2 == "NULL" {
			return "IS NULL", nil
		}
		if w2 == "NOT" && strings.ToUpper(l.word()) == "NULL" {
			return "IS NOT NULL", nil
		}
	}
	return "", l.fail(BadComparator, save)
}

func isNumberByte(c byte) bool {
	return c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E' || c >= '0' && c <= '9'
}

// value reads a quoted string, a number or a parenthesised list of strings.
func (l *lexer) value(c *Clause) error {
	l.skipSpace()
	if l.pos >= len(l.s) {
		return l.g.fail(problem{Fault: NoValue, Filter: l.s, Pos: l.pos, Op: c.Op, Ident: l.ident})
	}
	switch l.s[l.pos] {
	case '\'', '"':
		s, err := l.quoted()
		c.Str = s
		return err
	case '(':
		l.pos++
		return l.list(c)
	}
	start := l.pos
	for l.pos < len(l.s) && isNumberByte(l.s[l.pos]) {
		l.pos++
	}
	f, err := strconv.ParseFloat(l.s[start:l.pos], 64)
	if err != nil || start == l.pos {
		return l.fail(BadValue, start)
	}
	c.Str, c.Num, c.IsNum = l.s[start:l.pos], f, true
	return nil
}

// list reads the quoted strings of a list after its '('.
func (l *lexer) list(c *Clause) error {
	for {
		l.skipSpace()
		if l.at(")") && len(c.List) == 0 {
			return l.fail(EmptyList, l.pos)
		}
		if !l.at("'\"") {
			return l.fail(ListItem, l.pos)
		}
		s, err := l.quoted()
		if err != nil {
			return err
		}
		c.List = append(c.List, s)
		l.skipSpace()
		switch {
		case l.at(","):
			l.pos++
		case l.at(")"):
			l.pos++
			return nil
		default:
			return l.fail(ListEnd, l.pos)
		}
	}
}

// ParseFilter parses a search filter: comparisons joined by AND. It checks
// syntax only; each entity's search applies its own rules to the clauses.
func (g *Grammar) ParseFilter(filter string) ([]Clause, error) {
	l := &lexer{g: g, s: filter}
	if l.eof() {
		return nil, nil
	}
	if g.Strict {
		if err := g.scan(filter); err != nil {
			return nil, err
		}
	}
	var out []Clause
	for {
		var c Clause
		var err error
		l.skipSpace()
		start := l.pos
		if c.Kind, c.Key, err = l.identifier(); err != nil {
			return nil, err
		}
		l.ident = strings.TrimSpace(l.s[start:l.pos])
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
		if word := l.word(); strings.ToUpper(word) != "AND" {
			if strings.ToUpper(word) == "OR" {
				return nil, l.g.fail(problem{Fault: Or, Filter: l.s, Pos: at, Word: word})
			}
			return nil, l.fail(NoAnd, at)
		}
		if l.eof() {
			if g.TrailingAnd {
				return out, nil
			}
			return nil, l.fail(DanglingAnd, l.pos)
		}
	}
}
