package search

import (
	"strconv"
	"unicode"
)

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// scan reads every token of a filter the way a tokenizer that reads the
// whole filter before parsing does (Grammar.Strict): operators, quoted
// strings, numbers, identifiers (letters, digits, '_', '.' and quoted
// parts) and punctuation. The first byte that starts no token is the error.
func (g *Grammar) scan(s string) error {
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '(' || c == ')' || c == ',' || c == '=':
			i++
		case c == '!' || c == '<' || c == '>':
			if i+1 < len(s) && (s[i+1] == '=' || c == '<' && s[i+1] == '>') {
				i += 2
				continue
			}
			if c == '!' {
				return g.fail(problem{Fault: BadBang, Filter: s, Pos: i})
			}
			i++
		case c == '\'' || c == '"':
			end, err := g.skipQuoted(s, i)
			if err != nil {
				return err
			}
			i = end
		case c == '-' || c == '.' || isDigit(c):
			j := i + 1
			for j < len(s) && (isDigit(s[j]) || s[j] == '.' || s[j] == 'e' || s[j] == 'E' ||
				(s[j] == '-' || s[j] == '+') && (s[j-1] == 'e' || s[j-1] == 'E')) {
				j++
			}
			if _, err := strconv.ParseFloat(s[i:j], 64); err != nil {
				return g.fail(problem{Fault: BadNumber, Filter: s, Pos: i, Word: strconv.Quote(s[i:j])})
			}
			i = j
		case c == '`' || c == '_' || unicode.IsLetter(rune(c)):
			j, err := g.skipIdentifier(s, i)
			if err != nil {
				return err
			}
			i = j
		default:
			return g.fail(problem{Fault: BadChar, Filter: s, Pos: i, Word: strconv.QuoteRune(rune(c))})
		}
	}
	return nil
}

// skipIdentifier returns the end of the identifier starting at i.
func (g *Grammar) skipIdentifier(s string, i int) (int, error) {
	for i < len(s) {
		switch d := s[i]; {
		case d == '`' || d == '"':
			end, err := g.skipQuoted(s, i)
			if err != nil {
				return 0, err
			}
			i = end
		case d == '_' || d == '.' || isDigit(d) || unicode.IsLetter(rune(d)):
			i++
		default:
			return i, nil
		}
	}
	return i, nil
}

// skipQuoted returns the end of the string quoted by s[i]; a doubled quote
// stands for itself.
func (g *Grammar) skipQuoted(s string, i int) (int, error) {
	q := s[i]
	for j := i + 1; j < len(s); j++ {
		if s[j] == q {
			if j+1 < len(s) && s[j+1] == q {
				j++
				continue
			}
			return j + 1, nil
		}
	}
	return 0, g.fail(problem{Fault: Unterminated, Filter: s, Pos: i})
}
