package server

import (
	"context"

	"github.com/gin-gonic/gin"

	"github.com/mlgate/mlgate/internal/search"
	"github.com/mlgate/mlgate/internal/wire"
	"github.com/mlgate/mlgate/registry/store"
)

type rmResponse struct {
	RegisteredModel *store.RegisteredModel `json:"registered_model"`
}

type mvResponse struct {
	ModelVersion *store.ModelVersion `json:"model_version"`
}

type mvsResponse struct {
	ModelVersions []store.ModelVersion `json:"model_versions,omitempty"`
	NextPageToken string               `json:"next_page_token,omitempty"`
}

type rmsResponse struct {
	RegisteredModels []store.RegisteredModel `json:"registered_models,omitempty"`
	NextPageToken    string                  `json:"next_page_token,omitempty"`
}

func (h *handlers) createRegisteredModel(c *gin.Context, r *wire.Request) (any, error) {
	name := r.Required("name")
	tg := tags(r)
	desc := r.Optional("description")
	if err := r.Err(); err != nil {
		return nil, err
	}
	rm, err := h.st.CreateRegisteredModel(c.Request.Context(), name, tg, desc)
	if err != nil {
		return nil, err
	}
	h.hooks.fire(c, name, store.WebhookEvent{Entity: "REGISTERED_MODEL", Action: "CREATED"},
		registeredModelCreated{Name: name, Tags: tagMap(tg), Description: &desc})
	return rmResponse{rm}, nil
}

func (h *handlers) getRegisteredModel(c *gin.Context, r *wire.Request) (any, error) {
	name := r.Required("name")
	if err := r.Err(); err != nil {
		return nil, err
	}
	rm, err := h.st.GetRegisteredModel(c.Request.Context(), name)
	return rmResponse{rm}, err
}

func (h *handlers) renameRegisteredModel(c *gin.Context, r *wire.Request) (any, error) {
	name := r.Required("name")
	newName := r.Required("new_name")
	if err := r.Err(); err != nil {
		return nil, err
	}
	rm, err := h.st.RenameRegisteredModel(c.Request.Context(), name, newName)
	return rmResponse{rm}, err
}

func (h *handlers) updateRegisteredModel(c *gin.Context, r *wire.Request) (any, error) {
	name := r.Required("name")
	desc := r.Optional("description")
	if err := r.Err(); err != nil {
		return nil, err
	}
	rm, err := h.st.UpdateRegisteredModel(c.Request.Context(), name, desc)
	return rmResponse{rm}, err
}

func (h *handlers) deleteRegisteredModel(c *gin.Context, r *wire.Request) (any, error) {
	name := r.Required("name")
	if err := r.Err(); err != nil {
		return nil, err
	}
	return struct{}{}, h.st.DeleteRegisteredModel(c.Request.Context(), name)
}

func (h *handlers) searchRegisteredModels(c *gin.Context, r *wire.Request) (any, error) {
	filter := r.Optional("filter")
	maxResults := r.IntAtMost("max_results", store.SearchModelsDefault, store.SearchModelsThreshold)
	orderBy := r.List("order_by")
	token := r.Optional("page_token")
	if err := r.Err(); err != nil {
		return nil, err
	}
	ctx := c.Request.Context()
	page, err := h.st.SearchRegisteredModels(ctx, filter, maxResults, orderBy, token)
	if err != nil {
		return nil, err
	}
	items, next := page.Items, page.NextPageToken
	if h.filterModels != nil {
		items, next, err = search.Refill(items, next, maxResults, h.readableModels(ctx),
			func(tok string) ([]store.RegisteredModel, error) {
				more, err := h.st.SearchRegisteredModels(ctx, filter, maxResults, orderBy, tok)
				if err != nil {
					return nil, err
				}
				return more.Items, nil
			}, store.ParsePageToken)
		if err != nil {
			return nil, err
		}
	}
	return rmsResponse{items, next}, nil
}

// readableModels keeps the registered models the caller may read (the
// basic-auth app's filter), for search.Refill.
func (h *handlers) readableModels(ctx context.Context) func([]store.RegisteredModel) []store.RegisteredModel {
	return func(ms []store.RegisteredModel) []store.RegisteredModel {
		return search.Thin(ms, func(m store.RegisteredModel) string { return m.Name },
			func(names []string) []string { return h.filterModels(ctx, names) })
	}
}

func (h *handlers) getLatestVersions(c *gin.Context, r *wire.Request) (any, error) {
	name := r.Required("name")
	stages := r.List("stages")
	if err := r.Err(); err != nil {
		return nil, err
	}
	mvs, err := h.st.GetLatestVersions(c.Request.Context(), name, stages)
	return mvsResponse{ModelVersions: mvs}, err
}

func (h *handlers) setRegisteredModelTag(c *gin.Context, r *wire.Request) (any, error) {
	name := r.Required("name")
	key := r.Required("key")
	value := r.Optional("value")
	if err := r.Err(); err != nil {
		return nil, err
	}
	return struct{}{}, h.st.SetRegisteredModelTag(c.Request.Context(), name, key, value)
}

func (h *handlers) deleteRegisteredModelTag(c *gin.Context, r *wire.Request) (any, error) {
	name := r.Required("name")
	key := r.Required("key")
	if err := r.Err(); err != nil {
		return nil, err
	}
	return struct{}{}, h.st.DeleteRegisteredModelTag(c.Request.Context(), name, key)
}

func (h *handlers) setAlias(c *gin.Context, r *wire.Request) (any, error) {
	name := r.Required("name")
	alias := r.Required("alias")
	version := r.Required("version")
	if err := r.Err(); err != nil {
		return nil, err
	}
	if err := h.st.SetRegisteredModelAlias(c.Request.Context(), name, alias, version); err != nil {
		return nil, err
	}
	h.hooks.fire(c, name, store.WebhookEvent{Entity: "MODEL_VERSION_ALIAS", Action: "CREATED"},
		aliasCreated{Name: name, Alias: alias, Version: version})
	return struct{}{}, nil
}

func (h *handlers) deleteAlias(c *gin.Context, r *wire.Request) (any, error) {
	name := r.Required("name")
	alias := r.Required("alias")
	if err := r.Err(); err != nil {
		return nil, err
	}
	if err := h.st.DeleteRegisteredModelAlias(c.Request.Context(), name, alias); err != nil {
		return nil, err
	}
	h.hooks.fire(c, name, store.WebhookEvent{Entity: "MODEL_VERSION_ALIAS", Action: "DELETED"},
		aliasDeleted{Name: name, Alias: alias})
	return struct{}{}, nil
}

func (h *handlers) getByAlias(c *gin.Context, r *wire.Request) (any, error) {
	name := r.Required("name")
	alias := r.Required("alias")
	if err := r.Err(); err != nil {
		return nil, err
	}
	mv, err := h.st.GetModelVersionByAlias(c.Request.Context(), name, alias)
	return mvResponse{mv}, err
}
