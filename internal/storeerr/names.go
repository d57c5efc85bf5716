package storeerr

import (
	"encoding/json"
	"path"
)

// BadPathName is MLflow's error (bad_path_message) for a name that would
// resolve to another name when treated as a file path ("../a", "a/./b"):
// the value quoted as JSON, the normalised path as Python's repr quotes it.
func BadPathName(param, name string) error {
	b, _ := json.Marshal(name)
	return Invalidf("Invalid value %s for parameter '%s' supplied: Names may be treated as files in certain cases, and must not resolve to other names when treated as such. This name would resolve to '%s'",
		b, param, path.Clean(name))
}
