package pkgformat

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/mlgate/mlgate/internal/pyfmt"
)

// ErrBadMLmodel is wrapped by every MLmodel parse error.
var ErrBadMLmodel error = formatError("invalid MLmodel file")

// MaxMLmodelSize caps the size of an MLmodel file that ReadModel accepts.
const MaxMLmodelSize = 16 << 20

// Top-level MLmodel keys that map to Model fields.
const (
	keyArtifactPath      = "artifact_path"
	keyFlavors           = "flavors"
	keyModelUUID         = "model_uuid"
	keyModelID           = "model_id"
	keyRunID             = "run_id"
	keyUTCTimeCreated    = "utc_time_created"
	keyMLflowVersion     = "mlflow_version"
	keySignature         = "signature"
	keySavedInputExample = "saved_input_example_info"
	keyMetadata          = "metadata"
	keyModelSizeBytes    = "model_size_bytes"
	keyDatabricksRuntime = "databricks_runtime"
)

// UTCTimeLayout is the layout of utc_time_created when the time has
// microseconds; MLflow writes str(datetime.utcnow()).
const UTCTimeLayout = "2006-01-02 15:04:05.000000"

// FormatUTCTime formats t as MLflow's utc_time_created: naive UTC with a
// space separator and microseconds only when they are not zero.
func FormatUTCTime(t time.Time) string {
	t = t.UTC().Truncate(time.Microsecond)
	if t.Nanosecond() == 0 {
		return t.Format("2006-01-02 15:04:05")
	}
	return t.Format(UTCTimeLayout)
}

// ParseUTCTime parses a utc_time_created value (with or without
// microseconds; an ISO "T" separator is accepted too).
func ParseUTCTime(s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02 15:04:05.999999", "2006-01-02T15:04:05.999999", time.RFC3339Nano} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("utc_time_created %q is not like %q", s, UTCTimeLayout)
}

// ReadModel reads dir/MLmodel. dir may also be the MLmodel file itself.
func ReadModel(dir string) (*Model, error) {
	path := dir
	if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
		path = filepath.Join(dir, MLmodelFile)
	} else if err != nil {
		return nil, fmt.Errorf("model folder %s: %w", dir, err)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("model folder %s has no readable MLmodel file: %w", dir, err)
	}
	defer func() { _ = f.Close() }()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(io.LimitReader(f, MaxMLmodelSize+1)); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if buf.Len() > MaxMLmodelSize {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrBadMLmodel, path, MaxMLmodelSize)
	}
	m, err := ParseMLmodel(buf.Bytes())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// ParseMLmodel parses the YAML content of an MLmodel file. Keys it does not
// know, and known keys whose value is null, are kept in Extra so that
// Marshal writes them back.
func ParseMLmodel(data []byte) (*Model, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadMLmodel, err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%w: the top level must be a YAML mapping", ErrBadMLmodel)
	}
	top := doc.Content[0]
	m := &Model{Flavors: map[string]map[string]any{}}
	var sigNode *yaml.Node
	for i := 0; i+1 < len(top.Content); i += 2 {
		k, v := top.Content[i], top.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("%w: line %d: top-level keys must be strings", ErrBadMLmodel, k.Line)
		}
		key := k.Value
		if isNull(v) && key != keySignature && key != keyFlavors {
			m.setExtra(key, nil)
			continue
		}
		var err error
		switch key {
		case keyArtifactPath:
			m.ArtifactPath, err = scalarString(v)
		case keyModelUUID:
			m.ModelUUID, err = scalarString(v)
		case keyModelID:
			m.ModelID, err = scalarString(v)
		case keyRunID:
			m.RunID, err = scalarString(v)
		case keyUTCTimeCreated:
			m.UTCTimeCreated, err = scalarString(v)
		case keyMLflowVersion:
			m.MLflowVersion, err = scalarString(v)
		case keyDatabricksRuntime:
			m.DatabricksRuntime, err = scalarString(v)
		case keyModelSizeBytes:
			var n int64
			if err = v.Decode(&n); err == nil {
				m.ModelSizeBytes = &n
			}
		case keyFlavors:
			err = decodeFlavors(v, m)
		case keySavedInputExample:
			err = v.Decode(&m.SavedInputExampleInfo)
		case keyMetadata:
			err = v.Decode(&m.Metadata)
		case keySignature:
			sigNode = v
		default:
			var x any
			if err = v.Decode(&x); err == nil {
				m.setExtra(key, x)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("%w: key %q (line %d): %w", ErrBadMLmodel, key, v.Line, err)
		}
	}
	if sigNode != nil && !isNull(sigNode) {
		sig, err := decodeSignature(sigNode)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadMLmodel, err)
		}
		m.Signature = sig
	} else if sigNode != nil {
		m.setExtra(keySignature, nil)
	}
	return m, nil
}

func (m *Model) setExtra(key string, v any) {
	if m.Extra == nil {
		m.Extra = map[string]any{}
	}
	m.Extra[key] = v
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// scalarString returns a scalar's text whatever YAML type it resolves to
// (a version like 2.10 or an unquoted timestamp stays as written).
func scalarString(n *yaml.Node) (string, error) {
	if n.Kind != yaml.ScalarNode {
		return "", errors.New("want a string")
	}
	return n.Value, nil
}

func decodeFlavors(n *yaml.Node, m *Model) error {
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return errors.New("flavors must be a mapping of flavor name to config")
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		name, cfgNode := n.Content[i], n.Content[i+1]
		if name.Kind != yaml.ScalarNode || name.Value == "" {
			return errors.New("flavor names must be non-empty strings")
		}
		cfg := map[string]any{}
		if !isNull(cfgNode) {
			if cfgNode.Kind != yaml.MappingNode {
				return fmt.Errorf("flavor %q config must be a mapping", name.Value)
			}
			if err := cfgNode.Decode(&cfg); err != nil {
				return fmt.Errorf("flavor %q: %w", name.Value, err)
			}
		}
		m.Flavors[name.Value] = cfg
	}
	return nil
}

func decodeSignature(n *yaml.Node) (*Signature, error) {
	if n.Kind != yaml.MappingNode {
		return nil, sigErrorf("signature must be a mapping with inputs, outputs and params")
	}
	parts := map[string]string{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if isNull(v) {
			continue
		}
		if v.Kind != yaml.ScalarNode {
			return nil, sigErrorf("signature %s must be a JSON string", k.Value)
		}
		parts[k.Value] = v.Value
	}
	return ParseSignature(parts["inputs"], parts["outputs"], parts["params"])
}

// Marshal returns the MLmodel YAML as MLflow writes it (yaml.safe_dump:
// keys sorted, block style, signature parts as JSON strings).
func (m *Model) Marshal() ([]byte, error) {
	top := map[string]any{}
	for k, v := range m.Extra {
		top[k] = v
	}
	setStr := func(k, v string) {
		if v != "" {
			top[k] = v
		}
	}
	setStr(keyArtifactPath, m.ArtifactPath)
	setStr(keyModelUUID, m.ModelUUID)
	setStr(keyModelID, m.ModelID)
	setStr(keyRunID, m.RunID)
	setStr(keyUTCTimeCreated, m.UTCTimeCreated)
	setStr(keyMLflowVersion, m.MLflowVersion)
	setStr(keyDatabricksRuntime, m.DatabricksRuntime)
	flavors := map[string]any{}
	for k, v := range m.Flavors {
		if v == nil {
			v = map[string]any{}
		}
		flavors[k] = v
	}
	top[keyFlavors] = flavors
	if m.Signature != nil {
		in, out, params := m.Signature.Strings()
		sig := map[string]any{"inputs": nilIfEmpty(in), "outputs": nilIfEmpty(out), "params": nil}
		if params != nil {
			sig["params"] = *params
		}
		top[keySignature] = sig
	}
	if m.SavedInputExampleInfo != nil {
		top[keySavedInputExample] = m.SavedInputExampleInfo
	}
	if m.Metadata != nil {
		top[keyMetadata] = m.Metadata
	}
	if m.ModelSizeBytes != nil {
		top[keyModelSizeBytes] = *m.ModelSizeBytes
	}
	node, err := toNode(top, 0)
	if err != nil {
		return nil, err
	}
	out, err := encodeYAML(node)
	if err != nil {
		return nil, fmt.Errorf("encode MLmodel: %w", err)
	}
	return out, nil
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// WriteModel writes m as dir/MLmodel.
func WriteModel(dir string, m *Model) error {
	data, err := m.Marshal()
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, MLmodelFile), data)
}

// writeFileAtomic writes data to a temp file beside path and renames it.
func writeFileAtomic(path string, data []byte) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		_ = f.Close()
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Chmod(tmp, 0o644); err != nil { //nolint:gosec // model files are world-readable, like MLflow's
		return err
	}
	return os.Rename(tmp, path)
}

const maxNodeDepth = 200

// toNode builds a YAML node with mapping keys sorted by code point, as
// PyYAML's safe_dump does.
func toNode(v any, depth int) (*yaml.Node, error) {
	if depth > maxNodeDepth {
		return nil, fmt.Errorf("value nested deeper than %d levels", maxNodeDepth)
	}
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		for _, k := range keys {
			vn, err := toNode(x[k], depth+1)
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, strNode(k), vn)
		}
		return n, nil
	case map[string]string:
		m := make(map[string]any, len(x))
		for k, s := range x {
			m[k] = s
		}
		return toNode(m, depth)
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, s := range x {
			m[fmt.Sprint(k)] = s
		}
		return toNode(m, depth)
	case []any:
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		for _, e := range x {
			en, err := toNode(e, depth+1)
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, en)
		}
		return n, nil
	case []string:
		items := make([]any, len(x))
		for i, s := range x {
			items[i] = s
		}
		return toNode(items, depth)
	case string:
		return strNode(x), nil
	case nil:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}, nil
	case bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(x)}, nil
	case float64:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!float", Value: yamlFloat(x)}, nil
	}
	n := &yaml.Node{}
	if err := n.Encode(v); err != nil {
		return nil, err
	}
	return n, nil
}

func strNode(s string) *yaml.Node {
	n := &yaml.Node{}
	_ = n.Encode(s) // encoding a string cannot fail
	// PyYAML quotes with single quotes unless the string needs escapes.
	if n.Style == yaml.DoubleQuotedStyle && printableOneLine(s) {
		n.Style = yaml.SingleQuotedStyle
	}
	return n
}

func printableOneLine(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == utf8.RuneError || r > 0x7e {
			return false
		}
	}
	return true
}

func yamlFloat(f float64) string {
	switch s := pyfmt.Float(f); s {
	case "NaN":
		return ".nan"
	case "Infinity":
		return ".inf"
	case "-Infinity":
		return "-.inf"
	default:
		return s
	}
}
