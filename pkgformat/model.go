package pkgformat

// MLmodelFile is the name of the model description file in a model folder.
const MLmodelFile = "MLmodel"

// Model is a parsed MLmodel file. Keys that mlgate does not know are kept in
// Extra and written back unchanged.
type Model struct {
	ArtifactPath          string                    `json:"artifact_path,omitempty"`
	Flavors               map[string]map[string]any `json:"flavors"`
	ModelUUID             string                    `json:"model_uuid,omitempty"`
	ModelID               string                    `json:"model_id,omitempty"`
	RunID                 string                    `json:"run_id,omitempty"`
	UTCTimeCreated        string                    `json:"utc_time_created,omitempty"`
	MLflowVersion         string                    `json:"mlflow_version,omitempty"`
	Signature             *Signature                `json:"signature,omitempty"`
	SavedInputExampleInfo map[string]any            `json:"saved_input_example_info,omitempty"`
	Metadata              map[string]any            `json:"metadata,omitempty"`
	ModelSizeBytes        *int64                    `json:"model_size_bytes,omitempty"`
	DatabricksRuntime     string                    `json:"databricks_runtime,omitempty"`
	// Extra holds every other top-level key, as decoded from YAML.
	Extra map[string]any `json:"-"`
}

// Flavor returns the config of the named flavor and whether it exists.
func (m *Model) Flavor(name string) (map[string]any, bool) {
	f, ok := m.Flavors[name]
	return f, ok
}
