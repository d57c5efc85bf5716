package store

import (
	"strconv"
	"strings"
	"unicode"
)

// Clause is one comparison of a registry search filter.
type Clause struct {
	// Type is "attribute" or "tag".
	Type string
	// Key is the attribute name or tag key, quotes removed.
	Key string
	// Comparator is upper-case: = != > >= < <= LIKE ILIKE IN "NOT IN".
	Comparator string
	// Value is the string value; List the values of IN / NOT IN.
	Value string
	List  []string
	// IsNumber reports an unquoted numeric literal in Value.
	IsNumber bool
}

type tokKind int

const (
	tkIdent tokKind = iota
	tkString
	tkNumber
	tkOp
	tkLParen
	tkRParen
	tkComma
)

type token struct {
	kind tokKind
	text string // for strings: the unquoted value; for idents: raw text
	dq   bool   // double-quoted string (an identifier for sqlparse)
}

func lex(s string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(':
			toks = append(toks, token{kind: tkLParen, text: "("})
			i++
		case c == ')':
			toks = append(toks, token{kind: tkRParen, text: ")"})
			i++
		case c == ',':
			toks = append(toks, token{kind: tkComma, text: ","})
			i++
		case c == '=':
			toks = append(toks, token{kind: tkOp, text: "="})
			i++
		case c == '!' || c == '<' || c == '>':
			if i+1 < len(s) && (s[i+1] == '=' || (c == '<' && s[i+1] == '>')) {
				op := s[i : i+2]
				if op == "<>" {
					op = "!="
				}
				toks = append(toks, token{kind: tkOp, text: op})
				i += 2
				continue
			}
			if c == '!' {
				return nil, invalidf("Invalid filter: unexpected '!' at position %d", i)
			}
			toks = append(toks, token{kind: tkOp, text: string(c)})
			i++
		case c == '\'' || c == '"':
			v, n, err := quoted(s[i:], c)
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{kind: tkString, text: v, dq: c == '"'})
			i += n
		case c == '-' || c == '.' || (c >= '0' && c <= '9'):
			j := i + 1
			for j < len(s) && (s[j] >= '0' && s[j] <= '9' || s[j] == '.' || s[j] == 'e' || s[j] == 'E' ||
				((s[j] == '-' || s[j] == '+') && (s[j-1] == 'e' || s[j-1] == 'E'))) {
				j++
			}
			if _, err := strconv.ParseFloat(s[i:j], 64); err != nil {
				return nil, invalidf("Invalid filter: bad number %q", s[i:j])
			}
			toks = append(toks, token{kind: tkNumber, text: s[i:j]})
			i = j
		case c == '`' || c == '_' || unicode.IsLetter(rune(c)):
			j := i
			for j < len(s) {
				d := s[j]
				if d == '`' || d == '"' {
					_, n, err := quoted(s[j:], d)
					if err != nil {
						return nil, err
					}
					j += n
					continue
				}
				if d == '_' || d == '.' || d >= '0' && d <= '9' || unicode.IsLetter(rune(d)) {
					j++
					continue
				}
				break
			}
			toks = append(toks, token{kind: tkIdent, text: s[i:j]})
			i = j
		default:
			return nil, invalidf("Invalid filter: unexpected character %q at position %d", c, i)
		}
	}
	return toks, nil
}

// quoted reads a quoted run starting at s[0]==q and returns the unquoted
// value and the bytes consumed; a doubled quote escapes itself.
func quoted(s string, q byte) (string, int, error) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		if s[i] == q {
			if i+1 < len(s) && s[i+1] == q {
				b.WriteByte(q)
				i++
				continue
			}
			return b.String(), i + 1, nil
		}
		b.WriteByte(s[i])
	}
	return "", 0, invalidf("Invalid filter: unterminated quoted string %s", s)
}

func isKeyword(t token, kw string) bool {
	return t.kind == tkIdent && strings.EqualFold(t.text, kw)
}

// ParseFilter parses a registry search filter: comparisons joined by AND.
// It checks syntax only; the entity-specific rules are applied by the
// searches.
func ParseFilter(filter string) ([]Clause, error) {
	if strings.TrimSpace(filter) == "" {
		return nil, nil
	}
	toks, err := lex(filter)
	if err != nil {
		return nil, err
	}
	var out []Clause
	i := 0
	for {
		if i >= len(toks) || toks[i].kind != tkIdent || isKeyword(toks[i], "and") {
			return nil, invalidf("Invalid clause(s) in filter string: '%s'", filter)
		}
		typ, key, err := splitIdentifier(toks[i].text)
		if err != nil {
			return nil, err
		}
		cl := Clause{Type: typ, Key: key}
		i++
		if i >= len(toks) {
			return nil, invalidf("Invalid comparison clause in filter string: '%s'", filter)
		}
		switch t := toks[i]; {
		case t.kind == tkOp:
			cl.Comparator = t.text
			i++
		case isKeyword(t, "like"), isKeyword(t, "ilike"), isKeyword(t, "in"):
			cl.Comparator = strings.ToUpper(t.text)
			i++
		case isKeyword(t, "not") && i+1 < len(toks) && isKeyword(toks[i+1], "in"):
			cl.Comparator = "NOT IN"
			i += 2
		default:
			return nil, invalidf("Invalid comparison clause in filter string: '%s'", filter)
		}
		if i >= len(toks) {
			return nil, invalidf("Invalid comparison clause in filter string: '%s'", filter)
		}
		switch t := toks[i]; t.kind {
		case tkString:
			cl.Value = t.text
			i++
		case tkNumber:
			cl.Value, cl.IsNumber = t.text, true
			i++
		case tkLParen:
			i++
			for {
				if i >= len(toks) || toks[i].kind != tkString {
					return nil, invalidf("While parsing a list in the query, expected a non-empty list of string values, but got ill-formed list.")
				}
				cl.List = append(cl.List, toks[i].text)
				i++
				if i < len(toks) && toks[i].kind == tkComma {
					i++
					continue
				}
				if i < len(toks) && toks[i].kind == tkRParen {
					i++
					break
				}
				return nil, invalidf("While parsing a list in the query, expected a non-empty list of string values, but got ill-formed list.")
			}
		default:
			return nil, invalidf("Invalid comparison clause in filter string: '%s'", filter)
		}
		out = append(out, cl)
		if i == len(toks) {
			return out, nil
		}
		if !isKeyword(toks[i], "and") {
			return nil, invalidf("Invalid clause(s) in filter string: '%s'", filter)
		}
		i++
	}
}

// splitIdentifier splits "tags.`my key`" into ("tag", "my key"); a bare
// key is an attribute.
func splitIdentifier(id string) (typ, key string, err error) {
	entity, rest, ok := strings.Cut(id, ".")
	if !ok {
		return "attribute", id, nil
	}
	switch entity {
	case "attribute":
		typ = "attribute"
	case "tag", "tags":
		typ = "tag"
	default:
		return "", "", invalidf("Invalid entity type '%s'. Valid entity types are ('attribute', 'tag', 'tags')", entity)
	}
	return typ, unquoteKey(rest), nil
}

func unquoteKey(k string) string {
	if len(k) >= 2 {
		if (k[0] == '"' && k[len(k)-1] == '"') || (k[0] == '\'' && k[len(k)-1] == '\'') {
			k = k[1 : len(k)-1]
		}
	}
	if len(k) >= 2 && k[0] == '`' && k[len(k)-1] == '`' {
		k = k[1 : len(k)-1]
	}
	return k
}
