package serve

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/mlgate/mlgate/internal/apierr"
	"github.com/mlgate/mlgate/pkgformat"
)

// enforceParams is MLflow's _enforce_params_schema: without a params
// schema params are ignored; with one, unknown keys are dropped, values are
// checked against their type and shape, and defaults fill the gaps.
func enforceParams(v *value, ps *pkgformat.ParamSchema) (map[string]any, error) {
	if ps == nil {
		return nil, nil
	}
	out := map[string]any{}
	if v != nil && v.k != kNull && v.k != kObject {
		return nil, apierr.New(apierr.InvalidParameterValue, "Parameters must be a dictionary. Got type '%s'.", v.typeName())
	}
	var invalid []string
	for _, spec := range ps.Params {
		var pv *value
		if v != nil && v.k == kObject {
			pv, _ = v.get(spec.Name)
		}
		if pv == nil {
			out[spec.Name] = spec.Default
			continue
		}
		x, err := checkParam(pv, spec)
		if err != nil {
			invalid = append(invalid, fmt.Sprintf("('%s', '%s')", spec.Name, err.Error()))
			continue
		}
		out[spec.Name] = x
	}
	if len(invalid) > 0 {
		sort.Strings(invalid)
		return nil, apierr.New(apierr.InvalidParameterValue, "Invalid parameters found: {%s}", strings.Join(invalid, ", "))
	}
	return out, nil
}

func specRepr(s pkgformat.ParamSpec) string {
	return fmt.Sprintf("'%s': '%s' (default: %v)", s.Name, s.Type, s.Default)
}

func checkParam(v *value, spec pkgformat.ParamSpec) (any, error) {
	if len(spec.Shape) == 1 && spec.Shape[0] == -1 {
		if v.k != kArray {
			return nil, pyErrorf("Value must be a 1D array with shape (-1,) for param %s, received %s with ndim 0", specRepr(spec), v.typeName())
		}
		out := make([]any, len(v.items()))
		for i := range v.items() {
			x, err := paramScalar(&v.items()[i], spec.Type)
			if err != nil {
				return nil, pyErrorf("Failed to validate type and shape for %s, error: %s", specRepr(spec), err.Error())
			}
			out[i] = x
		}
		return out, nil
	}
	if spec.Type == "object" {
		if v.k != kObject {
			return nil, pyErrorf("Failed to validate type and shape for %s, error: Expected data to be dictionary, got %s", specRepr(spec), v.typeName())
		}
		return goValue(v), nil
	}
	x, err := paramScalar(v, spec.Type)
	if err != nil {
		return nil, pyErrorf("Failed to validate type and shape for %s, error: %s", specRepr(spec), err.Error())
	}
	return x, nil
}

// paramScalar is _enforce_param_datatype.
func paramScalar(v *value, t string) (any, error) {
	if v.k == kNull {
		return nil, nil
	}
	if t == "datetime" {
		if v.k == kString {
			for _, layout := range []string{"2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999", "2006-01-02"} {
				if tm, err := time.Parse(layout, v.s); err == nil {
					return tm, nil
				}
			}
		}
		return nil, pyErrorf("Failed to convert value `%s` from type `<class '%s'>` to `datetime`", pyStr(v), v.typeName())
	}
	if v.k == kArray || v.k == kObject {
		return nil, pyErrorf("Value must be a scalar for type `%s`, got `%s`", t, pyStr(v))
	}
	cannot := pyErrorf("Can not safely convert `<class '%s'>` to `%s` for value `%s`", v.typeName(), t, pyStr(v))
	switch t {
	case "boolean":
		if v.k == kBool {
			return v.b, nil
		}
	case "string":
		if v.k == kString {
			return v.s, nil
		}
	case "integer", "long":
		if v.k == kNumber && v.isInt() {
			return goValue(v), nil
		}
	case "float", "double":
		if v.k == kNumber {
			return v.float(), nil
		}
	case "binary":
		if v.k == kString {
			return []byte(v.s), nil
		}
	default:
		return goValue(v), nil
	}
	return nil, cannot
}
