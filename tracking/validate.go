package tracking

import (
	"fmt"
	"path"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Validation limits from MLflow's mlflow/utils/validation.py.
const (
	MaxKeyLength        = 250
	MaxParamValueLength = 6000
	MaxTagValueLength   = 8000
	MaxExperimentName   = 500
	MaxBatchMetrics     = 1000
	MaxBatchParams      = 100
	MaxBatchTags        = 100
	MaxBatchEntities    = 1000
)

var (
	keyRE   = regexp.MustCompile(`^[/\w.\- :]*$`)
	runIDRE = regexp.MustCompile(`^[a-zA-Z0-9][\w\-]{0,255}$`)
	expIDRE = regexp.MustCompile(`^[a-zA-Z0-9][\w\-]{0,63}$`)
)

// ValidationError is an argument the server would reject, caught before
// sending. Its code is INVALID_PARAMETER_VALUE.
type ValidationError struct{ Msg string }

func (e *ValidationError) Error() string { return e.Msg }

// ErrorCode returns INVALID_PARAMETER_VALUE.
func (e *ValidationError) ErrorCode() string { return "INVALID_PARAMETER_VALUE" }

func invalidf(format string, args ...any) error {
	return &ValidationError{Msg: fmt.Sprintf(format, args...)}
}

// ValidateKey checks a metric, param or tag key as MLflow does.
func ValidateKey(kind, key string) error {
	if key == "" {
		return invalidf("missing value for required parameter 'key' (%s)", kind)
	}
	if utf8.RuneCountInString(key) > MaxKeyLength {
		return invalidf("%s name %q is longer than %d characters", kind, key, MaxKeyLength)
	}
	if !keyRE.MatchString(key) {
		return invalidf("invalid %s name: %q; names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colons (:) and slashes (/)", kind, key)
	}
	if path.Clean(key) != key || key == "." || key == ".." || strings.HasPrefix(key, "../") || key[0] == '/' {
		return invalidf("invalid %s name: %q; names may be treated as files in certain cases and must not resolve to other names when treated as such", kind, key)
	}
	return nil
}

func validateParam(key, value string) error {
	if err := ValidateKey("param", key); err != nil {
		return err
	}
	if utf8.RuneCountInString(value) > MaxParamValueLength {
		return invalidf("param %q value is longer than %d characters", key, MaxParamValueLength)
	}
	return nil
}

func validateTag(key, value string) error {
	if err := ValidateKey("tag", key); err != nil {
		return err
	}
	if utf8.RuneCountInString(value) > MaxTagValueLength {
		return invalidf("tag %q value is longer than %d characters", key, MaxTagValueLength)
	}
	return nil
}

func validateMetric(m Metric) error {
	if err := ValidateKey("metric", m.Key); err != nil {
		return err
	}
	if m.Timestamp < 0 {
		return invalidf("metric %q has a negative timestamp %d", m.Key, m.Timestamp)
	}
	return nil
}

func validateRunID(id string) error {
	if !runIDRE.MatchString(id) {
		return invalidf("invalid run ID: %q", id)
	}
	return nil
}

func validateExperimentID(id string) error {
	if !expIDRE.MatchString(id) {
		return invalidf("invalid experiment ID: %q", id)
	}
	return nil
}

func validateExperimentName(name string) error {
	if name == "" {
		return invalidf("invalid experiment name: ''")
	}
	if utf8.RuneCountInString(name) > MaxExperimentName {
		return invalidf("experiment name is longer than %d characters", MaxExperimentName)
	}
	return nil
}
