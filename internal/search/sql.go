package search

import (
	"strings"

	"github.com/mlgate/mlgate/internal/db"
)

// Query accumulates SQL text and its arguments.
type Query struct {
	b    strings.Builder
	Args []any
}

// Add appends SQL text and its arguments.
func (q *Query) Add(s string, args ...any) {
	q.b.WriteString(s)
	q.Args = append(q.Args, args...)
}

// String returns the SQL text.
func (q *Query) String() string { return q.b.String() }

// Where collects conditions joined by AND.
type Where struct {
	conds []string
	Args  []any
}

// Add adds a condition and its arguments.
func (w *Where) Add(cond string, args ...any) {
	w.conds = append(w.conds, cond)
	w.Args = append(w.Args, args...)
}

// SQL returns " WHERE <conditions>", or "" when there are none.
func (w *Where) SQL() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// Cond renders a string comparison of col with the clause's value as a
// condition for the dialect. LIKE is case-sensitive on both (mlgate opens
// SQLite with case_sensitive_like, as MLflow does); ILIKE is not.
func Cond(d db.Dialect, col string, c Clause) (string, []any) {
	switch c.Op {
	case "ILIKE":
		if d == db.Postgres {
			return col + " ILIKE ?", []any{c.Str}
		}
		return "LOWER(" + col + ") LIKE LOWER(?)", []any{c.Str}
	case "IN", "NOT IN":
		return col + " " + c.Op + " (" + Placeholders(len(c.List)) + ")", Args(c.List)
	}
	return col + " " + c.Op + " ?", []any{c.Str}
}

// Placeholders returns n comma-separated "?".
func Placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?,", n-1) + "?"
}

// Args returns the strings as query arguments.
func Args(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// Order is one ORDER BY term.
type Order struct {
	Col string
	Asc bool
}

// OrderSQL returns " ORDER BY <terms>".
func OrderSQL(terms []Order) string {
	parts := make([]string, len(terms))
	for i, t := range terms {
		dir := "ASC"
		if !t.Asc {
			dir = "DESC"
		}
		parts[i] = t.Col + " " + dir
	}
	return " ORDER BY " + strings.Join(parts, ", ")
}
