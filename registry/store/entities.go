package store

// Tag is a key/value tag of a registered model or model version.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Alias names a version of a registered model.
type Alias struct {
	Alias   string `json:"alias"`
	Version int64  `json:"version,string"`
}

// RegisteredModel is MLflow's RegisteredModel entity, with the JSON field
// names and presence rules of its wire form.
type RegisteredModel struct {
	Name                 string         `json:"name"`
	CreationTimestamp    int64          `json:"creation_timestamp"`
	LastUpdatedTimestamp int64          `json:"last_updated_timestamp,omitempty"`
	UserID               string         `json:"user_id,omitempty"`
	Description          string         `json:"description,omitempty"`
	LatestVersions       []ModelVersion `json:"latest_versions,omitempty"`
	Tags                 []Tag          `json:"tags,omitempty"`
	Aliases              []Alias        `json:"aliases,omitempty"`
	// ChangeSeq is the registry change sequence of the last mutation that
	// touched this model (not part of MLflow's wire form).
	ChangeSeq int64 `json:"-"`
}

// ModelVersion is MLflow's ModelVersion entity. Description, RunID and
// RunLink are pointers because MLflow distinguishes unset (omitted) from
// empty (sent as "").
type ModelVersion struct {
	Name                 string   `json:"name"`
	Version              int64    `json:"version,string"`
	CreationTimestamp    int64    `json:"creation_timestamp"`
	LastUpdatedTimestamp int64    `json:"last_updated_timestamp,omitempty"`
	UserID               string   `json:"user_id,omitempty"`
	CurrentStage         string   `json:"current_stage,omitempty"`
	Description          *string  `json:"description,omitempty"`
	Source               string   `json:"source,omitempty"`
	RunID                *string  `json:"run_id,omitempty"`
	Status               string   `json:"status,omitempty"`
	StatusMessage        string   `json:"status_message,omitempty"`
	Tags                 []Tag    `json:"tags,omitempty"`
	RunLink              *string  `json:"run_link,omitempty"`
	Aliases              []string `json:"aliases,omitempty"`
	// StorageLocation is where the artifacts are read from (the resolved
	// source); not part of the wire form.
	StorageLocation string `json:"-"`
	// ModelID is the MLflow 3 logged model the version was made from, if any.
	ModelID string `json:"-"`
}

// The stages of a model version.
const (
	StageNone       = "None"
	StageStaging    = "Staging"
	StageProduction = "Production"
	StageArchived   = "Archived"
)

// AllStages lists the stages in MLflow's order.
var AllStages = []string{StageNone, StageStaging, StageProduction, StageArchived}

// StatusReady is the status of every version (registration is synchronous).
const StatusReady = "READY"
