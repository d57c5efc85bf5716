package registry

import (
	"strconv"

	"github.com/mlgate/mlgate/tracking"
)

// Tag is a key/value pair on a registered model or a version.
type Tag = tracking.Tag

// Alias points a name at a version of a registered model.
type Alias struct {
	Alias   string `json:"alias"`
	Version string `json:"version"`
}

// RegisteredModel is a named model in the registry.
type RegisteredModel struct {
	Name                 string         `json:"name"`
	CreationTimestamp    tracking.Int64 `json:"creation_timestamp,omitempty"`
	LastUpdatedTimestamp tracking.Int64 `json:"last_updated_timestamp,omitempty"`
	UserID               string         `json:"user_id,omitempty"`
	Description          string         `json:"description,omitempty"`
	LatestVersions       []ModelVersion `json:"latest_versions,omitempty"`
	Tags                 []Tag          `json:"tags,omitempty"`
	Aliases              []Alias        `json:"aliases,omitempty"`
}

// ModelVersion is one version of a registered model.
type ModelVersion struct {
	Name                 string         `json:"name"`
	Version              string         `json:"version"`
	CreationTimestamp    tracking.Int64 `json:"creation_timestamp,omitempty"`
	LastUpdatedTimestamp tracking.Int64 `json:"last_updated_timestamp,omitempty"`
	UserID               string         `json:"user_id,omitempty"`
	CurrentStage         string         `json:"current_stage,omitempty"`
	Description          string         `json:"description,omitempty"`
	Source               string         `json:"source,omitempty"`
	RunID                string         `json:"run_id,omitempty"`
	Status               string         `json:"status,omitempty"`
	StatusMessage        string         `json:"status_message,omitempty"`
	Tags                 []Tag          `json:"tags,omitempty"`
	RunLink              string         `json:"run_link,omitempty"`
	Aliases              []string       `json:"aliases,omitempty"`
	ModelID              string         `json:"model_id,omitempty"`
}

// VersionNumber returns the version as an integer (0 when malformed).
func (v *ModelVersion) VersionNumber() int64 {
	n, _ := strconv.ParseInt(v.Version, 10, 64)
	return n
}

// Stages a model version can be in.
const (
	StageNone       = "None"
	StageStaging    = "Staging"
	StageProduction = "Production"
	StageArchived   = "Archived"
)
