package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/mlgate/mlgate/internal/db"
	"github.com/mlgate/mlgate/internal/search"
	"github.com/mlgate/mlgate/internal/storeerr"
)

// Search limits.
const (
	DefaultSearchResults = 1000
	MaxSearchResults     = 50000
)

// SearchRunsInput is a runs search.
type SearchRunsInput struct {
	ExperimentIDs []string
	Filter        string
	ViewType      ViewType
	MaxResults    int // 0 = DefaultSearchResults
	OrderBy       []string
	PageToken     string
}

var (
	runStringAttrs = map[string]string{
		"run_id": "r.run_uuid", "run_name": "r.name", "status": "r.status", "user_id": "r.user_id",
		"artifact_uri": "r.artifact_uri", "lifecycle_stage": "r.lifecycle_stage",
		"run name": "r.name", "Run name": "r.name", "Run Name": "r.name",
	}
	runNumericAttrs = map[string]string{
		"start_time": "r.start_time", "end_time": "r.end_time", "created": "r.start_time", "Created": "r.start_time",
	}
	runOrderAttrs = map[string]string{
		"experiment_id": "r.experiment_id", "start_time": "r.start_time", "end_time": "r.end_time",
		"status": "r.status", "run_name": "r.name", "user_id": "r.user_id", "lifecycle_stage": "r.lifecycle_stage",
		"run_id": "r.run_uuid", "artifact_uri": "r.artifact_uri", "created": "r.start_time", "Created": "r.start_time",
		"run name": "r.name", "Run name": "r.name", "Run Name": "r.name",
	}
	numericOps = map[string]bool{"=": true, "!=": true, ">": true, ">=": true, "<": true, "<=": true}
	stringOps  = map[string]bool{"=": true, "!=": true, "LIKE": true, "ILIKE": true}
)

// sqlBuilder accumulates SQL text and its arguments for a dialect.
type sqlBuilder struct {
	search.Query
	dialect db.Dialect
}

// strCmp writes "<col> <op> ?" for a string comparison.
func (sb *sqlBuilder) strCmp(col string, c Comparison) {
	cond, args := search.Cond(sb.dialect, col, c)
	sb.Add(cond, args...)
}

// byRun writes the condition that finds the row of run r with key in
// a (run_uuid, key)-keyed table under alias a. On PostgreSQL the key is
// compared as part of the row (run_uuid, key), which only the primary key
// can serve: the (key, value) indexes then cannot be chosen for the
// lookup, and the run id stays an index condition whatever the planner
// estimates (statistics taken when the store was small estimate every
// index at one row and made it match runs by a filter over a whole key).
func (sb *sqlBuilder) byRun(a, key string) {
	if sb.dialect != db.Postgres {
		sb.Add(a+".run_uuid = r.run_uuid AND "+a+".key = ?", key)
		return
	}
	sb.Add(a+".run_uuid = r.run_uuid AND ("+a+".run_uuid, "+a+".key) >= (r.run_uuid, ?) AND ("+a+".run_uuid, "+a+".key) <= (r.run_uuid, ?)", key, key)
}

// endLookup closes an EXISTS lookup of byRun. On PostgreSQL "OFFSET 0"
// keeps it a per-run subplan instead of a semi-join: a semi-join would be
// estimated through the row comparison (a default third per bound), far
// too few runs, and the planner would then sort every run matching the
// rest instead of walking an index in order and stopping at the page.
func (sb *sqlBuilder) endLookup() {
	if sb.dialect == db.Postgres {
		sb.Add(" OFFSET 0")
	}
	sb.Add(")")
}

// lookupJoin joins the row of run r with key in table as alias (LEFT
// or inner): on PostgreSQL a lateral subquery the planner cannot flatten,
// so each run looks its row up by primary key (see byRun).
func (sb *sqlBuilder) lookupJoin(kind, table, alias, key, extra string) {
	if sb.dialect != db.Postgres {
		sb.Add(" "+kind+" "+table+" "+alias+" ON "+alias+".run_uuid = r.run_uuid AND "+alias+".key = ?"+extra, key)
		return
	}
	sb.Add(" " + kind + " LATERAL (SELECT " + alias + ".* FROM " + table + " " + alias + " WHERE ")
	sb.byRun(alias, key)
	sb.Add(extra + " OFFSET 0) " + alias + " ON TRUE")
}

func checkString(c Comparison, what string, ops map[string]bool) error {
	if !ops[c.Op] {
		return storeerr.Invalidf("Invalid comparator '%s' not one of '%s' for %s '%s'", c.Op, opList(ops), what, c.Key)
	}
	if c.IsNum {
		return storeerr.Invalidf("Expected a quoted string value for %s '%s'. Got value %v", what, c.Key, c.Num)
	}
	return nil
}

func checkNumber(c Comparison, what string) error {
	if !numericOps[c.Op] {
		return storeerr.Invalidf("Invalid comparator '%s' not one of '%s' for %s '%s'", c.Op, opList(numericOps), what, c.Key)
	}
	if !c.IsNum {
		return storeerr.Invalidf("Expected numeric value type for %s '%s'. Found '%s'", what, c.Key, c.Str)
	}
	return nil
}

func opList(ops map[string]bool) string {
	var l []string
	for _, o := range []string{"=", "!=", ">", ">=", "<", "<=", "LIKE", "ILIKE", "IN", "NOT IN", "IS NULL", "IS NOT NULL"} {
		if ops[o] {
			l = append(l, o)
		}
	}
	return "{" + strings.Join(l, ", ") + "}"
}

// runFilterSQL appends " AND <clause>" for each comparison. joined maps
// the metric keys that runOrderSQL inner-joined to their alias: their
// comparisons apply to the joined row.
func runFilterSQL(sb *sqlBuilder, comps []Comparison, joined map[string]string) error {
	for _, c := range comps {
		switch c.Kind {
		case KindMetric:
			if err := checkNumber(c, "metric"); err != nil {
				return err
			}
			if alias, ok := joined[c.Key]; ok {
				sb.Add(" AND "+alias+".value "+c.Op+" ?", c.Num)
				continue
			}
			sb.Add(" AND EXISTS (SELECT 1 FROM latest_metrics f WHERE ")
			sb.byRun("f", c.Key)
			sb.Add(" AND f.is_nan = 0 AND f.value "+c.Op+" ?", c.Num)
			sb.endLookup()
		case KindParam, KindTag:
			table := "params"
			if c.Kind == KindTag {
				table = "tags"
			}
			switch c.Op {
			case "IS NULL", "IS NOT NULL":
				not := ""
				if c.Op == "IS NULL" {
					not = "NOT "
				}
				sb.Add(" AND " + not + "EXISTS (SELECT 1 FROM " + table + " f WHERE ")
				sb.byRun("f", c.Key)
				sb.endLookup()
				continue
			}
			if err := checkString(c, c.Kind, stringOps); err != nil {
				return err
			}
			sb.Add(" AND EXISTS (SELECT 1 FROM " + table + " f WHERE ")
			sb.byRun("f", c.Key)
			sb.Add(" AND ")
			sb.strCmp("f.value", c)
			sb.endLookup()
		case KindAttribute:
			if col, ok := runNumericAttrs[c.Key]; ok {
				if err := checkNumber(c, "attribute"); err != nil {
					return err
				}
				sb.Add(" AND "+col+" "+c.Op+" ?", int64(c.Num))
				continue
			}
			col, ok := runStringAttrs[c.Key]
			if !ok {
				return storeerr.Invalidf("Invalid attribute key '%s' specified. Valid keys are '%s'", c.Key, "['run_id', 'run_name', 'status', 'user_id', 'artifact_uri', 'start_time', 'end_time', 'created', 'Created', 'run name', 'Run name', 'Run Name']")
			}
			ops := stringOps
			if c.Key == "run_id" {
				ops = map[string]bool{"=": true, "!=": true, "LIKE": true, "ILIKE": true, "IN": true, "NOT IN": true}
			}
			if err := checkString(c, "attribute", ops); err != nil {
				return err
			}
			sb.Add(" AND ")
			sb.strCmp(col, c)
		case KindDataset:
			ops := map[string]bool{"=": true, "!=": true, "LIKE": true, "ILIKE": true, "IN": true, "NOT IN": true}
			if err := checkString(c, "dataset", ops); err != nil {
				return err
			}
			switch c.Key {
			case "name", "digest":
				sb.Add(" AND EXISTS (SELECT 1 FROM run_datasets rd JOIN datasets d ON d.dataset_uuid = rd.dataset_uuid WHERE rd.run_uuid = r.run_uuid AND ")
				sb.strCmp("d."+c.Key, c)
				sb.Add(")")
			case "context":
				sb.Add(" AND EXISTS (SELECT 1 FROM run_dataset_tags t WHERE t.run_uuid = r.run_uuid AND t.key = 'mlflow.data.context' AND ")
				sb.strCmp("t.value", c)
				sb.Add(")")
			default:
				return storeerr.Invalidf("Invalid dataset key '%s' specified. Valid keys are ['name', 'digest', 'context']", c.Key)
			}
		}
	}
	return nil
}

// runOrderSQL adds the joins for order_by entries and returns the ORDER
// BY list and the metric keys it inner-joined (key → alias).
//
// A metric the order and the filter both name is inner-joined: a metric
// comparison keeps only runs where the metric is logged and not NaN, so the
// NaN-then-missing ranking is constant and drops out, leaving the bare
// value. The planner can then walk the latest_metrics (key, is_nan, value)
// index in order and stop at the page instead of sorting every run of the
// experiment.
//
// drive says the FROM clause already walks latest_metrics o0 for the
// first entry (a filtered metric: see metricDriven).
func runOrderSQL(sb *sqlBuilder, orderBy []string, filtered map[string]bool, drive bool) (string, map[string]string, error) {
	var order []string
	joined := map[string]string{}
	seen := map[string]bool{}
	startSeen := false
	for i, s := range orderBy {
		o, err := ParseOrderBy(s)
		if err != nil {
			return "", nil, err
		}
		dir := " ASC"
		if !o.Asc {
			dir = " DESC"
		}
		id := o.Kind + "\x00" + o.Key
		if seen[id] {
			return "", nil, storeerr.Invalidf("`order_by` contains duplicate fields: %v", orderBy)
		}
		seen[id] = true
		alias := fmt.Sprintf("o%d", i)
		switch o.Kind {
		case KindAttribute:
			col, ok := runOrderAttrs[o.Key]
			if !ok {
				return "", nil, storeerr.Invalidf("Invalid order_by key '%s' specified. Valid keys are ['experiment_id', 'start_time', 'end_time', 'status', 'run_name', 'user_id', 'run_id', 'artifact_uri']", o.Key)
			}
			if col == "r.start_time" {
				startSeen = true
			}
			if col == "r.end_time" { // the only nullable run column
				order = append(order, "CASE WHEN "+col+" IS NULL THEN 1 ELSE 0 END")
			}
			order = append(order, col+dir)
		case KindMetric:
			if filtered[o.Key] {
				joined[o.Key] = alias
				order = append(order, alias+".value"+dir)
				if i == 0 && drive {
					continue // the FROM clause's o0
				}
				sb.lookupJoin("JOIN", "latest_metrics", alias, o.Key, " AND "+alias+".is_nan = 0")
				continue
			}
			sb.lookupJoin("LEFT JOIN", "latest_metrics", alias, o.Key, "")
			order = append(order, "CASE WHEN "+alias+".is_nan = 1 THEN 1 WHEN "+alias+".value IS NULL THEN 2 ELSE 0 END", alias+".value"+dir)
		case KindParam, KindTag:
			table := "params"
			if o.Kind == KindTag {
				table = "tags"
			}
			sb.lookupJoin("LEFT JOIN", table, alias, o.Key, "")
			order = append(order, "CASE WHEN "+alias+".value IS NULL THEN 1 ELSE 0 END", alias+".value"+dir)
		default:
			return "", nil, storeerr.Invalidf("Invalid identifier type '%s' in order_by clause '%s'", o.Kind, s)
		}
	}
	if !startSeen {
		order = append(order, "r.start_time DESC")
	}
	order = append(order, "r.run_uuid ASC")
	return strings.Join(order, ", "), joined, nil
}

func pageSize(n int) (int, error) {
	if n == 0 {
		return DefaultSearchResults, nil
	}
	return n, CheckMaxResults(n)
}

// CheckMaxResults is MLflow's rule for the max_results of a run or
// experiment search: from 1 to MaxSearchResults.
func CheckMaxResults(n int) error {
	if n < 1 {
		return storeerr.Invalidf("Invalid value %d for parameter 'max_results' supplied. It must be a positive integer", n)
	}
	if n > MaxSearchResults {
		return storeerr.Invalidf("Invalid value %d for parameter 'max_results' supplied. It must be at most %d", n, MaxSearchResults)
	}
	return nil
}

func stagesFor(v ViewType) []any {
	switch v {
	case DeletedOnly:
		return []any{StageDeleted}
	case All:
		return []any{StageActive, StageDeleted}
	}
	return []any{StageActive}
}

// runSearchSQL builds the query of a runs search (nil when no experiment
// is named) and returns it with the page's offset and size.
func (s *Store) runSearchSQL(in SearchRunsInput) (*sqlBuilder, int, int, error) {
	limit, err := pageSize(in.MaxResults)
	if err != nil {
		return nil, 0, 0, err
	}
	offset, err := DecodePageToken(in.PageToken)
	if err != nil {
		return nil, 0, 0, err
	}
	comps, err := ParseFilter(in.Filter)
	if err != nil {
		return nil, 0, 0, err
	}
	if len(in.ExperimentIDs) == 0 {
		return nil, 0, 0, nil
	}
	exps := make([]any, 0, len(in.ExperimentIDs))
	for _, id := range in.ExperimentIDs {
		n, err := parseExperimentID(id)
		if err != nil {
			return nil, 0, 0, err
		}
		exps = append(exps, n)
	}
	sb := &sqlBuilder{dialect: s.db.Dialect}
	filtered := map[string]bool{}
	for _, c := range comps {
		if c.Kind == KindMetric {
			filtered[c.Key] = true
		}
	}
	drive := metricDriven(sb.dialect, in.OrderBy, filtered)
	sb.Add(`SELECT ` + runColumns + ` FROM `)
	if drive != "" {
		sb.Add(`latest_metrics o0 CROSS JOIN LATERAL (SELECT ` + runColumns + ` FROM runs r WHERE r.run_uuid = o0.run_uuid OFFSET 0) r`)
	} else {
		sb.Add(`runs r`)
	}
	order, joined, err := runOrderSQL(sb, in.OrderBy, filtered, drive != "")
	if err != nil {
		return nil, 0, 0, err
	}
	stages := stagesFor(in.ViewType)
	sb.Add(" WHERE ")
	if drive != "" {
		sb.Add("o0.key = ? AND o0.is_nan = 0 AND ", drive)
	}
	sb.Add("r.experiment_id IN ("+placeholders(len(exps))+")", exps...)
	sb.Add(" AND r.lifecycle_stage IN ("+placeholders(len(stages))+")", stages...)
	if err := runFilterSQL(sb, comps, joined); err != nil {
		return nil, 0, 0, err
	}
	sb.Add(" ORDER BY "+order+" LIMIT ? OFFSET ?", limit+1, offset)
	return sb, offset, limit, nil
}

// runColumns are the columns of a run a search reads.
const runColumns = `r.run_uuid, r.name, r.experiment_id, r.user_id, r.status, r.start_time, r.end_time, r.artifact_uri, r.lifecycle_stage`

// metricDriven returns the key of the metric a PostgreSQL search walks
// first, or "": when the first order_by entry is a metric the filter also
// names, the search walks the latest_metrics (key, is_nan, value) index in
// order and looks each run up by primary key, stopping at the page (the
// plan SQLite finds by itself). Written as a lateral lookup, the run id is
// an index condition whatever the planner estimates.
func metricDriven(d db.Dialect, orderBy []string, filtered map[string]bool) string {
	if d != db.Postgres || len(orderBy) == 0 {
		return ""
	}
	o, err := ParseOrderBy(orderBy[0])
	if err != nil || o.Kind != KindMetric || !filtered[o.Key] {
		return ""
	}
	return o.Key
}

// SearchRuns searches runs of the given experiments and returns a page and
// the token of the next one ("" at the end).
func (s *Store) SearchRuns(ctx context.Context, in SearchRunsInput) ([]*Run, string, error) {
	sb, offset, limit, err := s.runSearchSQL(in)
	if err != nil || sb == nil {
		return nil, "", err
	}
	rows, err := s.db.QueryContext(ctx, s.q.r(sb.String()), sb.Args...)
	if err != nil {
		return nil, "", err
	}
	defer func() { _ = rows.Close() }()
	var runs []*Run
	for rows.Next() {
		info, err := scanRunInfo(rows)
		if err != nil {
			return nil, "", err
		}
		runs = append(runs, &Run{Info: *info})
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	_ = rows.Close()
	runs, next := search.Page(runs, offset, limit)
	if err := s.loadRunData(ctx, s.db.Q(nil), runs); err != nil {
		return nil, "", err
	}
	return runs, next, nil
}

// SearchExperimentsInput is an experiments search.
type SearchExperimentsInput struct {
	Filter     string
	ViewType   ViewType
	MaxResults int
	OrderBy    []string
	PageToken  string
}

// SearchExperiments searches experiments by name, times and tags.
func (s *Store) SearchExperiments(ctx context.Context, in SearchExperimentsInput) ([]*Experiment, string, error) {
	limit, err := pageSize(in.MaxResults)
	if err != nil {
		return nil, "", err
	}
	offset, err := DecodePageToken(in.PageToken)
	if err != nil {
		return nil, "", err
	}
	comps, err := ParseExperimentFilter(in.Filter)
	if err != nil {
		return nil, "", err
	}
	sb := &sqlBuilder{dialect: s.db.Dialect}
	sb.Add(`SELECT e.experiment_id, e.name, e.artifact_location, e.lifecycle_stage, e.creation_time, e.last_update_time FROM experiments e`)
	stages := stagesFor(in.ViewType)
	sb.Add(" WHERE e.lifecycle_stage IN ("+placeholders(len(stages))+")", stages...)
	for _, c := range comps {
		switch c.Kind {
		case KindAttribute:
			switch c.Key {
			case "name":
				if err := checkString(c, "attribute", stringOps); err != nil {
					return nil, "", err
				}
				sb.Add(" AND ")
				sb.strCmp("e.name", c)
			case "creation_time", "last_update_time":
				if err := checkNumber(c, "attribute"); err != nil {
					return nil, "", err
				}
				sb.Add(" AND e."+c.Key+" "+c.Op+" ?", int64(c.Num))
			default:
				return nil, "", storeerr.Invalidf("Invalid attribute key '%s' specified. Valid keys are '{'name', 'creation_time', 'last_update_time'}'", c.Key)
			}
		case KindTag:
			if err := checkString(c, "tag", stringOps); err != nil {
				return nil, "", err
			}
			sb.Add(" AND EXISTS (SELECT 1 FROM experiment_tags t WHERE t.experiment_id = e.experiment_id AND t.key = ? AND ", c.Key)
			sb.strCmp("t.value", c)
			sb.Add(")")
		default:
			return nil, "", storeerr.Invalidf("Invalid entity type '%s'. Valid entity types are ['attribute', 'tag']", c.Kind)
		}
	}
	var order []string
	seenCreation := false
	for _, ob := range in.OrderBy {
		o, err := ParseOrderBy(ob)
		if err != nil {
			return nil, "", err
		}
		if o.Kind != KindAttribute {
			return nil, "", storeerr.Invalidf("Invalid order_by entity type '%s'. Only attributes can be used to order experiments.", o.Kind)
		}
		dir := " ASC"
		if !o.Asc {
			dir = " DESC"
		}
		switch o.Key {
		case "name", "experiment_id", "creation_time", "last_update_time":
			order = append(order, "e."+o.Key+dir)
			seenCreation = seenCreation || o.Key == "creation_time"
		default:
			return nil, "", storeerr.Invalidf("Invalid attribute key '%s' specified. Valid keys are '{'name', 'experiment_id', 'creation_time', 'last_update_time'}'", o.Key)
		}
	}
	if !seenCreation {
		order = append(order, "e.creation_time DESC")
	}
	order = append(order, "e.experiment_id ASC")
	sb.Add(" ORDER BY "+strings.Join(order, ", ")+" LIMIT ? OFFSET ?", limit+1, offset)
	rows, err := s.db.QueryContext(ctx, s.q.r(sb.String()), sb.Args...)
	if err != nil {
		return nil, "", err
	}
	defer func() { _ = rows.Close() }()
	var exps []*Experiment
	for rows.Next() {
		e, err := scanExperiment(rows)
		if err != nil {
			return nil, "", err
		}
		exps = append(exps, e)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	_ = rows.Close()
	exps, next := search.Page(exps, offset, limit)
	return exps, next, s.loadExperimentTags(ctx, s.db.Q(nil), exps)
}

// FormatID renders an integer id as MLflow's string id.
func FormatID(n int64) string { return strconv.FormatInt(n, 10) }
