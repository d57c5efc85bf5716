package server

import (
	"context"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/mlgate/mlgate/internal/apierr"
	"github.com/mlgate/mlgate/internal/search"
	"github.com/mlgate/mlgate/internal/wire"
	"github.com/mlgate/mlgate/tracking/store"
)

func (a *API) createExperiment(c *gin.Context, rq *wire.Request) (any, error) {
	var req struct {
		Name             string `json:"name"`
		ArtifactLocation string `json:"artifact_location"`
		Tags             []wTag `json:"tags"`
	}
	if err := rq.Bind(&req); err != nil {
		return nil, err
	}
	if req.Name == "" {
		return nil, wire.Missing("name")
	}
	id, err := a.st.CreateExperiment(c.Request.Context(), req.Name, req.ArtifactLocation, tagsIn(req.Tags))
	if err != nil {
		return nil, err
	}
	return gin.H{"experiment_id": id}, nil
}

func bindExperimentID(rq *wire.Request) (string, error) {
	var req struct {
		ExperimentID any `json:"experiment_id"`
	}
	if err := rq.Bind(&req); err != nil {
		return "", err
	}
	id := idString(req.ExperimentID)
	if id == "" {
		return "", wire.Missing("experiment_id")
	}
	return id, nil
}

// idString accepts an experiment id sent as a string or a number.
func idString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatInt(int64(x), 10)
	}
	return ""
}

func (a *API) getExperiment(c *gin.Context, rq *wire.Request) (any, error) {
	id, err := bindExperimentID(rq)
	if err != nil {
		return nil, err
	}
	e, err := a.st.GetExperiment(c.Request.Context(), id)
	if err != nil {
		return nil, err
	}
	return gin.H{"experiment": experimentOut(e)}, nil
}

func (a *API) getExperimentByName(c *gin.Context, rq *wire.Request) (any, error) {
	var req struct {
		Name string `json:"experiment_name"`
	}
	if err := rq.Bind(&req); err != nil {
		return nil, err
	}
	if req.Name == "" {
		return nil, wire.Missing("experiment_name")
	}
	e, err := a.st.GetExperimentByName(c.Request.Context(), req.Name)
	if err != nil {
		return nil, err
	}
	return gin.H{"experiment": experimentOut(e)}, nil
}

func parseViewType(v string) (store.ViewType, error) {
	switch strings.ToUpper(v) {
	case "", "ACTIVE_ONLY", "1":
		return store.ActiveOnly, nil
	case "DELETED_ONLY", "2":
		return store.DeletedOnly, nil
	case "ALL", "3":
		return store.All, nil
	}
	return 0, apierr.New(apierr.InvalidParameterValue, "Invalid view type '%s'. Expected one of ACTIVE_ONLY, DELETED_ONLY, ALL.", v)
}

// enumString reads an enum sent as a name or a number.
type enumString string

func (e *enumString) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "null" {
		s = ""
	}
	*e = enumString(s)
	return nil
}

func (a *API) searchExperiments(c *gin.Context, rq *wire.Request) (any, error) {
	var req struct {
		MaxResults wire.Int64 `json:"max_results"`
		PageToken  string     `json:"page_token"`
		Filter     string     `json:"filter"`
		OrderBy    []string   `json:"order_by"`
		ViewType   enumString `json:"view_type"`
	}
	if err := rq.Bind(&req, "order_by"); err != nil {
		return nil, err
	}
	vt, err := parseViewType(string(req.ViewType))
	if err != nil {
		return nil, err
	}
	// As MLflow's: an absent max_results reads as 0 and is refused.
	if err := store.CheckMaxResults(int(req.MaxResults.V)); err != nil {
		return nil, err
	}
	ctx := c.Request.Context()
	in := store.SearchExperimentsInput{
		Filter: req.Filter, ViewType: vt, MaxResults: int(req.MaxResults.V), OrderBy: req.OrderBy, PageToken: req.PageToken,
	}
	exps, next, err := a.st.SearchExperiments(ctx, in)
	if err == nil && a.filter != nil {
		exps, next, err = search.Refill(exps, next, in.MaxResults, a.readableExperiments(ctx),
			func(tok string) ([]*store.Experiment, error) {
				in.PageToken = tok
				more, _, err := a.st.SearchExperiments(ctx, in)
				return more, err
			}, store.DecodePageToken)
	}
	if err != nil {
		return nil, err
	}
	out := struct {
		Experiments   []wExperiment `json:"experiments,omitempty"`
		NextPageToken string        `json:"next_page_token,omitempty"`
	}{NextPageToken: next}
	for _, e := range exps {
		out.Experiments = append(out.Experiments, experimentOut(e))
	}
	return out, nil
}

func (a *API) updateExperiment(c *gin.Context, rq *wire.Request) (any, error) {
	var req struct {
		ExperimentID any    `json:"experiment_id"`
		NewName      string `json:"new_name"`
	}
	if err := rq.Bind(&req); err != nil {
		return nil, err
	}
	id := idString(req.ExperimentID)
	if id == "" {
		return nil, wire.Missing("experiment_id")
	}
	if req.NewName == "" {
		return nil, wire.Missing("new_name")
	}
	if err := a.st.RenameExperiment(c.Request.Context(), id, req.NewName); err != nil {
		return nil, err
	}
	return nil, nil
}

func (a *API) deleteExperiment(c *gin.Context, rq *wire.Request) (any, error) {
	id, err := bindExperimentID(rq)
	if err != nil {
		return nil, err
	}
	if err := a.st.DeleteExperiment(c.Request.Context(), id); err != nil {
		return nil, err
	}
	return nil, nil
}

func (a *API) restoreExperiment(c *gin.Context, rq *wire.Request) (any, error) {
	id, err := bindExperimentID(rq)
	if err != nil {
		return nil, err
	}
	if err := a.st.RestoreExperiment(c.Request.Context(), id); err != nil {
		return nil, err
	}
	return nil, nil
}

func (a *API) setExperimentTag(c *gin.Context, rq *wire.Request) (any, error) {
	var req struct {
		ExperimentID any    `json:"experiment_id"`
		Key          string `json:"key"`
		Value        string `json:"value"`
	}
	if err := rq.Bind(&req); err != nil {
		return nil, err
	}
	id := idString(req.ExperimentID)
	if id == "" {
		return nil, wire.Missing("experiment_id")
	}
	if req.Key == "" {
		return nil, wire.Missing("key")
	}
	if err := a.st.SetExperimentTag(c.Request.Context(), id, store.Tag{Key: req.Key, Value: req.Value}); err != nil {
		return nil, err
	}
	return nil, nil
}

func (a *API) deleteExperimentTag(c *gin.Context, rq *wire.Request) (any, error) {
	var req struct {
		ExperimentID any    `json:"experiment_id"`
		Key          string `json:"key"`
	}
	if err := rq.Bind(&req); err != nil {
		return nil, err
	}
	id := idString(req.ExperimentID)
	if id == "" {
		return nil, wire.Missing("experiment_id")
	}
	if req.Key == "" {
		return nil, wire.Missing("key")
	}
	if err := a.st.DeleteExperimentTag(c.Request.Context(), id, req.Key); err != nil {
		return nil, err
	}
	return nil, nil
}

// readableExperiments keeps the experiments the caller may read (the
// basic-auth app's filter), for search.Refill.
func (a *API) readableExperiments(ctx context.Context) func([]*store.Experiment) []*store.Experiment {
	return func(exps []*store.Experiment) []*store.Experiment {
		return search.Thin(exps, func(e *store.Experiment) string { return e.ID },
			func(ids []string) []string { return a.filter(ctx, ids) })
	}
}
