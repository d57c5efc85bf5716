package wire

import (
	"fmt"
	"strings"

	"github.com/mlgate/mlgate/internal/apierr"
)

// apiHint ends MLflow's messages about request parameters.
const apiHint = " See the API docs for more information about request parameters."

// FieldError is a request parameter whose value does not fit it. It
// renders MLflow's message, naming the parameter as the client sent it and
// the JSON type of the value (never a Go type or field name):
//
//	Invalid value 123 for parameter 'name' supplied:  Hint: Value was of type 'int'. See the API docs for more information about request parameters.
//
// (two blanks after the colon, as MLflow writes it). The value is quoted as
// Python's json.dumps quotes it: compact, keys sorted.
type FieldError struct {
	Param string
	// Value is the value as sent: JSON text, or a query string value
	// (which reads as a JSON string).
	Value []byte
}

// Error implements error.
func (e *FieldError) Error() string {
	return fmt.Sprintf("Invalid value %s for parameter '%s' supplied:  Hint: Value was of type '%s'.%s",
		pyJSON(e.Value), e.Param, typeName(e.Value), apiHint)
}

// ErrorCode is INVALID_PARAMETER_VALUE (apierr.Coder).
func (e *FieldError) ErrorCode() string { return string(apierr.InvalidParameterValue) }

// typeName is the Python type name MLflow reports for a JSON value.
func typeName(raw []byte) string {
	switch t := strings.TrimSpace(string(raw)); {
	case t == "true" || t == "false":
		return "bool"
	case strings.HasPrefix(t, "["):
		return "list"
	case strings.HasPrefix(t, "{"):
		return "dict"
	case strings.HasPrefix(t, "\""):
		return "str"
	case t == "null":
		return "NoneType"
	case strings.ContainsAny(t, ".eE"):
		return "float"
	default:
		return "int"
	}
}

// Invalid returns an INVALID_PARAMETER_VALUE error with a formatted message.
func Invalid(format string, args ...any) error {
	return apierr.New(apierr.InvalidParameterValue, format, args...)
}

// BadPath is MLflow's error for an artifact path that is not a safe
// relative path (absolute, with "..", a backslash, or an encoded form).
func BadPath() error {
	return Invalid("Invalid path")
}

// Missing is MLflow's error for an absent required parameter.
func Missing(name string) error {
	return Invalid("Missing value for required parameter '%s'.%s", name, apiHint)
}

// Rule is MLflow's error for a parameter that breaks a rule of its
// endpoint (a range, say): the rule's message and the API docs hint.
func Rule(message string) error {
	return Invalid("%s%s", message, apiHint)
}

// InRange is nil when n lies in [lo, hi], and Rule(message) otherwise
// (MLflow's range checks that carry their own message).
func InRange(n, lo, hi int64, message string) error {
	if n < lo || n > hi {
		return Rule(message)
	}
	return nil
}

// NotPositive is MLflow's error for a max_results-like parameter that is
// not a positive integer.
func NotPositive(name string, n int64) error {
	return Invalid("Invalid value %d for parameter '%s' supplied. It must be a positive integer.", n, name)
}
