package pkgformat

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// expectedModel is what interop/gen_golden.py records from mlflow's own
// Model.load for each golden folder.
type expectedModel struct {
	ArtifactPath          *string                   `json:"artifact_path"`
	Flavors               map[string]map[string]any `json:"flavors"`
	ModelUUID             *string                   `json:"model_uuid"`
	ModelID               *string                   `json:"model_id"`
	RunID                 *string                   `json:"run_id"`
	UTCTimeCreated        string                    `json:"utc_time_created"`
	MLflowVersion         string                    `json:"mlflow_version"`
	SavedInputExampleInfo map[string]any            `json:"saved_input_example_info"`
	Metadata              map[string]any            `json:"metadata"`
	ModelSizeBytes        *int64                    `json:"model_size_bytes"`
	Signature             *struct {
		InputsJSON  *string `json:"inputs_json"`
		OutputsJSON *string `json:"outputs_json"`
		ParamsJSON  *string `json:"params_json"`
	} `json:"signature"`
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// normalize turns a value into its JSON-decoded form so YAML and JSON
// decodings compare equal.
func normalize(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestGoldenMLmodels(t *testing.T) {
	dirs, err := filepath.Glob("testdata/golden/*")
	if err != nil || len(dirs) < 3 {
		t.Fatalf("want at least 3 golden folders (run interop/gen_golden.py), got %v %v", dirs, err)
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(dir, "expected.json"))
			if err != nil {
				t.Fatal(err)
			}
			var want expectedModel
			if err := json.Unmarshal(raw, &want); err != nil {
				t.Fatal(err)
			}
			m, err := ReadModel(dir)
			if err != nil {
				t.Fatal(err)
			}
			checkAgainst(t, m, &want)

			// Write, parse again: same model, same signature strings.
			out, err := m.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			m2, err := ParseMLmodel(out)
			if err != nil {
				t.Fatalf("re-parse: %v\n%s", err, out)
			}
			checkAgainst(t, m2, &want)
			if !reflect.DeepEqual(normalize(t, m.Extra), normalize(t, m2.Extra)) {
				t.Errorf("extra keys changed: %v vs %v", m.Extra, m2.Extra)
			}
			if !reflect.DeepEqual(m.Signature, m2.Signature) {
				t.Errorf("signature changed on round trip")
			}
			tmp := t.TempDir()
			if err := WriteModel(tmp, m2); err != nil {
				t.Fatal(err)
			}
			m3, err := ReadModel(tmp)
			if err != nil {
				t.Fatal(err)
			}
			checkAgainst(t, m3, &want)
		})
	}
}

func checkAgainst(t *testing.T, m *Model, want *expectedModel) {
	t.Helper()
	if m.ArtifactPath != str(want.ArtifactPath) || m.ModelUUID != str(want.ModelUUID) ||
		m.ModelID != str(want.ModelID) || m.RunID != str(want.RunID) {
		t.Errorf("ids: got %q %q %q %q", m.ArtifactPath, m.ModelUUID, m.ModelID, m.RunID)
	}
	if m.UTCTimeCreated != want.UTCTimeCreated {
		t.Errorf("utc_time_created = %q, want %q", m.UTCTimeCreated, want.UTCTimeCreated)
	}
	if _, err := ParseUTCTime(m.UTCTimeCreated); err != nil {
		t.Error(err)
	}
	if m.MLflowVersion != want.MLflowVersion {
		t.Errorf("mlflow_version = %q, want %q", m.MLflowVersion, want.MLflowVersion)
	}
	if !reflect.DeepEqual(normalize(t, m.Flavors), normalize(t, want.Flavors)) {
		t.Errorf("flavors = %v, want %v", m.Flavors, want.Flavors)
	}
	if !reflect.DeepEqual(normalize(t, m.SavedInputExampleInfo), normalize(t, want.SavedInputExampleInfo)) {
		t.Errorf("saved_input_example_info = %v, want %v", m.SavedInputExampleInfo, want.SavedInputExampleInfo)
	}
	if !reflect.DeepEqual(normalize(t, m.Metadata), normalize(t, want.Metadata)) {
		t.Errorf("metadata = %v, want %v", m.Metadata, want.Metadata)
	}
	if (m.ModelSizeBytes == nil) != (want.ModelSizeBytes == nil) ||
		(m.ModelSizeBytes != nil && *m.ModelSizeBytes != *want.ModelSizeBytes) {
		t.Errorf("model_size_bytes = %v, want %v", m.ModelSizeBytes, want.ModelSizeBytes)
	}
	if (m.Signature == nil) != (want.Signature == nil) {
		t.Fatalf("signature presence: got %v want %v", m.Signature != nil, want.Signature != nil)
	}
	if m.Signature == nil {
		return
	}
	in, out, params := m.Signature.Strings()
	if in != str(want.Signature.InputsJSON) {
		t.Errorf("inputs JSON\n got %s\nwant %s", in, str(want.Signature.InputsJSON))
	}
	if out != str(want.Signature.OutputsJSON) {
		t.Errorf("outputs JSON\n got %s\nwant %s", out, str(want.Signature.OutputsJSON))
	}
	var p string
	if params != nil {
		p = *params
	}
	if p != str(want.Signature.ParamsJSON) {
		t.Errorf("params JSON\n got %s\nwant %s", p, str(want.Signature.ParamsJSON))
	}
}
