package server

import (
	"github.com/gin-gonic/gin"

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
	name, err := r.Required("name")
	if err != nil {
		return nil, err
	}
	tags, err := tags(r)
	if err != nil {
		return nil, err
	}
	desc, err := r.Optional("description")
	if err != nil {
		return nil, err
	}
	rm, err := h.st.CreateRegisteredModel(c.Request.Context(), name, tags, desc)
	if err != nil {
		return nil, err
	}
	h.hooks.fire(c, name, store.WebhookEvent{Entity: "REGISTERED_MODEL", Action: "CREATED"},
		registeredModelCreated{Name: name, Tags: tagMap(tags), Description: &desc})
	return rmResponse{rm}, nil
}

func (h *handlers) getRegisteredModel(c *gin.Context, r *wire.Request) (any, error) {
	name, err := r.Required("name")
	if err != nil {
		return nil, err
	}
	rm, err := h.st.GetRegisteredModel(c.Request.Context(), name)
	if err != nil {
		return nil, err
	}
	return rmResponse{rm}, nil
}

func (h *handlers) renameRegisteredModel(c *gin.Context, r *wire.Request) (any, error) {
	name, err := r.Required("name")
	if err != nil {
		return nil, err
	}
	newName, err := r.Required("new_name")
	if err != nil {
		return nil, err
	}
	rm, err := h.st.RenameRegisteredModel(c.Request.Context(), name, newName)
	if err != nil {
		return nil, err
	}
	return rmResponse{rm}, nil
}

func (h *handlers) updateRegisteredModel(c *gin.Context, r *wire.Request) (any, error) {
	name, err := r.Required("name")
	if err != nil {
		return nil, err
	}
	desc, err := r.Optional("description")
	if err != nil {
		return nil, err
	}
	rm, err := h.st.UpdateRegisteredModel(c.Request.Context(), name, desc)
	if err != nil {
		return nil, err
	}
	return rmResponse{rm}, nil
}

func (h *handlers) deleteRegisteredModel(c *gin.Context, r *wire.Request) (any, error) {
	name, err := r.Required("name")
	if err != nil {
		return nil, err
	}
	if err := h.st.DeleteRegisteredModel(c.Request.Context(), name); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

func (h *handlers) searchRegisteredModels(c *gin.Context, r *wire.Request) (any, error) {
	filter, err := r.Optional("filter")
	if err != nil {
		return nil, err
	}
	maxResults, err := r.Int("max_results", store.SearchModelsDefault)
	if err != nil {
		return nil, err
	}
	orderBy, err := r.List("order_by")
	if err != nil {
		return nil, err
	}
	token, err := r.Optional("page_token")
	if err != nil {
		return nil, err
	}
	page, err := h.st.SearchRegisteredModels(c.Request.Context(), filter, maxResults, orderBy, token)
	if err != nil {
		return nil, err
	}
	return rmsResponse{page.Items, page.NextPageToken}, nil
}

func (h *handlers) getLatestVersions(c *gin.Context, r *wire.Request) (any, error) {
	name, err := r.Required("name")
	if err != nil {
		return nil, err
	}
	stages, err := r.List("stages")
	if err != nil {
		return nil, err
	}
	mvs, err := h.st.GetLatestVersions(c.Request.Context(), name, stages)
	if err != nil {
		return nil, err
	}
	return mvsResponse{ModelVersions: mvs}, nil
}

func (h *handlers) setRegisteredModelTag(c *gin.Context, r *wire.Request) (any, error) {
	name, err := r.Required("name")
	if err != nil {
		return nil, err
	}
	key, err := r.Required("key")
	if err != nil {
		return nil, err
	}
	value, err := r.Optional("value")
	if err != nil {
		return nil, err
	}
	if err := h.st.SetRegisteredModelTag(c.Request.Context(), name, key, value); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

func (h *handlers) deleteRegisteredModelTag(c *gin.Context, r *wire.Request) (any, error) {
	name, err := r.Required("name")
	if err != nil {
		return nil, err
	}
	key, err := r.Required("key")
	if err != nil {
		return nil, err
	}
	if err := h.st.DeleteRegisteredModelTag(c.Request.Context(), name, key); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

func (h *handlers) setAlias(c *gin.Context, r *wire.Request) (any, error) {
	name, err := r.Required("name")
	if err != nil {
		return nil, err
	}
	alias, err := r.Required("alias")
	if err != nil {
		return nil, err
	}
	version, err := r.Required("version")
	if err != nil {
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
	name, err := r.Required("name")
	if err != nil {
		return nil, err
	}
	alias, err := r.Required("alias")
	if err != nil {
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
	name, err := r.Required("name")
	if err != nil {
		return nil, err
	}
	alias, err := r.Required("alias")
	if err != nil {
		return nil, err
	}
	mv, err := h.st.GetModelVersionByAlias(c.Request.Context(), name, alias)
	if err != nil {
		return nil, err
	}
	return mvResponse{mv}, nil
}
