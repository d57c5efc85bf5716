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

func (h *handlers) createRegisteredModel(c *gin.Context) error {
	r, err := reader.Read(c)
	if err != nil {
		return err
	}
	name, err := r.Required("name")
	if err != nil {
		return err
	}
	tags, err := tags(r)
	if err != nil {
		return err
	}
	desc, err := r.Optional("description")
	if err != nil {
		return err
	}
	rm, err := h.st.CreateRegisteredModel(c.Request.Context(), name, tags, desc)
	if err != nil {
		return err
	}
	h.hooks.fire(c, name, store.WebhookEvent{Entity: "REGISTERED_MODEL", Action: "CREATED"},
		registeredModelCreated{Name: name, Tags: tagMap(tags), Description: &desc})
	return wire.OK(c, rmResponse{rm})
}

func (h *handlers) getRegisteredModel(c *gin.Context) error {
	r, err := reader.Read(c)
	if err != nil {
		return err
	}
	name, err := r.Required("name")
	if err != nil {
		return err
	}
	rm, err := h.st.GetRegisteredModel(c.Request.Context(), name)
	if err != nil {
		return err
	}
	return wire.OK(c, rmResponse{rm})
}

func (h *handlers) renameRegisteredModel(c *gin.Context) error {
	r, err := reader.Read(c)
	if err != nil {
		return err
	}
	name, err := r.Required("name")
	if err != nil {
		return err
	}
	newName, err := r.Required("new_name")
	if err != nil {
		return err
	}
	rm, err := h.st.RenameRegisteredModel(c.Request.Context(), name, newName)
	if err != nil {
		return err
	}
	return wire.OK(c, rmResponse{rm})
}

func (h *handlers) updateRegisteredModel(c *gin.Context) error {
	r, err := reader.Read(c)
	if err != nil {
		return err
	}
	name, err := r.Required("name")
	if err != nil {
		return err
	}
	desc, err := r.Optional("description")
	if err != nil {
		return err
	}
	rm, err := h.st.UpdateRegisteredModel(c.Request.Context(), name, desc)
	if err != nil {
		return err
	}
	return wire.OK(c, rmResponse{rm})
}

func (h *handlers) deleteRegisteredModel(c *gin.Context) error {
	r, err := reader.Read(c)
	if err != nil {
		return err
	}
	name, err := r.Required("name")
	if err != nil {
		return err
	}
	if err := h.st.DeleteRegisteredModel(c.Request.Context(), name); err != nil {
		return err
	}
	return wire.OK(c, struct{}{})
}

func (h *handlers) searchRegisteredModels(c *gin.Context) error {
	r, err := reader.Read(c)
	if err != nil {
		return err
	}
	filter, err := r.Optional("filter")
	if err != nil {
		return err
	}
	maxResults, err := r.Int("max_results", store.SearchModelsDefault)
	if err != nil {
		return err
	}
	orderBy, err := r.List("order_by")
	if err != nil {
		return err
	}
	token, err := r.Optional("page_token")
	if err != nil {
		return err
	}
	page, err := h.st.SearchRegisteredModels(c.Request.Context(), filter, maxResults, orderBy, token)
	if err != nil {
		return err
	}
	return wire.OK(c, rmsResponse{page.Items, page.NextPageToken})
}

func (h *handlers) getLatestVersions(c *gin.Context) error {
	r, err := reader.Read(c)
	if err != nil {
		return err
	}
	name, err := r.Required("name")
	if err != nil {
		return err
	}
	stages, err := r.List("stages")
	if err != nil {
		return err
	}
	mvs, err := h.st.GetLatestVersions(c.Request.Context(), name, stages)
	if err != nil {
		return err
	}
	return wire.OK(c, mvsResponse{ModelVersions: mvs})
}

func (h *handlers) setRegisteredModelTag(c *gin.Context) error {
	r, err := reader.Read(c)
	if err != nil {
		return err
	}
	name, err := r.Required("name")
	if err != nil {
		return err
	}
	key, err := r.Required("key")
	if err != nil {
		return err
	}
	value, err := r.Optional("value")
	if err != nil {
		return err
	}
	if err := h.st.SetRegisteredModelTag(c.Request.Context(), name, key, value); err != nil {
		return err
	}
	return wire.OK(c, struct{}{})
}

func (h *handlers) deleteRegisteredModelTag(c *gin.Context) error {
	r, err := reader.Read(c)
	if err != nil {
		return err
	}
	name, err := r.Required("name")
	if err != nil {
		return err
	}
	key, err := r.Required("key")
	if err != nil {
		return err
	}
	if err := h.st.DeleteRegisteredModelTag(c.Request.Context(), name, key); err != nil {
		return err
	}
	return wire.OK(c, struct{}{})
}

func (h *handlers) setAlias(c *gin.Context) error {
	r, err := reader.Read(c)
	if err != nil {
		return err
	}
	name, err := r.Required("name")
	if err != nil {
		return err
	}
	alias, err := r.Required("alias")
	if err != nil {
		return err
	}
	version, err := r.Required("version")
	if err != nil {
		return err
	}
	if err := h.st.SetRegisteredModelAlias(c.Request.Context(), name, alias, version); err != nil {
		return err
	}
	h.hooks.fire(c, name, store.WebhookEvent{Entity: "MODEL_VERSION_ALIAS", Action: "CREATED"},
		aliasCreated{Name: name, Alias: alias, Version: version})
	return wire.OK(c, struct{}{})
}

func (h *handlers) deleteAlias(c *gin.Context) error {
	r, err := reader.Read(c)
	if err != nil {
		return err
	}
	name, err := r.Required("name")
	if err != nil {
		return err
	}
	alias, err := r.Required("alias")
	if err != nil {
		return err
	}
	if err := h.st.DeleteRegisteredModelAlias(c.Request.Context(), name, alias); err != nil {
		return err
	}
	h.hooks.fire(c, name, store.WebhookEvent{Entity: "MODEL_VERSION_ALIAS", Action: "DELETED"},
		aliasDeleted{Name: name, Alias: alias})
	return wire.OK(c, struct{}{})
}

func (h *handlers) getByAlias(c *gin.Context) error {
	r, err := reader.Read(c)
	if err != nil {
		return err
	}
	name, err := r.Required("name")
	if err != nil {
		return err
	}
	alias, err := r.Required("alias")
	if err != nil {
		return err
	}
	mv, err := h.st.GetModelVersionByAlias(c.Request.Context(), name, alias)
	if err != nil {
		return err
	}
	return wire.OK(c, mvResponse{mv})
}
