package server

import (
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/mlgate/mlgate/internal/apierr"
	"github.com/mlgate/mlgate/internal/wire"
	"github.com/mlgate/mlgate/tracking/store"
)

func (a *API) createLoggedModel(c *gin.Context, rq *wire.Request) (any, error) {
	var req struct {
		ExperimentID any    `json:"experiment_id"`
		Name         string `json:"name"`
		ModelType    string `json:"model_type"`
		SourceRunID  string `json:"source_run_id"`
		Params       []wTag `json:"params"`
		Tags         []wTag `json:"tags"`
	}
	if err := rq.Bind(&req); err != nil {
		return nil, err
	}
	exp := idString(req.ExperimentID)
	if exp == "" {
		return nil, wire.Missing("experiment_id")
	}
	params := make([]store.Param, len(req.Params))
	for i, p := range req.Params {
		params[i] = store.Param(p)
	}
	creator := ""
	for _, t := range req.Tags {
		if t.Key == store.TagUser {
			creator = t.Value
		}
	}
	m, err := a.st.CreateLoggedModel(c.Request.Context(), store.CreateLoggedModelInput{
		ExperimentID: exp, Name: req.Name, ModelType: req.ModelType, SourceRunID: req.SourceRunID,
		CreatorID: creator, Params: params, Tags: tagsIn(req.Tags),
	})
	if err != nil {
		return nil, err
	}
	return gin.H{"model": loggedModelOut(m)}, nil
}

func (a *API) getLoggedModel(c *gin.Context, rq *wire.Request) (any, error) {
	m, err := a.st.GetLoggedModel(c.Request.Context(), c.Param("model_id"))
	if err != nil {
		return nil, err
	}
	return gin.H{"model": loggedModelOut(m)}, nil
}

func (a *API) finalizeLoggedModel(c *gin.Context, rq *wire.Request) (any, error) {
	var req struct {
		ModelID string     `json:"model_id"`
		Status  enumString `json:"status"`
	}
	if err := rq.Bind(&req); err != nil {
		return nil, err
	}
	if req.ModelID == "" { // MLflow's handler reads model_id from the body, as its client sends it
		return nil, wire.Missing("model_id")
	}
	status := strings.ToUpper(string(req.Status))
	switch status {
	case "":
		return nil, wire.Missing("status")
	case "1":
		status = store.ModelPending
	case "2":
		status = store.ModelReady
	case "3":
		status = store.ModelUploadFailed
	}
	m, err := a.st.FinalizeLoggedModel(c.Request.Context(), c.Param("model_id"), status)
	if err != nil {
		return nil, err
	}
	return gin.H{"model": loggedModelOut(m)}, nil
}

func (a *API) deleteLoggedModel(c *gin.Context, rq *wire.Request) (any, error) {
	if err := a.st.DeleteLoggedModel(c.Request.Context(), c.Param("model_id")); err != nil {
		return nil, err
	}
	return nil, nil
}

func (a *API) setLoggedModelTags(c *gin.Context, rq *wire.Request) (any, error) {
	var req struct {
		Tags []wTag `json:"tags"`
	}
	if err := rq.Bind(&req); err != nil {
		return nil, err
	}
	m, err := a.st.SetLoggedModelTags(c.Request.Context(), c.Param("model_id"), tagsIn(req.Tags))
	if err != nil {
		return nil, err
	}
	return gin.H{"model": loggedModelOut(m)}, nil
}

func (a *API) deleteLoggedModelTag(c *gin.Context, rq *wire.Request) (any, error) {
	if err := a.st.DeleteLoggedModelTag(c.Request.Context(), c.Param("model_id"), c.Param("tag_key")); err != nil {
		return nil, err
	}
	return nil, nil
}

func (a *API) logLoggedModelParams(c *gin.Context, rq *wire.Request) (any, error) {
	var req struct {
		Params []wTag `json:"params"`
	}
	if err := rq.Bind(&req); err != nil {
		return nil, err
	}
	params := make([]store.Param, len(req.Params))
	for i, p := range req.Params {
		params[i] = store.Param(p)
	}
	if err := a.st.LogLoggedModelParams(c.Request.Context(), c.Param("model_id"), params); err != nil {
		return nil, err
	}
	return nil, nil
}

func (a *API) searchLoggedModels(c *gin.Context, rq *wire.Request) (any, error) {
	var req struct {
		ExperimentIDs []any      `json:"experiment_ids"`
		Filter        string     `json:"filter"`
		MaxResults    wire.Int64 `json:"max_results"`
		OrderBy       []struct {
			FieldName string     `json:"field_name"`
			Ascending *wire.Bool `json:"ascending"`
		} `json:"order_by"`
		PageToken string `json:"page_token"`
		Datasets  []struct {
			Name   string `json:"dataset_name"`
			Digest string `json:"dataset_digest"`
		} `json:"datasets"`
	}
	if err := rq.Bind(&req); err != nil {
		return nil, err
	}
	in := store.SearchLoggedModelsInput{Filter: req.Filter, MaxResults: int(req.MaxResults.V), PageToken: req.PageToken}
	for _, d := range req.Datasets {
		in.Datasets = append(in.Datasets, store.DatasetFilter{Name: d.Name, Digest: d.Digest})
	}
	for _, e := range req.ExperimentIDs {
		in.ExperimentIDs = append(in.ExperimentIDs, idString(e))
	}
	for _, o := range req.OrderBy {
		if o.FieldName == "" {
			return nil, apierr.New(apierr.InvalidParameterValue, "order_by entries need a field_name")
		}
		asc := o.Ascending == nil || o.Ascending.V
		in.OrderBy = append(in.OrderBy, store.LoggedModelOrder{FieldName: o.FieldName, Ascending: asc})
	}
	out := struct {
		Models        []wLoggedModel `json:"models,omitempty"`
		NextPageToken string         `json:"next_page_token,omitempty"`
	}{}
	// With permissions, the search runs over the experiments the caller
	// may read, so each page is full and its token follows on from it (as
	// MLflow's refilled pages are); none readable is an empty answer,
	// once the filter has been checked.
	if a.filter != nil && len(in.ExperimentIDs) > 0 {
		if in.ExperimentIDs = a.filter(c.Request.Context(), in.ExperimentIDs); len(in.ExperimentIDs) == 0 {
			if _, err := store.ParseFilter(in.Filter); err != nil {
				return nil, err
			}
			return out, nil
		}
	}
	models, next, err := a.st.SearchLoggedModels(c.Request.Context(), in)
	if err != nil {
		return nil, err
	}
	out.NextPageToken = next
	for _, m := range models {
		out.Models = append(out.Models, loggedModelOut(m))
	}
	return out, nil
}
