package tracking

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/mlgate/mlgate/internal/wire"
)

// RunStatus is the status of a run as MLflow names it.
type RunStatus string

// The run statuses.
const (
	StatusRunning   RunStatus = "RUNNING"
	StatusScheduled RunStatus = "SCHEDULED"
	StatusFinished  RunStatus = "FINISHED"
	StatusFailed    RunStatus = "FAILED"
	StatusKilled    RunStatus = "KILLED"
)

// Valid reports whether s is one of MLflow's run statuses.
func (s RunStatus) Valid() bool {
	switch s {
	case StatusRunning, StatusScheduled, StatusFinished, StatusFailed, StatusKilled:
		return true
	}
	return false
}

// Experiment is an MLflow experiment.
type Experiment struct {
	ExperimentID     string `json:"experiment_id"`
	Name             string `json:"name"`
	ArtifactLocation string `json:"artifact_location,omitempty"`
	LifecycleStage   string `json:"lifecycle_stage,omitempty"`
	LastUpdateTime   Int64  `json:"last_update_time,omitempty"`
	CreationTime     Int64  `json:"creation_time,omitempty"`
	Tags             []Tag  `json:"tags,omitempty"`
}

// Tag is a key/value pair on a run or experiment.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Param is a run parameter.
type Param = Tag

// Metric is one logged metric value.
type Metric struct {
	Key       string `json:"key"`
	Value     Float  `json:"value"`
	Timestamp Int64  `json:"timestamp"`
	Step      Int64  `json:"step"`
}

// RunInfo is a run's metadata.
type RunInfo struct {
	RunID          string    `json:"run_id"`
	RunUUID        string    `json:"run_uuid,omitempty"`
	RunName        string    `json:"run_name,omitempty"`
	ExperimentID   string    `json:"experiment_id"`
	UserID         string    `json:"user_id,omitempty"`
	Status         RunStatus `json:"status"`
	StartTime      Int64     `json:"start_time,omitempty"`
	EndTime        Int64     `json:"end_time,omitempty"`
	ArtifactURI    string    `json:"artifact_uri,omitempty"`
	LifecycleStage string    `json:"lifecycle_stage,omitempty"`
}

// RunData is a run's latest metrics, params and tags.
type RunData struct {
	Metrics []Metric `json:"metrics,omitempty"`
	Params  []Param  `json:"params,omitempty"`
	Tags    []Tag    `json:"tags,omitempty"`
}

// Run is an MLflow run.
type Run struct {
	Info RunInfo `json:"info"`
	Data RunData `json:"data"`
}

// Param returns a param's value and whether it is set.
func (r *Run) Param(key string) (string, bool) { return find(r.Data.Params, key) }

// Tag returns a tag's value and whether it is set.
func (r *Run) Tag(key string) (string, bool) { return find(r.Data.Tags, key) }

// Metric returns the latest value of a metric and whether it is set.
func (r *Run) Metric(key string) (float64, bool) {
	for _, m := range r.Data.Metrics {
		if m.Key == key {
			return float64(m.Value), true
		}
	}
	return 0, false
}

func find(tags []Tag, key string) (string, bool) {
	for _, t := range tags {
		if t.Key == key {
			return t.Value, true
		}
	}
	return "", false
}

// FileInfo is one entry of an artifact listing.
type FileInfo struct {
	Path     string `json:"path"`
	IsDir    bool   `json:"is_dir,omitempty"`
	FileSize Int64  `json:"file_size,omitempty"`
}

// Int64 is an int64 that decodes from a JSON number or a string, as MLflow's
// parser does, and encodes as a number.
type Int64 int64

// UnmarshalJSON accepts 123 and "123".
func (i *Int64) UnmarshalJSON(b []byte) error {
	s := string(b)
	if s == "null" {
		return nil
	}
	if len(s) >= 2 && s[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || f != math.Trunc(f) {
			return fmt.Errorf("not an int64: %s", b)
		}
		v = int64(f)
	}
	*i = Int64(v)
	return nil
}

// Float is a float64 that carries NaN and ±Inf as the strings "NaN",
// "Infinity" and "-Infinity" (protobuf JSON), as MLflow does.
type Float float64

// MarshalJSON writes NaN and ±Inf as strings.
func (f Float) MarshalJSON() ([]byte, error) { return wire.Double(f).MarshalJSON() }

// UnmarshalJSON accepts numbers and the strings above (and numeric strings).
func (f *Float) UnmarshalJSON(b []byte) error {
	s := string(b)
	if s == "null" {
		return nil
	}
	if len(s) >= 2 && s[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		switch s {
		case "NaN", "nan":
			*f = Float(math.NaN())
			return nil
		case "Infinity", "inf":
			*f = Float(math.Inf(1))
			return nil
		case "-Infinity", "-inf":
			*f = Float(math.Inf(-1))
			return nil
		}
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("not a number: %s", b)
	}
	*f = Float(v)
	return nil
}
