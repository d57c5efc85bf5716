package store

import (
	"fmt"
	"math"
	"path"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/mlgate/mlgate/internal/pyfmt"
	"github.com/mlgate/mlgate/internal/storeerr"
)

// Validation limits (mlflow/utils/validation.py).
const (
	MaxEntityKeyLength        = 250
	MaxParamValueLength       = 6000
	MaxTagValueLength         = 8000
	MaxExperimentNameLength   = 500
	MaxExperimentTagKeyLength = 250
	MaxExperimentTagValLength = 20000
	MaxParamsTagsPerBatch     = 100
	MaxMetricsPerBatch        = 1000
	MaxEntitiesPerBatch       = 1000
	MaxDatasetNameSize        = 500
	MaxDatasetDigestSize      = 36
	MaxDatasetSourceSize      = 65535
	MaxDatasetSchemaSize      = 1048575
	MaxDatasetProfileSize     = 16777215
	MaxInputTagKeySize        = 255
	MaxInputTagValueSize      = 500
)

var (
	keyRE          = regexp.MustCompile(`^[/\p{L}\p{N}_.\- :]*$`)
	runIDRE        = regexp.MustCompile(`^[a-zA-Z0-9][\w\-]{0,255}$`)
	experimentIDRE = regexp.MustCompile(`^[a-zA-Z0-9][\w\-]{0,63}$`)
)

const badChars = "Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colon(:) and slashes (/)."

// ValidateKey checks a metric, param or tag key; what names the field in
// the message ("key", "name", "metrics[0].key"…).
func ValidateKey(what, key string) error { return validateKey(what, what, key) }

// validateKey is ValidateKey naming the key label in the length message,
// as MLflow does ("Param key", "Metric name").
func validateKey(what, label, key string) error {
	if key == "" {
		return storeerr.Invalidf("Missing value for required parameter '%s'. See the API docs for more information about request parameters.", what)
	}
	if !keyRE.MatchString(key) {
		return storeerr.Invalidf("Invalid value %q for parameter '%s' supplied: %s", key, what, badChars)
	}
	if n := path.Clean(key); n != key || n == "." || len(n) >= 2 && n[:2] == ".." || n[0] == '/' {
		return storeerr.BadPathName(what, key)
	}
	if utf8.RuneCountInString(key) > MaxEntityKeyLength {
		return storeerr.Invalidf("'%s' exceeds the maximum length of %d characters", label, MaxEntityKeyLength)
	}
	return nil
}

// pyList renders strings as Python prints a list of them: ['a', 'b'].
func pyList(ss []string) string {
	parts := make([]string, len(ss))
	for i, s := range ss {
		s = strings.ReplaceAll(s, `\`, `\\`)
		if strings.Contains(s, "'") && !strings.Contains(s, `"`) {
			parts[i] = `"` + s + `"`
			continue
		}
		parts[i] = "'" + strings.ReplaceAll(s, "'", `\'`) + "'"
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// truncate cuts s to at most n characters (MLflow truncates long param and
// tag values when MLFLOW_TRUNCATE_LONG_VALUES is on, its default).
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n])
}

// ValidateRunID checks the run id pattern.
func ValidateRunID(id string) error {
	if id == "" {
		return storeerr.Invalidf("Missing value for required parameter 'run_id'. See the API docs for more information about request parameters.")
	}
	if !runIDRE.MatchString(id) {
		return storeerr.Invalidf("Invalid value %q for parameter 'run_id' supplied.", id)
	}
	return nil
}

// parseExperimentID turns an experiment id string into its integer key.
func parseExperimentID(id string) (int64, error) {
	if id == "" {
		return 0, storeerr.Invalidf("Missing value for required parameter 'experiment_id'. See the API docs for more information about request parameters.")
	}
	if !experimentIDRE.MatchString(id) {
		return 0, storeerr.Invalidf("Invalid experiment ID: '%s'", id)
	}
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return 0, storeerr.Invalidf("Invalid experiment ID '%s'. Experiment ID must be a valid integer.", id)
	}
	return n, nil
}

func validateMetric(m Metric, what string) error {
	if err := validateKey(what+"key", "Metric name", m.Key); err != nil {
		return err
	}
	if m.Timestamp < 0 {
		return storeerr.Invalidf("Invalid value %d for parameter '%stimestamp' supplied: metric '%s' (value=%s). Timestamp must be a nonnegative long (64-bit integer) ", m.Timestamp, what, m.Key, pyfmt.Float(m.Value))
	}
	return nil
}

// sanitizeMetric maps a value to what is stored: NaN becomes (0, isNaN)
// and ±Inf the largest finite double, as MLflow's SQL store does.
func sanitizeMetric(v float64) (float64, bool) {
	switch {
	case math.IsNaN(v):
		return 0, true
	case math.IsInf(v, 1):
		return math.MaxFloat64, false
	case math.IsInf(v, -1):
		return -math.MaxFloat64, false
	}
	return v, false
}

func metricValue(v float64, isNaN bool) float64 {
	if isNaN {
		return math.NaN()
	}
	return v
}

func validateBatch(metrics, params, tags int) error {
	check := func(name string, limit, n int) error {
		if n > limit {
			return storeerr.Invalidf("A batch logging request can contain at most %d %s. Got %d %s. Please split up %s across multiple requests and try again.", limit, name, n, name, name)
		}
		return nil
	}
	if err := check("metrics", MaxMetricsPerBatch, metrics); err != nil {
		return err
	}
	if err := check("params", MaxParamsTagsPerBatch, params); err != nil {
		return err
	}
	if err := check("tags", MaxParamsTagsPerBatch, tags); err != nil {
		return err
	}
	if total := metrics + params + tags; total > MaxEntitiesPerBatch {
		return storeerr.Invalidf("A batch logging request can contain at most %d total metrics, params, and tags. Got %d. Please split up across multiple requests and try again.", MaxEntitiesPerBatch, total)
	}
	return nil
}

func validateLength(what string, limit int, s string) error {
	if utf8.RuneCountInString(s) > limit {
		return storeerr.Invalidf("'%s' exceeds the maximum length of %d characters", what, limit)
	}
	return nil
}

func validateDataset(i int, d DatasetInput) error {
	w := fmt.Sprintf("datasets[%d].dataset.", i)
	if d.Dataset.Name == "" {
		return storeerr.Invalidf("Missing value for required parameter '%sname'. See the API docs for more information about request parameters.", w)
	}
	// As MLflow's: a dataset without a digest is stored with "".
	for _, c := range []struct {
		what  string
		limit int
		v     string
	}{
		{"name", MaxDatasetNameSize, d.Dataset.Name}, {"digest", MaxDatasetDigestSize, d.Dataset.Digest},
		{"source", MaxDatasetSourceSize, d.Dataset.Source}, {"schema", MaxDatasetSchemaSize, d.Dataset.Schema},
		{"profile", MaxDatasetProfileSize, d.Dataset.Profile},
	} {
		if err := validateLength(c.what, c.limit, c.v); err != nil {
			return err
		}
	}
	for _, t := range d.Tags {
		if err := validateLength("Input tag key", MaxInputTagKeySize, t.Key); err != nil {
			return err
		}
		if err := validateLength("Input tag value", MaxInputTagValueSize, t.Value); err != nil {
			return err
		}
	}
	return nil
}
