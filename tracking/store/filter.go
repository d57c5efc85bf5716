package store

import "github.com/mlgate/mlgate/internal/search"

// Entity types of a search identifier.
const (
	KindMetric    = search.Metric
	KindParam     = search.Param
	KindTag       = search.Tag
	KindAttribute = search.Attribute
	KindDataset   = search.Dataset
)

// Comparison is one "<type>.<key> <op> <value>" clause of a filter.
type Comparison = search.Clause

// OrderBy is one order_by entry.
type OrderBy = search.OrderBy

// grammar is the search language of runs, experiments and logged models.
var grammar = &search.Grammar{
	Entities: map[string]string{
		"metric": KindMetric, "metrics": KindMetric,
		"param": KindParam, "params": KindParam, "parameter": KindParam, "parameters": KindParam,
		"tag": KindTag, "tags": KindTag,
		"attribute": KindAttribute, "attributes": KindAttribute, "attr": KindAttribute, "run": KindAttribute,
		"dataset": KindDataset, "datasets": KindDataset,
	},
	FoldEntities: true,
	KeyByte:      isBareKeyChar,
	Null:         true,
	Backslash:    true,
	ZeroToken:    true,
	Messages: search.Messages{
		search.Unterminated:  "Invalid filter: unterminated quoted string starting at position {pos}",
		search.NoIdentifier:  "Invalid filter: expected an identifier at position {pos} in '{filter}'",
		search.BadEntity:     "Invalid entity type '{word}'. Valid values are ['metric', 'parameter', 'tag', 'attribute', 'dataset']",
		search.NoKey:         "Invalid filter: missing key after '{word}.' at position {pos}",
		search.BadComparator: "Invalid comparator at position {pos} in filter '{filter}'",
		search.NoValue:       "Invalid clause(s) in filter string: '{ident}', '{op}'",
		search.EmptyList:     "While parsing a list in the query, expected a non-empty list of string values, but got empty list",
		search.ListItem:      "While parsing a list in the query, expected string value, punctuation, or whitespace, but got different type in list: '{filter}'",
		search.ListEnd:       "Invalid list in filter '{filter}': expected ',' or ')'",
		search.BadValue:      "Invalid filter '{filter}': expected a quoted string or a number at position {pos}",
		search.Or:            "Invalid clause(s) in filter string: '{word}'",
		search.NoAnd:         "Invalid filter '{filter}': expected 'AND' at position {pos}",
		search.DanglingAnd:   "Invalid filter '{filter}': dangling 'AND'",
		search.OrderIdent:    "{word}",
	},
	TokenMessages: search.MLflowTokenMessages,
	// MLflow's searches accept "metrics.a > 1 AND".
	TrailingAnd: true,
}

// experimentGrammar is grammar with MLflow's experiment search messages.
var experimentGrammar = func() *search.Grammar {
	g := *grammar
	g.Messages = search.Messages{}
	for f, m := range grammar.Messages {
		g.Messages[f] = m
	}
	g.Messages[search.NoValue] = "Invalid clause(s) in filter string: {ident}, {op}"
	return &g
}()

// ParseExperimentFilter parses an experiment search filter (ParseFilter's
// language, MLflow's experiment search messages).
func ParseExperimentFilter(filter string) ([]Comparison, error) {
	return experimentGrammar.ParseFilter(filter)
}

func isBareKeyChar(c byte) bool {
	return c == '_' || c == '.' || c == '-' || c == '/' || c == ':' || c >= 0x80 ||
		c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// ParseFilter parses a search filter: comparisons joined by AND.
func ParseFilter(filter string) ([]Comparison, error) { return grammar.ParseFilter(filter) }

// ParseOrderBy parses one order_by entry "<identifier> [ASC|DESC]".
func ParseOrderBy(s string) (OrderBy, error) { return grammar.ParseOrderBy(s) }

// EncodePageToken returns the opaque token for an offset.
func EncodePageToken(offset int) string { return search.PageToken(offset) }

// DecodePageToken parses a token made by EncodePageToken ("" = 0).
func DecodePageToken(tok string) (int, error) { return grammar.DecodePageToken(tok) }
