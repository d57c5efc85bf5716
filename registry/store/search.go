package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"github.com/mlgate/mlgate/internal/search"
	"github.com/mlgate/mlgate/internal/storeerr"
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

func isQuerying(clauses []Clause) bool {
	for _, c := range clauses {
		if c.Kind == "tag" && c.Key == isPromptTagKey {
			v := strings.ToLower(c.Str)
			return (c.Op == "=" && v == "true") || (c.Op == "!=" && v == "false")
		}
	}
	return false
}

func checkStringClause(c Clause, allowIn bool) error {
	switch c.Op {
	case "=", "!=", "LIKE", "ILIKE":
		if c.List != nil || c.IsNum {
			return storeerr.Invalidf("Expected a quoted string value for %s '%s'", c.Kind, c.Key)
		}
	case "IN", "NOT IN":
		if !allowIn {
			return storeerr.Invalidf("Invalid comparator for %s: %s", c.Kind, c.Op)
		}
		if c.List == nil {
			return storeerr.Invalidf("Expected a list of quoted string values for %s '%s'", c.Kind, c.Key)
		}
	default:
		return storeerr.Invalidf("Invalid comparator for %s: %s", c.Kind, c.Op)
	}
	return nil
}

// tagClause renders an EXISTS test on a tag table.
func (s *Store) tagClause(table, join string, c Clause) (string, []any, error) {
	if err := checkStringClause(c, false); err != nil {
		return "", nil, err
	}
	cond, args := search.Cond(s.db.Dialect, "t.value", c)
	return "EXISTS (SELECT 1 FROM " + table + " t WHERE " + join + " AND t.key = ? AND " + cond + ")",
		append([]any{c.Key}, args...), nil
}

// SearchRegisteredModels searches registered models by name and tags.
func (s *Store) SearchRegisteredModels(ctx context.Context, filter string, maxResults int, orderBy []string, pageToken string) (*Page[RegisteredModel], error) {
	if maxResults > SearchModelsThreshold {
		return nil, storeerr.Invalidf("Invalid value for request parameter max_results. It must be at most %d, but got value %d", SearchModelsThreshold, maxResults)
	}
	if maxResults < 0 {
		return nil, storeerr.Invalidf("Invalid value for max_results. It must be a positive integer, but got %d", maxResults)
	}
	clauses, err := ParseFilter(filter)
	if err != nil {
		return nil, err
	}
	var w search.Where
	prompts := isQuerying(clauses)
	for _, c := range clauses {
		switch c.Kind {
		case "attribute":
			if c.Key != "name" {
				return nil, storeerr.Invalidf("Invalid attribute key '%s' specified. Valid keys are '{'name'}'", c.Key)
			}
			if err := checkStringClause(c, true); err != nil {
				return nil, err
			}
			cond, args := search.Cond(s.db.Dialect, "rm.name", c)
			w.Add(cond, args...)
		case "tag":
			if c.Key == isPromptTagKey && !prompts {
				continue
			}
			cond, args, err := s.tagClause("registered_model_tags", "t.name = rm.name", c)
			if err != nil {
				return nil, err
			}
			w.Add(cond, args...)
		}
	}
	if !prompts {
		w.Add("NOT EXISTS (SELECT 1 FROM registered_model_tags p WHERE p.name = rm.name AND p.key = ? AND p.value = 'true')", isPromptTagKey)
	}
	var terms []search.Order
	seen := map[string]bool{}
	for _, ob := range orderBy {
		key, asc, err := search.SplitOrderBy(ob)
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
			return nil, storeerr.Invalidf("Invalid order by key '%s' specified. Valid keys are '{'name', 'timestamp'}'", key)
		}
		if seen[col] {
			return nil, storeerr.Invalidf("`order_by` contains duplicate fields: %v", orderBy)
		}
		seen[col] = true
		terms = append(terms, search.Order{Col: col, Asc: asc})
	}
	if !seen["rm.name"] {
		terms = append(terms, search.Order{Col: "rm.name", Asc: true})
	}
	offset, err := ParsePageToken(pageToken)
	if err != nil {
		return nil, err
	}
	q := `SELECT rm.name, rm.creation_time, rm.last_updated_time, rm.description, rm.change_seq FROM registered_models rm` +
		w.SQL() + search.OrderSQL(terms) + fmt.Sprintf(" LIMIT %d OFFSET %d", maxResults+1, offset)
	rows, err := s.db.QueryContext(ctx, s.q(q), w.Args...)
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
	models, page.NextPageToken = search.Page(models, offset, maxResults)
	if err := s.fillModels(ctx, s.db.Q(nil), models); err != nil {
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
		return nil, storeerr.Invalidf("Invalid value for max_results. It must be a positive integer, but got %d", maxResults)
	}
	if maxResults > SearchVersionsThreshold {
		return nil, storeerr.Invalidf("Invalid value for request parameter max_results. It must be at most %d, but got value %d", SearchVersionsThreshold, maxResults)
	}
	clauses, err := ParseFilter(filter)
	if err != nil {
		return nil, err
	}
	var w search.Where
	prompts := isQuerying(clauses)
	for _, c := range clauses {
		switch c.Kind {
		case "attribute":
			switch c.Key {
			case "version_number":
				switch c.Op {
				case "=", "!=", ">", ">=", "<", "<=":
				default:
					return nil, storeerr.Invalidf("Invalid comparator for attribute %s: %s", c.Key, c.Op)
				}
				n, err := strconv.ParseInt(c.Str, 10, 64)
				if err != nil || c.List != nil {
					return nil, storeerr.Invalidf("Invalid value for numeric attribute '%s': '%s'", c.Key, c.Str)
				}
				w.Add("mv.version "+c.Op+" ?", n)
			case "name", "run_id", "source_path":
				if err := checkStringClause(c, c.Key != "source_path"); err != nil {
					return nil, err
				}
				col := "mv." + c.Key
				if c.Key == "source_path" {
					col = "mv.source"
				}
				cond, args := search.Cond(s.db.Dialect, col, c)
				w.Add(cond, args...)
			default:
				return nil, storeerr.Invalidf("Invalid attribute key '%s' specified. Valid keys are '{'name', 'version_number', 'run_id', 'source_path'}'", c.Key)
			}
		case "tag":
			if c.Key == isPromptTagKey && !prompts {
				continue
			}
			cond, args, err := s.tagClause("model_version_tags", "t.name = mv.name AND t.version = mv.version", c)
			if err != nil {
				return nil, err
			}
			w.Add(cond, args...)
		}
	}
	if !prompts {
		w.Add("NOT EXISTS (SELECT 1 FROM model_version_tags p WHERE p.name = mv.name AND p.key = ? AND p.value = 'true')", isPromptTagKey)
	}
	if len(orderBy) == 0 {
		orderBy = []string{"last_updated_timestamp DESC", "name ASC", "version_number DESC"}
	}
	var terms []search.Order
	seen := map[string]bool{}
	for _, ob := range orderBy {
		key, asc, err := search.SplitOrderBy(ob)
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
			return nil, storeerr.Invalidf("Invalid order by key '%s' specified. Valid keys are {'name', 'version_number', 'creation_timestamp', 'last_updated_timestamp'}", key)
		}
		if seen[col] {
			return nil, storeerr.Invalidf("`order_by` contains duplicate fields: %v", orderBy)
		}
		seen[col] = true
		terms = append(terms, search.Order{Col: col, Asc: asc})
	}
	if !seen["mv.name"] {
		terms = append(terms, search.Order{Col: "mv.name", Asc: true})
	}
	if !seen["mv.version"] {
		terms = append(terms, search.Order{Col: "mv.version", Asc: false})
	}
	offset, err := ParsePageToken(pageToken)
	if err != nil {
		return nil, err
	}
	q := `SELECT ` + versionCols + ` FROM model_versions mv` + w.SQL() + search.OrderSQL(terms) +
		fmt.Sprintf(" LIMIT %d OFFSET %d", maxResults+1, offset)
	rows, err := s.db.QueryContext(ctx, s.q(q), w.Args...)
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
	out, page.NextPageToken = search.Page(out, offset, maxResults)
	if err := s.fillVersionTags(ctx, s.db.Q(nil), out); err != nil {
		return nil, err
	}
	for _, mv := range out {
		page.Items = append(page.Items, *mv)
	}
	return page, nil
}
