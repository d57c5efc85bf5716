package registry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/mlgate/mlgate/rest"
)

const apiPrefix = "/api/2.0/mlflow"

// Client is the registry part of MLflow's MlflowClient over HTTP. It is safe
// for concurrent use.
type Client struct {
	t *rest.Transport
}

// NewClient returns a registry client over a transport (the registry URI
// defaults to the tracking URI in MLflow, so this is usually the tracking
// client's transport).
func NewClient(t *rest.Transport) *Client { return &Client{t: t} }

// Transport returns the client's transport.
func (c *Client) Transport() *rest.Transport { return c.t }

func (c *Client) call(ctx context.Context, method, path string, req, resp any) error {
	return c.t.Call(ctx, method, apiPrefix+path, req, resp)
}

func (c *Client) get(ctx context.Context, path string, q url.Values, resp any) error {
	return c.call(ctx, http.MethodGet, path, q, resp)
}

// CreateRegisteredModel creates a registered model.
func (c *Client) CreateRegisteredModel(ctx context.Context, name, description string, tags []Tag) (*RegisteredModel, error) {
	if name == "" {
		return nil, errors.New("registered model name must not be empty")
	}
	var resp struct {
		RegisteredModel *RegisteredModel `json:"registered_model"`
	}
	body := map[string]any{"name": name}
	if description != "" {
		body["description"] = description
	}
	if len(tags) > 0 {
		body["tags"] = tags
	}
	if err := c.call(ctx, http.MethodPost, "/registered-models/create", body, &resp); err != nil {
		return nil, err
	}
	return resp.RegisteredModel, nil
}

// GetRegisteredModel returns a registered model.
func (c *Client) GetRegisteredModel(ctx context.Context, name string) (*RegisteredModel, error) {
	var resp struct {
		RegisteredModel *RegisteredModel `json:"registered_model"`
	}
	if err := c.get(ctx, "/registered-models/get", url.Values{"name": {name}}, &resp); err != nil {
		return nil, err
	}
	return resp.RegisteredModel, nil
}

// RenameRegisteredModel renames a registered model.
func (c *Client) RenameRegisteredModel(ctx context.Context, name, newName string) (*RegisteredModel, error) {
	var resp struct {
		RegisteredModel *RegisteredModel `json:"registered_model"`
	}
	err := c.call(ctx, http.MethodPost, "/registered-models/rename", map[string]string{"name": name, "new_name": newName}, &resp)
	return resp.RegisteredModel, err
}

// UpdateRegisteredModel sets a registered model's description.
func (c *Client) UpdateRegisteredModel(ctx context.Context, name, description string) (*RegisteredModel, error) {
	var resp struct {
		RegisteredModel *RegisteredModel `json:"registered_model"`
	}
	err := c.call(ctx, http.MethodPatch, "/registered-models/update", map[string]string{"name": name, "description": description}, &resp)
	return resp.RegisteredModel, err
}

// DeleteRegisteredModel deletes a registered model and its versions.
func (c *Client) DeleteRegisteredModel(ctx context.Context, name string) error {
	return c.call(ctx, http.MethodDelete, "/registered-models/delete", map[string]string{"name": name}, nil)
}

// SearchRegisteredModels returns one page of registered models.
func (c *Client) SearchRegisteredModels(ctx context.Context, filter string, maxResults int, orderBy []string, pageToken string) ([]RegisteredModel, string, error) {
	q := url.Values{}
	if filter != "" {
		q.Set("filter", filter)
	}
	if maxResults > 0 {
		q.Set("max_results", strconv.Itoa(maxResults))
	}
	for _, o := range orderBy {
		q.Add("order_by", o)
	}
	if pageToken != "" {
		q.Set("page_token", pageToken)
	}
	var resp struct {
		RegisteredModels []RegisteredModel `json:"registered_models"`
		NextPageToken    string            `json:"next_page_token"`
	}
	err := c.get(ctx, "/registered-models/search", q, &resp)
	return resp.RegisteredModels, resp.NextPageToken, err
}

// GetLatestVersions returns the newest version in each of the stages (every
// stage when none are given). Like MLflow's client it tries POST and falls
// back to GET on ENDPOINT_NOT_FOUND.
func (c *Client) GetLatestVersions(ctx context.Context, name string, stages ...string) ([]ModelVersion, error) {
	var resp struct {
		ModelVersions []ModelVersion `json:"model_versions"`
	}
	body := map[string]any{"name": name}
	if len(stages) > 0 {
		body["stages"] = stages
	}
	err := c.call(ctx, http.MethodPost, "/registered-models/get-latest-versions", body, &resp)
	if rest.IsCode(err, "ENDPOINT_NOT_FOUND") {
		q := url.Values{"name": {name}}
		for _, s := range stages {
			q.Add("stages", s)
		}
		err = c.get(ctx, "/registered-models/get-latest-versions", q, &resp)
	}
	return resp.ModelVersions, err
}

// SetRegisteredModelTag sets a tag on a registered model.
func (c *Client) SetRegisteredModelTag(ctx context.Context, name, key, value string) error {
	return c.call(ctx, http.MethodPost, "/registered-models/set-tag", map[string]string{"name": name, "key": key, "value": value}, nil)
}

// DeleteRegisteredModelTag removes a tag from a registered model.
func (c *Client) DeleteRegisteredModelTag(ctx context.Context, name, key string) error {
	return c.call(ctx, http.MethodDelete, "/registered-models/delete-tag", map[string]string{"name": name, "key": key}, nil)
}

// SetRegisteredModelAlias points an alias at a version.
func (c *Client) SetRegisteredModelAlias(ctx context.Context, name, alias, version string) error {
	return c.call(ctx, http.MethodPost, "/registered-models/alias", map[string]string{"name": name, "alias": alias, "version": version}, nil)
}

// DeleteRegisteredModelAlias removes an alias.
func (c *Client) DeleteRegisteredModelAlias(ctx context.Context, name, alias string) error {
	return c.call(ctx, http.MethodDelete, "/registered-models/alias", map[string]string{"name": name, "alias": alias}, nil)
}

// GetModelVersionByAlias returns the version an alias points at.
func (c *Client) GetModelVersionByAlias(ctx context.Context, name, alias string) (*ModelVersion, error) {
	var resp struct {
		ModelVersion *ModelVersion `json:"model_version"`
	}
	if err := c.get(ctx, "/registered-models/alias", url.Values{"name": {name}, "alias": {alias}}, &resp); err != nil {
		return nil, err
	}
	return resp.ModelVersion, nil
}

// CreateVersionRequest describes a new model version.
type CreateVersionRequest struct {
	Name        string
	Source      string
	RunID       string
	Tags        []Tag
	RunLink     string
	Description string
	ModelID     string
}

// CreateModelVersion creates a model version.
func (c *Client) CreateModelVersion(ctx context.Context, req CreateVersionRequest) (*ModelVersion, error) {
	body := map[string]any{"name": req.Name, "source": req.Source}
	for k, v := range map[string]string{"run_id": req.RunID, "run_link": req.RunLink, "description": req.Description, "model_id": req.ModelID} {
		if v != "" {
			body[k] = v
		}
	}
	if len(req.Tags) > 0 {
		body["tags"] = req.Tags
	}
	var resp struct {
		ModelVersion *ModelVersion `json:"model_version"`
	}
	if err := c.call(ctx, http.MethodPost, "/model-versions/create", body, &resp); err != nil {
		return nil, err
	}
	return resp.ModelVersion, nil
}

// GetModelVersion returns a model version.
func (c *Client) GetModelVersion(ctx context.Context, name, version string) (*ModelVersion, error) {
	var resp struct {
		ModelVersion *ModelVersion `json:"model_version"`
	}
	if err := c.get(ctx, "/model-versions/get", url.Values{"name": {name}, "version": {version}}, &resp); err != nil {
		return nil, err
	}
	return resp.ModelVersion, nil
}

// UpdateModelVersion sets a version's description.
func (c *Client) UpdateModelVersion(ctx context.Context, name, version, description string) (*ModelVersion, error) {
	var resp struct {
		ModelVersion *ModelVersion `json:"model_version"`
	}
	err := c.call(ctx, http.MethodPatch, "/model-versions/update", map[string]string{"name": name, "version": version, "description": description}, &resp)
	return resp.ModelVersion, err
}

// DeleteModelVersion deletes a version.
func (c *Client) DeleteModelVersion(ctx context.Context, name, version string) error {
	return c.call(ctx, http.MethodDelete, "/model-versions/delete", map[string]string{"name": name, "version": version}, nil)
}

// SearchModelVersions returns one page of model versions.
func (c *Client) SearchModelVersions(ctx context.Context, filter string, maxResults int, orderBy []string, pageToken string) ([]ModelVersion, string, error) {
	q := url.Values{}
	if filter != "" {
		q.Set("filter", filter)
	}
	if maxResults > 0 {
		q.Set("max_results", strconv.Itoa(maxResults))
	}
	for _, o := range orderBy {
		q.Add("order_by", o)
	}
	if pageToken != "" {
		q.Set("page_token", pageToken)
	}
	var resp struct {
		ModelVersions []ModelVersion `json:"model_versions"`
		NextPageToken string         `json:"next_page_token"`
	}
	err := c.get(ctx, "/model-versions/search", q, &resp)
	return resp.ModelVersions, resp.NextPageToken, err
}

// TransitionModelVersionStage moves a version to a stage.
func (c *Client) TransitionModelVersionStage(ctx context.Context, name, version, stage string, archiveExisting bool) (*ModelVersion, error) {
	var resp struct {
		ModelVersion *ModelVersion `json:"model_version"`
	}
	err := c.call(ctx, http.MethodPost, "/model-versions/transition-stage", map[string]any{
		"name": name, "version": version, "stage": stage, "archive_existing_versions": archiveExisting,
	}, &resp)
	return resp.ModelVersion, err
}

// GetModelVersionDownloadURI returns where a version's files are.
func (c *Client) GetModelVersionDownloadURI(ctx context.Context, name, version string) (string, error) {
	var resp struct {
		ArtifactURI string `json:"artifact_uri"`
	}
	if err := c.get(ctx, "/model-versions/get-download-uri", url.Values{"name": {name}, "version": {version}}, &resp); err != nil {
		return "", err
	}
	return resp.ArtifactURI, nil
}

// SetModelVersionTag sets a tag on a version.
func (c *Client) SetModelVersionTag(ctx context.Context, name, version, key, value string) error {
	return c.call(ctx, http.MethodPost, "/model-versions/set-tag", map[string]string{"name": name, "version": version, "key": key, "value": value}, nil)
}

// DeleteModelVersionTag removes a tag from a version.
func (c *Client) DeleteModelVersionTag(ctx context.Context, name, version, key string) error {
	return c.call(ctx, http.MethodDelete, "/model-versions/delete-tag", map[string]string{"name": name, "version": version, "key": key}, nil)
}

// RegisterModel registers the model at source (a runs:/, models:/ or
// artifact URI) under name, creating the registered model when needed, and
// waits until the new version is READY (at most wait; 0 means 5 minutes).
func (c *Client) RegisterModel(ctx context.Context, source, name string, wait time.Duration) (*ModelVersion, error) {
	if _, err := c.CreateRegisteredModel(ctx, name, "", nil); err != nil && !rest.IsAlreadyExists(err) {
		return nil, fmt.Errorf("register model %q: %w", name, err)
	}
	req := CreateVersionRequest{Name: name, Source: source}
	if u, err := parseURI(source); err == nil && u.RunID != "" {
		req.RunID = u.RunID
		// As MLflow 3 does: register the run's artifact location when the
		// path exists there, else the run's logged model of that name.
		if uri, modelID, err := c.resolveRun(ctx, u.RunID, u.Path); err == nil {
			req.Source = uri
			if modelID != "" {
				req.Source, req.ModelID = "models:/"+modelID, modelID
			}
		}
	}
	mv, err := c.CreateModelVersion(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("register model %q from %s: %w", name, source, err)
	}
	if wait <= 0 {
		wait = 5 * time.Minute
	}
	deadline := time.Now().Add(wait)
	for mv.Status == "PENDING_REGISTRATION" {
		if time.Now().After(deadline) {
			return mv, fmt.Errorf("model %q version %s still pending after %s", name, mv.Version, wait)
		}
		select {
		case <-ctx.Done():
			return mv, ctx.Err()
		case <-time.After(time.Second):
		}
		if mv, err = c.GetModelVersion(ctx, name, mv.Version); err != nil {
			return nil, err
		}
	}
	if mv.Status == "FAILED_REGISTRATION" {
		return mv, fmt.Errorf("model %q version %s failed to register: %s", name, mv.Version, mv.StatusMessage)
	}
	return mv, nil
}
