package store

import (
	"unicode"

	"github.com/mlgate/mlgate/internal/search"
)

// Clause is one comparison of a registry search filter: Kind is
// "attribute" or "tag", Op the upper-case comparator, Str the value (the
// text of an unquoted number, with IsNum set) and List the values of IN and
// NOT IN.
type Clause = search.Clause

// grammar is the search language of registered models and model versions.
var grammar = &search.Grammar{
	Entities: map[string]string{"attribute": search.Attribute, "tag": search.Tag, "tags": search.Tag},
	KeyByte: func(c byte) bool {
		return c == '_' || c == '.' || c >= '0' && c <= '9' || unicode.IsLetter(rune(c))
	},
	Strict: true,
	Messages: search.Messages{
		search.Unterminated: "Invalid filter: unterminated quoted string {rest}",
		search.BadEntity:    "Invalid entity type '{word}'. Valid entity types are ('attribute', 'tag', 'tags')",
		search.OrderIdent:   "Invalid order_by clause '{filter}'. Could not be parsed.",
	}.With("Invalid comparison clause in filter string: '{filter}'", search.NoKey, search.BadComparator, search.NoValue, search.BadValue).
		With("While parsing a list in the query, expected a non-empty list of string values, but got ill-formed list.", search.EmptyList, search.ListItem, search.ListEnd).
		With("Invalid filter: unexpected '!' at position {pos}", search.BadBang).
		With("Invalid filter: bad number {word}", search.BadNumber).
		With("Invalid filter: unexpected character {word} at position {pos}", search.BadChar).
		With("Invalid clause(s) in filter string: {word}", search.Or),
	// No identifier, OR, no AND, a dangling AND.
	Fallback: "Invalid clause(s) in filter string: '{filter}'",
	// MLflow's messages.
	TokenMessages: search.MLflowTokenMessages,
	// MLflow's registry searches accept "name = 'a' AND".
	TrailingAnd: true,
}

// ParseFilter parses a registry search filter: comparisons joined by AND.
// It checks syntax only; the entity-specific rules are applied by the
// searches.
func ParseFilter(filter string) ([]Clause, error) { return grammar.ParseFilter(filter) }

// ParsePageToken decodes MLflow's offset page token.
func ParsePageToken(tok string) (int, error) { return grammar.DecodePageToken(tok) }

// PageToken encodes an offset the way MLflow does.
func PageToken(offset int) string { return search.PageToken(offset) }
