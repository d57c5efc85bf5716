package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/mlgate/mlgate/internal/db"
)

// Search limits (mlflow/store/model_registry/__init__.py).
const (
	SearchModelsDefault      = 100
	SearchModelsThreshold    = 1000
	SearchVersionsDefault    = 10000
	SearchVersionsThreshold  = 200_000
	isPromptTagKey           = "mlflow.prompt.is_prompt"
	orderKeyTimestamp        = "timestamp"
	orderKeyLastUpdated      = "last_updated_timestamp"
	orderKeyName             = "name"
	orderKeyVersionNumber    = "version_number"
	orderKeyCreationTimstamp = "creation_timestamp"
)

// Page is one page of search results.
type Page[T any] struct {
	Items []T
	// NextPageToken is "" on the last page.
	NextPageToken string
}

// ParsePageToken decodes MLflow's offset page token.
func ParsePageToken(tok string) (int, error) {
	if tok == "" {
		return 0, nil
	}
	raw, err := base64.StdEncoding.DecodeString(tok)
	if err != nil {
		raw, err = base64.URLEncoding.DecodeString(tok)
	}
	if err != nil {
		return 0, invalidf("Invalid page token, could not base64-decode")
	}
	var parsed map[string]any
	if err := json.Unmarshal(raw, &parsed); err != nil {
		return 0, invalidf("Invalid page token, decoded value=%s", raw)
	}
	var off int
	switch v := parsed["offset"].(type) {
	case float64:
		off = int(v)
	case string:
		off, err = strconv.Atoi(v)
		if err != nil {
			return 0, invalidf("Invalid page token, not stringable %s", v)
		}
	}
	if off <= 0 {
		return 0, invalidf("Invalid page token, parsed value=%s", raw)
	}
	return off, nil
}

// PageToken encodes an offset the way MLflow does.
func PageToken(offset int) string {
	return base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf(`{"offset": %d}`, offset)))
}

type sqlWhere struct {
	conds []string
	args  []any
}

func (w *sqlWhere) add(cond string, args ...any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, args...)
}

func (w *sqlWhere) sql() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// likeToGlob turns a LIKE pattern into a GLOB pattern (SQLite's
// case-sensitive match; MLflow runs SQLite with case_sensitive_like).
func likeToGlob(p string) string {
	var b strings.Builder
	for _, r := range p {
		switch r {
		case '%':
			b.WriteByte('*')
		case '_':
			b.WriteByte('?')
		case '*', '?', '[':
			b.WriteByte('[')
			b.WriteRune(r)
			b.WriteByte(']')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// compare renders "col <op> value" for a string comparison.
func (s *Store) compare(col, op string, c Clause) (string, []any) {
	switch op {
	case "LIKE":
		if s.db.Dialect == db.SQLite {
			return col + " GLOB ?", []any{likeToGlob(c.Value)}
		}
		return col + " LIKE ?", []any{c.Value}
	case "ILIKE":
		if s.db.Dialect == db.SQLite {
			return "LOWER(" + col + ") LIKE LOWER(?)", []any{c.Value}
		}
		return col + " ILIKE ?", []any{c.Value}
	case "IN", "NOT IN":
		return col + " " + op + " (" + placeholders(len(c.List)) + ")", anys(c.List)
	default:
		return col + " " + op + " ?", []any{c.Value}
	}
}

func isQuerying(clauses []Clause) bool {
	for _, c := range clauses {
		if c.Type == "tag" && c.Key == isPromptTagKey {
			v := strings.ToLower(c.Value)
			return (c.Comparator == "=" && v == "true") || (c.Comparator == "!=" && v == "false")
		}
	}
	return false
}

func checkStringClause(c Clause, allowIn bool) error {
	switch c.Comparator {
	case "=", "!=", "LIKE", "ILIKE":
		if c.List != nil || c.IsNumber {
			return invalidf("Expected a quoted string value for %s '%s'", c.Type, c.Key)
		}
	case "IN", "NOT IN":
		if !allowIn {
			return invalidf("Invalid comparator for %s: %s", c.Type, c.Comparator)
		}
		if c.List == nil {
			return invalidf("Expected a list of quoted string values for %s '%s'", c.Type, c.Key)
		}
	default:
		return invalidf("Invalid comparator for %s: %s", c.Type, c.Comparator)
	}
	return nil
}

// tagClause renders an EXISTS test on a tag table.
func (s *Store) tagClause(table, join string, c Clause) (string, []any, error) {
	if err := checkStringClause(c, false); err != nil {
		return "", nil, err
	}
	cond, args := s.compare("t.value", c.Comparator, c)
	return "EXISTS (SELECT 1 FROM " + table + " t WHERE " + join + " AND t.key = ? AND " + cond + ")",
		append([]any{c.Key}, args...), nil
}

type orderTerm struct {
	col string
	asc bool
}

func parseOrderBy(ob string) (string, bool, error) {
	fields := strings.Fields(strings.ReplaceAll(ob, "`", ""))
	switch len(fields) {
	case 1:
		return fields[0], true, nil
	case 2:
		switch strings.ToLower(fields[1]) {
		case "asc":
			return fields[0], true, nil
		case "desc":
			return fields[0], false, nil
		}
		return "", false, invalidf("Invalid ordering key in order_by clause '%s'.", ob)
	}
	return "", false, invalidf("Invalid order_by clause '%s'. Could not be parsed.", ob)
}

func orderSQL(terms []orderTerm) string {
	parts := make([]string, len(terms))
	for i, t := range terms {
		dir := "ASC"
		if !t.asc {
			dir = "DESC"
		}
		parts[i] = t.col + " " + dir
	}
	return " ORDER BY " + strings.Join(parts, ", ")
}

// SearchRegisteredModels searches registered models by name and tags.
func (s *Store) SearchRegisteredModels(ctx context.Context, filter string, maxResults int, orderBy []string, pageToken string) (*Page[RegisteredModel], error) {
	if maxResults > SearchModelsThreshold {
		return nil, invalidf("Invalid value for request parameter max_results. It must be at most %d, but got value %d", SearchModelsThreshold, maxResults)
	}
	if maxResults < 0 {
		return nil, invalidf("Invalid value for max_results. It must be a positive integer, but got %d", maxResults)
	}
	clauses, err := ParseFilter(filter)
	if err != nil {
		return nil, err
	}
	var w sqlWhere
	prompts := isQuerying(clauses)
	for _, c := range clauses {
		switch c.Type {
		case "attribute":
			if c.Key != "name" {
				return nil, invalidf("Invalid attribute key '%s' specified. Valid keys are '{'name'}'", c.Key)
			}
			if err := checkStringClause(c, true); err != nil {
				return nil, err
			}
			cond, args := s.compare("rm.name", c.Comparator, c)
			w.add(cond, args...)
		case "tag":
			if c.Key == isPromptTagKey && !prompts {
				continue
			}
			cond, args, err := s.tagClause("registered_model_tags", "t.name = rm.name", c)
			if err != nil {
				return nil, err
			}
			w.add(cond, args...)
		}
	}
	if !prompts {
		w.add("NOT EXISTS (SELECT 1 FROM registered_model_tags p WHERE p.name = rm.name AND p.key = ? AND p.value = 'true')", isPromptTagKey)
	}
	var terms []orderTerm
	seen := map[string]bool{}
	for _, ob := range orderBy {
		key, asc, err := parseOrderBy(ob)
		if err != nil {
			return nil, err
		}
		var col string
		switch key {
		case orderKeyName:
			col = "rm.name"
		case orderKeyTimestamp, orderKeyLastUpdated:
			col = "rm.last_updated_time"
		default:
			return nil, invalidf("Invalid order by key '%s' specified. Valid keys are '{'name', 'timestamp'}'", key)
		}
		if seen[col] {
			return nil, invalidf("`order_by` contains duplicate fields: %v", orderBy)
		}
		seen[col] = true
		terms = append(terms, orderTerm{col, asc})
	}
	if !seen["rm.name"] {
		terms = append(terms, orderTerm{"rm.name", true})
	}
	offset, err := ParsePageToken(pageToken)
	if err != nil {
		return nil, err
	}
	q := `SELECT rm.name, rm.creation_time, rm.last_updated_time, rm.description, rm.change_seq FROM registered_models rm` +
		w.sql() + orderSQL(terms) + fmt.Sprintf(" LIMIT %d OFFSET %d", maxResults+1, offset)
	rows, err := s.db.QueryContext(ctx, s.q(q), w.args...)
	if err != nil {
		return nil, err
	}
	var models []*RegisteredModel
	for rows.Next() {
		var rm RegisteredModel
		var desc sql.NullString
		if err := rows.Scan(&rm.Name, &rm.CreationTimestamp, &rm.LastUpdatedTimestamp, &desc, &rm.ChangeSeq); err != nil {
			_ = rows.Close()
			return nil, err
		}
		rm.Description = desc.String
		models = append(models, &rm)
	}
	_ = rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	page := &Page[RegisteredModel]{}
	if len(models) > maxResults {
		models = models[:maxResults]
		page.NextPageToken = PageToken(offset + maxResults)
	}
	if err := s.fillModels(ctx, s.db, models); err != nil {
		return nil, err
	}
	for _, m := range models {
		page.Items = append(page.Items, *m)
	}
	return page, nil
}

// SearchModelVersions searches versions by name, version_number, run_id,
// source_path and tags.
func (s *Store) SearchModelVersions(ctx context.Context, filter string, maxResults int, orderBy []string, pageToken string) (*Page[ModelVersion], error) {
	if maxResults < 1 {
		return nil, invalidf("Invalid value for max_results. It must be a positive integer, but got %d", maxResults)
	}
	if maxResults > SearchVersionsThreshold {
		return nil, invalidf("Invalid value for request parameter max_results. It must be at most %d, but got value %d", SearchVersionsThreshold, maxResults)
	}
	clauses, err := ParseFilter(filter)
	if err != nil {
		return nil, err
	}
	var w sqlWhere
	prompts := isQuerying(clauses)
	for _, c := range clauses {
		switch c.Type {
		case "attribute":
			switch c.Key {
			case "version_number":
				switch c.Comparator {
				case "=", "!=", ">", ">=", "<", "<=":
				default:
					return nil, invalidf("Invalid comparator for attribute %s: %s", c.Key, c.Comparator)
				}
				n, err := strconv.ParseInt(c.Value, 10, 64)
				if err != nil || c.List != nil {
					return nil, invalidf("Invalid value for numeric attribute '%s': '%s'", c.Key, c.Value)
				}
				w.add("mv.version "+c.Comparator+" ?", n)
			case "name", "run_id", "source_path":
				if err := checkStringClause(c, c.Key != "source_path"); err != nil {
					return nil, err
				}
				col := "mv." + c.Key
				if c.Key == "source_path" {
					col = "mv.source"
				}
				cond, args := s.compare(col, c.Comparator, c)
				w.add(cond, args...)
			default:
				return nil, invalidf("Invalid attribute key '%s' specified. Valid keys are '{'name', 'version_number', 'run_id', 'source_path'}'", c.Key)
			}
		case "tag":
			if c.Key == isPromptTagKey && !prompts {
				continue
			}
			cond, args, err := s.tagClause("model_version_tags", "t.name = mv.name AND t.version = mv.version", c)
			if err != nil {
				return nil, err
			}
			w.add(cond, args...)
		}
	}
	if !prompts {
		w.add("NOT EXISTS (SELECT 1 FROM model_version_tags p WHERE p.name = mv.name AND p.key = ? AND p.value = 'true')", isPromptTagKey)
	}
	if len(orderBy) == 0 {
		orderBy = []string{"last_updated_timestamp DESC", "name ASC", "version_number DESC"}
	}
	var terms []orderTerm
	seen := map[string]bool{}
	for _, ob := range orderBy {
		key, asc, err := parseOrderBy(ob)
		if err != nil {
			return nil, err
		}
		key = strings.TrimPrefix(key, "attribute.")
		var col string
		switch key {
		case orderKeyName:
			col = "mv.name"
		case orderKeyVersionNumber:
			col = "mv.version"
		case orderKeyCreationTimstamp:
			col = "mv.creation_time"
		case orderKeyLastUpdated:
			col = "mv.last_updated_time"
		default:
			return nil, invalidf("Invalid order by key '%s' specified. Valid keys are {'name', 'version_number', 'creation_timestamp', 'last_updated_timestamp'}", key)
		}
		if seen[col] {
			return nil, invalidf("`order_by` contains duplicate fields: %v", orderBy)
		}
		seen[col] = true
		terms = append(terms, orderTerm{col, asc})
	}
	if !seen["mv.name"] {
		terms = append(terms, orderTerm{"mv.name", true})
	}
	if !seen["mv.version"] {
		terms = append(terms, orderTerm{"mv.version", false})
	}
	offset, err := ParsePageToken(pageToken)
	if err != nil {
		return nil, err
	}
	q := `SELECT ` + versionCols + ` FROM model_versions mv` + w.sql() + orderSQL(terms) +
		fmt.Sprintf(" LIMIT %d OFFSET %d", maxResults+1, offset)
	rows, err := s.db.QueryContext(ctx, s.q(q), w.args...)
	if err != nil {
		return nil, err
	}
	var out []*ModelVersion
	for rows.Next() {
		mv, err := scanVersion(rows)
		if err != nil {
			_ = rows.Close()
			return nil, err
		}
		out = append(out, &mv)
	}
	_ = rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	page := &Page[ModelVersion]{}
	if len(out) > maxResults {
		out = out[:maxResults]
		page.NextPageToken = PageToken(offset + maxResults)
	}
	if err := s.fillVersionTags(ctx, s.db, out); err != nil {
		return nil, err
	}
	for _, mv := range out {
		page.Items = append(page.Items, *mv)
	}
	return page, nil
}
