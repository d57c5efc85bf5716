package store

import (
	"encoding/json"
	"path"
	"regexp"
	"strconv"
	"strings"

	"github.com/mlgate/mlgate/internal/storeerr"
)

// Limits from mlflow/utils/validation.py.
const (
	maxTagKeyLength   = 250
	maxTagValueLength = 100_000
	maxAliasLength    = 255
)

var (
	aliasRE        = regexp.MustCompile(`^[\w\-]*$`)
	aliasVersionRE = regexp.MustCompile(`^[vV]\d+$`)
	tagKeyRE       = regexp.MustCompile(`^[/\w.\- :]*$`)
)

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func missing(param string) error {
	return storeerr.Invalidf("Missing value for required parameter '%s'.", param)
}

// pathNotUnique mirrors MLflow's path_not_unique: the name must equal its
// normalised POSIX path and must not be ".", start with ".." or with "/".
func pathNotUnique(name string) bool {
	norm := path.Clean(name)
	return norm != name || norm == "." || strings.HasPrefix(norm, "..") || strings.HasPrefix(norm, "/")
}

func badPath(param, name string) error { return storeerr.BadPathName(param, name) }

// ValidateModelName checks a registered model name the way MLflow does.
func ValidateModelName(name string) error {
	if strings.TrimSpace(name) == "" {
		return missing("name")
	}
	if strings.ContainsAny(name, "/:") {
		return storeerr.Invalidf("Invalid model name '%s'. Names cannot contain '/' or ':'.", name)
	}
	if pathNotUnique(name) {
		return badPath("name", name)
	}
	return nil
}

// ParseVersion parses a version number given as a string.
func ParseVersion(v string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil {
		return 0, storeerr.Invalidf("Parameter 'version' must be an integer, got '%s'.", v)
	}
	return n, nil
}

func validateTagKey(key string) error {
	if !tagKeyRE.MatchString(key) {
		return storeerr.Invalidf("Invalid value %s for parameter 'key' supplied: Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colon(:) and slashes (/).", jsonString(key))
	}
	if pathNotUnique(key) {
		return badPath("key", key)
	}
	return nil
}

// ValidateTag checks a registered model or model version tag.
func ValidateTag(key, value string) error {
	if err := validateTagKey(key); err != nil {
		return err
	}
	if len([]rune(key)) > maxTagKeyLength {
		return storeerr.Invalidf("'key' exceeds the maximum length of %d characters", maxTagKeyLength)
	}
	if len([]rune(value)) > maxTagValueLength {
		return storeerr.Invalidf("'value' exceeds the maximum length of %d characters", maxTagValueLength)
	}
	return nil
}

// ValidateAlias checks an alias name (characters and length).
func ValidateAlias(alias string) error {
	if alias == "" {
		return storeerr.Invalidf("Registered model alias name cannot be empty.")
	}
	if !aliasRE.MatchString(alias) {
		return storeerr.Invalidf("Invalid alias name: '%s'. Names may only contain alphanumerics, underscores (_), and dashes (-).", alias)
	}
	if len([]rune(alias)) > maxAliasLength {
		return storeerr.Invalidf("'Registered model alias name' exceeds the maximum length of %d characters", maxAliasLength)
	}
	return nil
}

// validateAliasReserved refuses the names an alias may not take when set.
func validateAliasReserved(alias string) error {
	if strings.EqualFold(alias, "latest") {
		return storeerr.Invalidf("'latest' alias name (case insensitive) is reserved.")
	}
	if aliasVersionRE.MatchString(alias) {
		return storeerr.Invalidf("Version alias name '%s' is reserved.", alias)
	}
	return nil
}

// CanonicalStage returns the canonical spelling of a stage, matched
// case-insensitively.
func CanonicalStage(stage string) (string, error) {
	for _, s := range AllStages {
		if strings.EqualFold(s, stage) {
			return s, nil
		}
	}
	return "", storeerr.Invalidf("Invalid Model Version stage: %s. Value must be one of %s.", stage, strings.Join(AllStages, ", "))
}
