package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/mlgate/mlgate/internal/search"
	"github.com/mlgate/mlgate/internal/storeerr"
)

// CreateLoggedModelInput is what CreateLoggedModel needs.
type CreateLoggedModelInput struct {
	ExperimentID string
	Name         string // "" = a generated name
	ModelType    string
	SourceRunID  string
	CreatorID    string
	Params       []Param
	Tags         []Tag
}

const loggedModelCols = `model_id, experiment_id, name, artifact_location, creation_timestamp_ms, last_updated_timestamp_ms, status, lifecycle_stage, model_type, source_run_id, status_message, creator_id`

func scanLoggedModel(row interface{ Scan(...any) error }) (*LoggedModel, error) {
	var m LoggedModel
	var exp int64
	if err := row.Scan(&m.ModelID, &exp, &m.Name, &m.ArtifactURI, &m.CreationTimestampMs, &m.LastUpdatedTimestampMs,
		&m.Status, &m.LifecycleStage, &m.ModelType, &m.SourceRunID, &m.StatusMessage, &m.CreatorID); err != nil {
		return nil, err
	}
	m.ExperimentID = FormatID(exp)
	return &m, nil
}

// CreateLoggedModel creates a PENDING logged model in an active experiment.
// As MLflow's, the params' keys are stored as given, unchecked.
func (s *Store) CreateLoggedModel(ctx context.Context, in CreateLoggedModelInput) (*LoggedModel, error) {
	for _, t := range in.Tags {
		if err := ValidateKey("key", t.Key); err != nil {
			return nil, err
		}
	}
	name := in.Name
	if name == "" {
		name = GenerateRunName()
	}
	id := "m-" + newUUIDHex()
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		e, err := s.getExperiment(ctx, s.db.Q(tx), in.ExperimentID)
		if err != nil {
			return err
		}
		if e.LifecycleStage != StageActive {
			return storeerr.Invalidf("The experiment %s must be in the 'active' state. Current state is %s.", e.ID, e.LifecycleStage)
		}
		// The source run is recorded as given: MLflow does not check it names a run.
		now := s.nowMs()
		loc := AppendPath(AppendPath(AppendPath(e.ArtifactLocation, "models"), id), "artifacts")
		if _, err := s.db.Q(tx).ExecContext(ctx, `INSERT INTO logged_models (`+loggedModelCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, 'active', ?, ?, '', ?)`,
			id, idNum(e.ID), name, loc, now, now, ModelPending, in.ModelType, in.SourceRunID, in.CreatorID); err != nil {
			return err
		}
		if err := s.upsertModelKV(ctx, tx, "logged_model_params", id, paramsAsTags(in.Params)); err != nil {
			return err
		}
		return s.upsertModelKV(ctx, tx, "logged_model_tags", id, in.Tags)
	})
	if err != nil {
		return nil, err
	}
	return s.GetLoggedModel(ctx, id)
}

func paramsAsTags(ps []Param) []Tag {
	out := make([]Tag, len(ps))
	for i, p := range ps {
		out[i] = Tag(p)
	}
	return out
}

func (s *Store) upsertModelKV(ctx context.Context, tx *sql.Tx, table, id string, kv []Tag) error {
	for _, t := range kv {
		if _, err := s.db.Q(tx).ExecContext(ctx, `INSERT INTO `+table+` (model_id, key, value) VALUES (?, ?, ?) ON CONFLICT (model_id, key) DO UPDATE SET value = excluded.value`, id, t.Key, t.Value); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) getLoggedModel(ctx context.Context, q querier, id string) (*LoggedModel, error) {
	m, err := scanLoggedModel(q.QueryRowContext(ctx, `SELECT `+loggedModelCols+` FROM logged_models WHERE model_id = ?`, id))
	if isNoRows(err) || err == nil && m.LifecycleStage != StageActive {
		return nil, storeerr.NotFoundf("Logged model with ID '%s' not found.", id)
	}
	return m, err
}

// GetLoggedModel returns an active logged model with tags, params and metrics.
func (s *Store) GetLoggedModel(ctx context.Context, id string) (*LoggedModel, error) {
	m, err := s.getLoggedModel(ctx, s.db.Q(nil), id)
	if err != nil {
		return nil, err
	}
	return m, s.loadModelData(ctx, []*LoggedModel{m})
}

func (s *Store) loadModelData(ctx context.Context, models []*LoggedModel) error {
	if len(models) == 0 {
		return nil
	}
	byID := map[string]*LoggedModel{}
	args := make([]any, 0, len(models))
	for _, m := range models {
		byID[m.ModelID] = m
		args = append(args, m.ModelID)
	}
	in := "(" + placeholders(len(args)) + ")"
	for _, table := range []string{"logged_model_tags", "logged_model_params"} {
		rows, err := s.db.QueryContext(ctx, s.q.r(`SELECT model_id, key, value FROM `+table+` WHERE model_id IN `+in+` ORDER BY key`), args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id string
			var t Tag
			if err := rows.Scan(&id, &t.Key, &t.Value); err != nil {
				_ = rows.Close()
				return err
			}
			if m := byID[id]; m != nil {
				if table == "logged_model_tags" {
					m.Tags = append(m.Tags, t)
				} else {
					m.Params = append(m.Params, Param(t))
				}
			}
		}
		_ = rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	ms, err := collectMetrics(s.db.QueryContext(ctx, s.q.r(`SELECT `+metricCols+` FROM metrics WHERE model_id IN `+in+` ORDER BY key, step, timestamp`), args...))
	if err != nil {
		return err
	}
	for _, mt := range ms {
		if m := byID[mt.ModelID]; m != nil {
			m.Metrics = append(m.Metrics, mt)
		}
	}
	return nil
}

// FinalizeLoggedModel sets a logged model's status (READY or UPLOAD_FAILED).
func (s *Store) FinalizeLoggedModel(ctx context.Context, id, status string) (*LoggedModel, error) {
	switch status {
	case ModelReady, ModelUploadFailed, ModelPending:
	default:
		return nil, storeerr.Invalidf("Invalid model status '%s'. Expected LOGGED_MODEL_READY or LOGGED_MODEL_UPLOAD_FAILED.", status)
	}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.getLoggedModel(ctx, s.db.Q(tx), id); err != nil {
			return err
		}
		_, err := s.db.Q(tx).ExecContext(ctx, `UPDATE logged_models SET status = ?, last_updated_timestamp_ms = ? WHERE model_id = ?`, status, s.nowMs(), id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.GetLoggedModel(ctx, id)
}

// DeleteLoggedModel marks a logged model deleted.
func (s *Store) DeleteLoggedModel(ctx context.Context, id string) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.getLoggedModel(ctx, s.db.Q(tx), id); err != nil {
			return err
		}
		_, err := s.db.Q(tx).ExecContext(ctx, `UPDATE logged_models SET lifecycle_stage = 'deleted', last_updated_timestamp_ms = ? WHERE model_id = ?`, s.nowMs(), id)
		return err
	})
}

// SetLoggedModelTags sets tags on a logged model.
func (s *Store) SetLoggedModelTags(ctx context.Context, id string, tags []Tag) (*LoggedModel, error) {
	for _, t := range tags {
		if err := ValidateKey("key", t.Key); err != nil {
			return nil, err
		}
	}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.getLoggedModel(ctx, s.db.Q(tx), id); err != nil {
			return err
		}
		return s.upsertModelKV(ctx, tx, "logged_model_tags", id, tags)
	})
	if err != nil {
		return nil, err
	}
	return s.GetLoggedModel(ctx, id)
}

// DeleteLoggedModelTag removes a tag from a logged model.
func (s *Store) DeleteLoggedModelTag(ctx context.Context, id, key string) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.getLoggedModel(ctx, s.db.Q(tx), id); err != nil {
			return err
		}
		res, err := s.db.Q(tx).ExecContext(ctx, `DELETE FROM logged_model_tags WHERE model_id = ? AND key = ?`, id, key)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return storeerr.NotFoundf("No tag with key '%s' found for model with ID '%s'.", key, id)
		}
		return nil
	})
}

// LogLoggedModelParams logs params on a logged model.
func (s *Store) LogLoggedModelParams(ctx context.Context, id string, params []Param) error {
	for _, p := range params {
		if err := ValidateKey("key", p.Key); err != nil {
			return err
		}
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.getLoggedModel(ctx, s.db.Q(tx), id); err != nil {
			return err
		}
		return s.upsertModelKV(ctx, tx, "logged_model_params", id, paramsAsTags(params))
	})
}

// LoggedModelOrder is one order_by entry of a logged model search.
type LoggedModelOrder struct {
	FieldName string
	Ascending bool
}

// SearchLoggedModelsInput is a logged model search.
type SearchLoggedModelsInput struct {
	ExperimentIDs []string
	Filter        string
	MaxResults    int // 0 = 50
	OrderBy       []LoggedModelOrder
	PageToken     string
	// Datasets keeps the models with metrics on one of these datasets (with
	// the metric filters, the metrics compared must be on one of them).
	Datasets []DatasetFilter
}

// DatasetFilter names a dataset of a logged model search. As in MLflow's
// REST server, the digest is always compared: "" matches the metrics
// logged without a digest.
type DatasetFilter struct {
	Name, Digest string
}

// datasetsClause is the SQL condition on metrics f for ds, with its args.
func datasetsClause(ds []DatasetFilter) (string, []any) {
	conds := make([]string, len(ds))
	var args []any
	for i, d := range ds {
		conds[i] = "(f.dataset_name = ? AND f.dataset_digest = ?)"
		args = append(args, d.Name, d.Digest)
	}
	return "(" + strings.Join(conds, " OR ") + ")", args
}

var loggedModelAttrs = map[string]string{
	"name": "m.name", "model_id": "m.model_id", "model_type": "m.model_type", "status": "m.status",
	"source_run_id": "m.source_run_id", "creation_time": "m.creation_timestamp_ms",
	"creation_timestamp": "m.creation_timestamp_ms", "creation_timestamp_ms": "m.creation_timestamp_ms",
	"last_updated_timestamp": "m.last_updated_timestamp_ms", "last_updated_timestamp_ms": "m.last_updated_timestamp_ms",
}

// SearchLoggedModels searches active logged models of experiments.
func (s *Store) SearchLoggedModels(ctx context.Context, in SearchLoggedModelsInput) ([]*LoggedModel, string, error) {
	limit := in.MaxResults
	if limit == 0 {
		limit = 50
	}
	if limit < 0 {
		return nil, "", storeerr.Invalidf("Invalid value %d for parameter 'max_results' supplied. It must be a positive integer", limit)
	}
	for _, d := range in.Datasets {
		if d.Name == "" {
			return nil, "", storeerr.Invalidf("`dataset_name` in the `datasets` clause must be specified.")
		}
	}
	offset, err := DecodePageToken(in.PageToken)
	if err != nil {
		return nil, "", err
	}
	comps, err := ParseFilter(in.Filter)
	if err != nil {
		return nil, "", err
	}
	if len(in.ExperimentIDs) == 0 {
		return nil, "", storeerr.Invalidf("Missing value for required parameter 'experiment_ids'. See the API docs for more information about request parameters.")
	}
	exps := make([]any, 0, len(in.ExperimentIDs))
	for _, id := range in.ExperimentIDs {
		n, err := parseExperimentID(id)
		if err != nil {
			return nil, "", err
		}
		exps = append(exps, n)
	}
	sb := &sqlBuilder{dialect: s.db.Dialect}
	sb.Add(`SELECT ` + prefixCols("m.", loggedModelCols) + ` FROM logged_models m WHERE m.lifecycle_stage = 'active'`)
	sb.Add(" AND m.experiment_id IN ("+placeholders(len(exps))+")", exps...)
	metricFilters := false
	for _, c := range comps {
		switch c.Kind {
		case KindAttribute:
			col, ok := loggedModelAttrs[c.Key]
			if !ok {
				return nil, "", storeerr.Invalidf("Invalid attribute key '%s' in logged model filter", c.Key)
			}
			if strings.HasSuffix(col, "_ms") {
				if err := checkNumber(c, "attribute"); err != nil {
					return nil, "", err
				}
				sb.Add(" AND "+col+" "+c.Op+" ?", int64(c.Num))
				continue
			}
			if err := checkString(c, "attribute", map[string]bool{"=": true, "!=": true, "LIKE": true, "ILIKE": true, "IN": true, "NOT IN": true}); err != nil {
				return nil, "", err
			}
			sb.Add(" AND ")
			sb.strCmp(col, c)
		case KindMetric:
			if err := checkNumber(c, "metric"); err != nil {
				return nil, "", err
			}
			sb.Add(" AND EXISTS (SELECT 1 FROM metrics f WHERE f.model_id = m.model_id AND f.key = ? AND f.is_nan = 0 AND f.value "+c.Op+" ?", c.Key, c.Num)
			if len(in.Datasets) > 0 {
				cond, args := datasetsClause(in.Datasets)
				sb.Add(" AND "+cond, args...)
			}
			sb.Add(")")
			metricFilters = true
		case KindParam, KindTag:
			table := "logged_model_params"
			if c.Kind == KindTag {
				table = "logged_model_tags"
			}
			if err := checkString(c, c.Kind, stringOps); err != nil {
				return nil, "", err
			}
			sb.Add(" AND EXISTS (SELECT 1 FROM "+table+" f WHERE f.model_id = m.model_id AND f.key = ? AND ", c.Key)
			sb.strCmp("f.value", c)
			sb.Add(")")
		default:
			return nil, "", storeerr.Invalidf("Invalid entity type '%s' in logged model filter", c.Kind)
		}
	}
	if len(in.Datasets) > 0 && !metricFilters {
		cond, args := datasetsClause(in.Datasets)
		sb.Add(" AND EXISTS (SELECT 1 FROM metrics f WHERE f.model_id = m.model_id AND "+cond+")", args...)
	}
	var order []string
	for _, o := range in.OrderBy {
		col, ok := loggedModelAttrs[o.FieldName]
		if !ok {
			return nil, "", storeerr.Invalidf("Invalid order by field name '%s'", o.FieldName)
		}
		dir := " DESC"
		if o.Ascending {
			dir = " ASC"
		}
		order = append(order, col+dir)
	}
	order = append(order, "m.creation_timestamp_ms DESC", "m.model_id ASC")
	sb.Add(" ORDER BY "+strings.Join(order, ", ")+" LIMIT ? OFFSET ?", limit+1, offset)
	rows, err := s.db.QueryContext(ctx, s.q.r(sb.String()), sb.Args...)
	if err != nil {
		return nil, "", err
	}
	defer func() { _ = rows.Close() }()
	var out []*LoggedModel
	for rows.Next() {
		m, err := scanLoggedModel(rows)
		if err != nil {
			return nil, "", err
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	_ = rows.Close()
	out, next := search.Page(out, offset, limit)
	return out, next, s.loadModelData(ctx, out)
}

func prefixCols(p, cols string) string {
	parts := strings.Split(cols, ", ")
	for i := range parts {
		parts[i] = p + parts[i]
	}
	return strings.Join(parts, ", ")
}

// TagModelVersions is the logged model tag listing the registered model
// versions made from the model.
const TagModelVersions = "mlflow.modelVersions"

// AddModelVersion records that version of the registered model name was
// made from the logged model id: it appends {"name", "version"} to the
// model's mlflow.modelVersions tag, in MLflow's text
// ([{"name": "m", "version": 1}], Python's json.dumps), unless it is there.
func (s *Store) AddModelVersion(ctx context.Context, id, name string, version int64) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.getLoggedModel(ctx, s.db.Q(tx), id); err != nil {
			return err
		}
		var old string
		err := s.db.Q(tx).QueryRowContext(ctx, `SELECT value FROM logged_model_tags WHERE model_id = ? AND key = ?`, id, TagModelVersions).Scan(&old)
		if err != nil && !isNoRows(err) {
			return err
		}
		type entry struct {
			Name    string          `json:"name"`
			Version json.RawMessage `json:"version"`
		}
		var list []entry
		if old != "" {
			_ = json.Unmarshal([]byte(old), &list) // a tag that is not such a list is replaced
		}
		v := strconv.FormatInt(version, 10)
		parts := make([]string, 0, len(list)+1)
		for _, e := range list {
			if e.Name == name && string(e.Version) == v {
				return nil
			}
			if len(e.Version) == 0 {
				e.Version = json.RawMessage("null")
			}
			n, _ := json.Marshal(e.Name)
			parts = append(parts, fmt.Sprintf(`{"name": %s, "version": %s}`, n, e.Version))
		}
		n, _ := json.Marshal(name)
		parts = append(parts, fmt.Sprintf(`{"name": %s, "version": %s}`, n, v))
		return s.upsertModelKV(ctx, tx, "logged_model_tags", id, []Tag{{Key: TagModelVersions, Value: "[" + strings.Join(parts, ", ") + "]"}})
	})
}
