package search

import (
	"strings"

	"github.com/mlgate/mlgate/internal/storeerr"
)

// OrderBy is one order_by entry.
type OrderBy struct {
	Kind string
	Key  string
	Asc  bool
}

func badOrderKey(s string) error {
	return storeerr.Invalidf("Invalid ordering key in order_by clause '%s'.", s)
}

func unparsedOrder(s string) error {
	return storeerr.Invalidf("Invalid order_by clause '%s'. Could not be parsed.", s)
}

// direction reads an optional ASC or DESC; true is ascending.
func direction(word, clause string) (bool, error) {
	switch strings.ToUpper(word) {
	case "ASC":
		return true, nil
	case "DESC":
		return false, nil
	}
	return false, badOrderKey(clause)
}

// ParseOrderBy parses one order_by entry "<identifier> [ASC|DESC]" with
// the grammar's identifiers; an identifier that does not parse is answered
// with the grammar's OrderIdent message.
func (g *Grammar) ParseOrderBy(s string) (OrderBy, error) {
	l := &lexer{g: g, s: s}
	kind, key, err := l.identifier()
	if err != nil {
		return OrderBy{}, g.fail(problem{Fault: OrderIdent, Filter: s, Word: err.Error()})
	}
	o := OrderBy{Kind: kind, Key: key, Asc: true}
	if !l.eof() {
		if o.Asc, err = direction(l.word(), s); err != nil {
			return OrderBy{}, err
		}
	}
	if !l.eof() {
		return OrderBy{}, unparsedOrder(s)
	}
	return o, nil
}

// SplitOrderBy splits an order_by entry "<key> [ASC|DESC]" whose key is
// one word (backquotes removed) and needs no grammar.
func SplitOrderBy(s string) (key string, asc bool, err error) {
	fields := strings.Fields(strings.ReplaceAll(s, "`", ""))
	switch len(fields) {
	case 1:
		return fields[0], true, nil
	case 2:
		asc, err := direction(fields[1], s)
		return fields[0], asc, err
	}
	return "", false, unparsedOrder(s)
}
