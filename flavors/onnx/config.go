package onnx

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

// FlavorName is the MLmodel flavors key this package serves.
const FlavorName = "onnx"

// config is the onnx flavor block of an MLmodel file.
type config struct {
	// Data is the model file, relative to the model folder.
	Data string
	// Providers are the execution providers the model asks for.
	Providers []string
	Session   sessionConfig
}

// sessionConfig is onnx_session_options; zero values mean "ORT's default",
// as mlflow.onnx skips falsy options.
type sessionConfig struct {
	IntraOpThreads int
	InterOpThreads int
	// ExecutionMode is "", "sequential" or "parallel".
	ExecutionMode string
	// GraphOptimizationLevel is ORT's enum value; HasGraphOpt says it was set.
	GraphOptimizationLevel int
	HasGraphOpt            bool
	Extra                  map[string]string
}

// parseConfig reads the onnx flavor block. Unknown keys are ignored, as
// mlflow ignores them.
func parseConfig(fl map[string]any) (config, error) {
	var c config
	data, _ := fl["data"].(string)
	if data == "" {
		return c, fmt.Errorf("onnx flavor: the MLmodel has no \"data\" file name")
	}
	if !filepath.IsLocal(data) {
		return c, fmt.Errorf("onnx flavor: data %q must be a path inside the model folder", data)
	}
	c.Data = data
	switch p := fl["providers"].(type) {
	case string:
		c.Providers = []string{p}
	case []any:
		for _, e := range p {
			switch v := e.(type) {
			case string:
				c.Providers = append(c.Providers, v)
			case []any: // (name, options) pairs
				if len(v) > 0 {
					if s, ok := v[0].(string); ok {
						c.Providers = append(c.Providers, s)
					}
				}
			}
		}
	}
	opts, ok := fl["onnx_session_options"].(map[string]any)
	if !ok {
		return c, nil
	}
	var err error
	if c.Session.IntraOpThreads, err = intOption(opts, "intra_op_num_threads"); err != nil {
		return c, err
	}
	if c.Session.InterOpThreads, err = intOption(opts, "inter_op_num_threads"); err != nil {
		return c, err
	}
	if v, ok := opts["execution_mode"]; ok && v != nil {
		s, _ := v.(string)
		switch strings.ToUpper(s) {
		case "":
		case "SEQUENTIAL", "PARALLEL":
			c.Session.ExecutionMode = strings.ToLower(s)
		default:
			return c, fmt.Errorf("onnx_session_options: execution_mode %v is not sequential or parallel", v)
		}
	}
	if c.Session.GraphOptimizationLevel, err = intOption(opts, "graph_optimization_level"); err != nil {
		return c, err
	}
	if c.Session.GraphOptimizationLevel != 0 {
		switch c.Session.GraphOptimizationLevel {
		case 1, 2, 3, 99:
			c.Session.HasGraphOpt = true
		default:
			return c, fmt.Errorf("onnx_session_options: graph_optimization_level %d is not 0, 1, 2, 3 or 99",
				c.Session.GraphOptimizationLevel)
		}
	}
	if extra, ok := opts["extra_session_config"].(map[string]any); ok && len(extra) > 0 {
		c.Session.Extra = make(map[string]string, len(extra))
		for k, v := range extra {
			switch x := v.(type) {
			case string:
				c.Session.Extra[k] = x
			case int:
				c.Session.Extra[k] = strconv.Itoa(x)
			case bool:
				c.Session.Extra[k] = strconv.FormatBool(x)
			default:
				c.Session.Extra[k] = fmt.Sprint(x)
			}
		}
	}
	return c, nil
}

// intOption reads a non-negative integer option; absent or null is 0.
func intOption(opts map[string]any, key string) (int, error) {
	v, ok := opts[key]
	if !ok || v == nil {
		return 0, nil
	}
	var n int
	switch x := v.(type) {
	case int:
		n = x
	case int64:
		n = int(x)
	case uint64:
		n = int(x)
	case float64:
		if x != float64(int(x)) {
			return 0, fmt.Errorf("onnx_session_options: %s %v is not an integer", key, v)
		}
		n = int(x)
	default:
		return 0, fmt.Errorf("onnx_session_options: %s %v is not an integer", key, v)
	}
	if n < 0 || n > 1<<16 {
		return 0, fmt.Errorf("onnx_session_options: %s %d is out of range", key, n)
	}
	return n, nil
}
