package server

import (
	"github.com/mlgate/mlgate/tracking/store"

	"github.com/mlgate/mlgate/internal/wire"
)

type wTag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type wExperiment struct {
	ExperimentID     string `json:"experiment_id"`
	Name             string `json:"name"`
	ArtifactLocation string `json:"artifact_location,omitempty"`
	LifecycleStage   string `json:"lifecycle_stage"`
	LastUpdateTime   int64  `json:"last_update_time,omitempty"`
	CreationTime     int64  `json:"creation_time,omitempty"`
	Tags             []wTag `json:"tags,omitempty"`
	Workspace        string `json:"workspace,omitempty"`
}

type wMetric struct {
	Key           string      `json:"key"`
	Value         wire.Double `json:"value"`
	Timestamp     int64       `json:"timestamp"`
	Step          int64       `json:"step"`
	DatasetName   string      `json:"dataset_name,omitempty"`
	DatasetDigest string      `json:"dataset_digest,omitempty"`
	ModelID       string      `json:"model_id,omitempty"`
	RunID         string      `json:"run_id,omitempty"`
}

type wRunInfo struct {
	RunID          string `json:"run_id"`
	RunUUID        string `json:"run_uuid"`
	RunName        string `json:"run_name"`
	ExperimentID   string `json:"experiment_id"`
	UserID         string `json:"user_id"`
	Status         string `json:"status"`
	StartTime      int64  `json:"start_time"`
	EndTime        *int64 `json:"end_time,omitempty"`
	ArtifactURI    string `json:"artifact_uri"`
	LifecycleStage string `json:"lifecycle_stage"`
}

type wRunData struct {
	Metrics []wMetric `json:"metrics,omitempty"`
	Params  []wTag    `json:"params,omitempty"`
	Tags    []wTag    `json:"tags,omitempty"`
}

type wDataset struct {
	Name       string `json:"name"`
	Digest     string `json:"digest"`
	SourceType string `json:"source_type"`
	Source     string `json:"source"`
	Schema     string `json:"schema,omitempty"`
	Profile    string `json:"profile,omitempty"`
}

type wDatasetInput struct {
	Tags    []wTag   `json:"tags,omitempty"`
	Dataset wDataset `json:"dataset"`
}

type wModelInput struct {
	ModelID string `json:"model_id"`
}

type wModelOutput struct {
	ModelID string `json:"model_id"`
	Step    int64  `json:"step"`
}

type wRunInputs struct {
	DatasetInputs []wDatasetInput `json:"dataset_inputs,omitempty"`
	ModelInputs   []wModelInput   `json:"model_inputs,omitempty"`
}

type wRunOutputs struct {
	ModelOutputs []wModelOutput `json:"model_outputs,omitempty"`
}

type wRun struct {
	Info    wRunInfo     `json:"info"`
	Data    wRunData     `json:"data"`
	Inputs  wRunInputs   `json:"inputs"`
	Outputs *wRunOutputs `json:"outputs,omitempty"`
}

func tagsOut(ts []store.Tag) []wTag {
	if len(ts) == 0 {
		return nil
	}
	out := make([]wTag, len(ts))
	for i, t := range ts {
		out[i] = wTag(t)
	}
	return out
}

func paramsOut(ps []store.Param) []wTag {
	if len(ps) == 0 {
		return nil
	}
	out := make([]wTag, len(ps))
	for i, p := range ps {
		out[i] = wTag(p)
	}
	return out
}

func tagsIn(ts []wTag) []store.Tag {
	out := make([]store.Tag, len(ts))
	for i, t := range ts {
		out[i] = store.Tag(t)
	}
	return out
}

func experimentOut(e *store.Experiment) wExperiment {
	return wExperiment{
		ExperimentID: e.ID, Name: e.Name, ArtifactLocation: e.ArtifactLocation, LifecycleStage: e.LifecycleStage,
		LastUpdateTime: e.LastUpdateTime, CreationTime: e.CreationTime, Tags: tagsOut(e.Tags),
	}
}

func metricOut(m store.Metric, withRun bool) wMetric {
	w := wMetric{Key: m.Key, Value: wire.Double(m.Value), Timestamp: m.Timestamp, Step: m.Step,
		DatasetName: m.DatasetName, DatasetDigest: m.DatasetDigest, ModelID: m.ModelID}
	if withRun {
		w.RunID = m.RunID
	}
	return w
}

func runInfoOut(r *store.RunInfo) wRunInfo {
	w := wRunInfo{RunID: r.RunID, RunUUID: r.RunID, RunName: r.RunName, ExperimentID: r.ExperimentID, UserID: r.UserID,
		Status: r.Status, StartTime: r.StartTime, ArtifactURI: r.ArtifactURI, LifecycleStage: r.LifecycleStage}
	if r.EndTime != 0 {
		end := r.EndTime
		w.EndTime = &end
	}
	return w
}

func runOut(r *store.Run) wRun {
	w := wRun{Info: runInfoOut(&r.Info)}
	for _, m := range r.Data.Metrics {
		w.Data.Metrics = append(w.Data.Metrics, metricOut(m, false))
	}
	w.Data.Params = paramsOut(r.Data.Params)
	w.Data.Tags = tagsOut(r.Data.Tags)
	for _, d := range r.Inputs {
		w.Inputs.DatasetInputs = append(w.Inputs.DatasetInputs, wDatasetInput{Tags: tagsOut(d.Tags), Dataset: wDataset(d.Dataset)})
	}
	for _, m := range r.Models {
		w.Inputs.ModelInputs = append(w.Inputs.ModelInputs, wModelInput(m))
	}
	if len(r.Outputs) > 0 {
		w.Outputs = &wRunOutputs{}
		for _, m := range r.Outputs {
			w.Outputs.ModelOutputs = append(w.Outputs.ModelOutputs, wModelOutput(m))
		}
	}
	return w
}

type wLoggedModelInfo struct {
	ModelID                string          `json:"model_id"`
	ExperimentID           string          `json:"experiment_id"`
	Name                   string          `json:"name"`
	CreationTimestampMs    int64           `json:"creation_timestamp_ms"`
	LastUpdatedTimestampMs int64           `json:"last_updated_timestamp_ms"`
	ArtifactURI            string          `json:"artifact_uri"`
	Status                 string          `json:"status"`
	ModelType              string          `json:"model_type,omitempty"`
	SourceRunID            string          `json:"source_run_id,omitempty"`
	StatusMessage          string          `json:"status_message,omitempty"`
	Tags                   []wTag          `json:"tags,omitempty"`
	Registrations          []wRegistration `json:"registrations,omitempty"`
}

type wRegistration struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

type wLoggedModelData struct {
	Params  []wTag    `json:"params,omitempty"`
	Metrics []wMetric `json:"metrics,omitempty"`
}

type wLoggedModel struct {
	Info wLoggedModelInfo `json:"info"`
	Data wLoggedModelData `json:"data"`
}

func loggedModelOut(m *store.LoggedModel) wLoggedModel {
	w := wLoggedModel{Info: wLoggedModelInfo{
		ModelID: m.ModelID, ExperimentID: m.ExperimentID, Name: m.Name, CreationTimestampMs: m.CreationTimestampMs,
		LastUpdatedTimestampMs: m.LastUpdatedTimestampMs, ArtifactURI: m.ArtifactURI, Status: m.Status,
		ModelType: m.ModelType, SourceRunID: m.SourceRunID, StatusMessage: m.StatusMessage,
		Tags: tagsOut(m.Tags),
	}}
	w.Data.Params = paramsOut(m.Params)
	for _, mt := range m.Metrics {
		w.Data.Metrics = append(w.Data.Metrics, metricOut(mt, true))
	}
	return w
}
