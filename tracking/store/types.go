package store

// Lifecycle stages of experiments, runs and logged models.
const (
	StageActive  = "active"
	StageDeleted = "deleted"
)

// Run statuses (MLflow RunStatus names).
const (
	StatusRunning   = "RUNNING"
	StatusScheduled = "SCHEDULED"
	StatusFinished  = "FINISHED"
	StatusFailed    = "FAILED"
	StatusKilled    = "KILLED"
)

// Logged model statuses.
const (
	ModelPending      = "LOGGED_MODEL_PENDING"
	ModelReady        = "LOGGED_MODEL_READY"
	ModelUploadFailed = "LOGGED_MODEL_UPLOAD_FAILED"
)

// ViewType selects experiments or runs by lifecycle stage.
type ViewType int

// The view types.
const (
	ActiveOnly ViewType = iota
	DeletedOnly
	All
)

// Well-known tag keys.
const (
	TagRunName         = "mlflow.runName"
	TagUser            = "mlflow.user"
	TagLogModelHistory = "mlflow.log-model.history"
)

// DefaultExperimentID is the id of the "Default" experiment every store has.
const DefaultExperimentID = "0"

// Tag is a key/value pair (experiment, run, dataset or logged model tag).
type Tag struct {
	Key   string
	Value string
}

// Param is a run or logged model parameter.
type Param struct {
	Key   string
	Value string
}

// Experiment is an MLflow experiment.
type Experiment struct {
	ID               string
	Name             string
	ArtifactLocation string
	LifecycleStage   string
	CreationTime     int64
	LastUpdateTime   int64
	Tags             []Tag
}

// Metric is one logged metric value. RunID is set in bulk history answers.
type Metric struct {
	Key           string
	Value         float64
	Timestamp     int64
	Step          int64
	RunID         string
	ModelID       string
	DatasetName   string
	DatasetDigest string
}

// RunInfo is a run's metadata. EndTime 0 means not ended.
type RunInfo struct {
	RunID          string
	RunName        string
	ExperimentID   string
	UserID         string
	Status         string
	StartTime      int64
	EndTime        int64
	ArtifactURI    string
	LifecycleStage string
}

// RunData holds a run's latest metrics, params and tags, sorted by key.
type RunData struct {
	Metrics []Metric
	Params  []Param
	Tags    []Tag
}

// Dataset describes a dataset used as a run input.
type Dataset struct {
	Name       string
	Digest     string
	SourceType string
	Source     string
	Schema     string
	Profile    string
}

// DatasetInput is a dataset linked to a run, with its input tags.
type DatasetInput struct {
	Tags    []Tag
	Dataset Dataset
}

// ModelInput is a logged model used as a run input.
type ModelInput struct {
	ModelID string
}

// ModelOutput is a logged model produced by a run at a step.
type ModelOutput struct {
	ModelID string
	Step    int64
}

// Run is a run with its data, inputs and outputs.
type Run struct {
	Info    RunInfo
	Data    RunData
	Inputs  []DatasetInput
	Models  []ModelInput
	Outputs []ModelOutput
}

// LoggedModel is an MLflow 3 logged model.
type LoggedModel struct {
	ModelID                string
	ExperimentID           string
	Name                   string
	ArtifactURI            string
	CreationTimestampMs    int64
	LastUpdatedTimestampMs int64
	Status                 string
	StatusMessage          string
	CreatorID              string
	ModelType              string
	SourceRunID            string
	LifecycleStage         string
	Tags                   []Tag
	Params                 []Param
	Metrics                []Metric
}

// Page is a page request: at most MaxResults items from the position the
// opaque Token names ("" = first page).
type Page struct {
	MaxResults int
	Token      string
}
