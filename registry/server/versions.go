package server

import (
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/mlgate/mlgate/internal/wire"
	"github.com/mlgate/mlgate/registry/store"
)

func (h *handlers) createModelVersion(c *gin.Context) error {
	r, err := reader.Read(c)
	if err != nil {
		return err
	}
	in := store.CreateVersion{SourceRegex: h.srcRegex}
	if in.Name, err = r.Required("name"); err != nil {
		return err
	}
	if in.Source, err = r.Required("source"); err != nil {
		return err
	}
	if in.RunID, in.HasRunID, err = r.Str("run_id"); err != nil {
		return err
	}
	if in.ModelID, in.HasModelID, err = r.Str("model_id"); err != nil {
		return err
	}
	if in.RunLink, err = r.Optional("run_link"); err != nil {
		return err
	}
	if in.Description, err = r.Optional("description"); err != nil {
		return err
	}
	if in.Tags, err = tags(r); err != nil {
		return err
	}
	mv, err := h.st.CreateModelVersion(c.Request.Context(), in)
	if err != nil {
		return err
	}
	runID := ""
	if mv.RunID != nil {
		runID = *mv.RunID
	}
	h.hooks.fire(c, in.Name, store.WebhookEvent{Entity: "MODEL_VERSION", Action: "CREATED"},
		modelVersionCreated{Name: in.Name, Version: strconv.FormatInt(mv.Version, 10), Source: mv.Source,
			RunID: strOrNil(runID), Tags: tagMap(in.Tags), Description: strOrNil(in.Description)})
	return wire.OK(c, mvResponse{mv})
}

// nameVersion reads the two required fields of every version endpoint.
func nameVersion(r *wire.Request) (string, string, error) {
	name, err := r.Required("name")
	if err != nil {
		return "", "", err
	}
	version, err := r.Required("version")
	return name, version, err
}

func (h *handlers) getModelVersion(c *gin.Context) error {
	r, err := reader.Read(c)
	if err != nil {
		return err
	}
	name, version, err := nameVersion(r)
	if err != nil {
		return err
	}
	mv, err := h.st.GetModelVersion(c.Request.Context(), name, version)
	if err != nil {
		return err
	}
	return wire.OK(c, mvResponse{mv})
}

func (h *handlers) updateModelVersion(c *gin.Context) error {
	r, err := reader.Read(c)
	if err != nil {
		return err
	}
	name, version, err := nameVersion(r)
	if err != nil {
		return err
	}
	desc, has, err := r.Str("description")
	if err != nil {
		return err
	}
	var dp *string
	if has {
		dp = &desc
	}
	mv, err := h.st.UpdateModelVersion(c.Request.Context(), name, version, dp)
	if err != nil {
		return err
	}
	return wire.OK(c, mvResponse{mv})
}

func (h *handlers) deleteModelVersion(c *gin.Context) error {
	r, err := reader.Read(c)
	if err != nil {
		return err
	}
	name, version, err := nameVersion(r)
	if err != nil {
		return err
	}
	if err := h.st.DeleteModelVersion(c.Request.Context(), name, version); err != nil {
		return err
	}
	return wire.OK(c, struct{}{})
}

func (h *handlers) searchModelVersions(c *gin.Context) error {
	r, err := reader.Read(c)
	if err != nil {
		return err
	}
	filter, err := r.Optional("filter")
	if err != nil {
		return err
	}
	maxResults, err := r.Int("max_results", store.SearchVersionsThreshold)
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
	page, err := h.st.SearchModelVersions(c.Request.Context(), filter, maxResults, orderBy, token)
	if err != nil {
		return err
	}
	return wire.OK(c, mvsResponse{page.Items, page.NextPageToken})
}

func (h *handlers) transitionStage(c *gin.Context) error {
	r, err := reader.Read(c)
	if err != nil {
		return err
	}
	name, version, err := nameVersion(r)
	if err != nil {
		return err
	}
	stage, err := r.Required("stage")
	if err != nil {
		return err
	}
	archive, err := r.Bool("archive_existing_versions")
	if err != nil {
		return err
	}
	mv, err := h.st.TransitionModelVersionStage(c.Request.Context(), name, version, stage, archive)
	if err != nil {
		return err
	}
	return wire.OK(c, mvResponse{mv})
}

func (h *handlers) getDownloadURI(c *gin.Context) error {
	r, err := reader.Read(c)
	if err != nil {
		return err
	}
	name, version, err := nameVersion(r)
	if err != nil {
		return err
	}
	uri, err := h.st.GetModelVersionDownloadURI(c.Request.Context(), name, version)
	if err != nil {
		return err
	}
	return wire.OK(c, struct {
		ArtifactURI string `json:"artifact_uri"`
	}{uri})
}

func (h *handlers) setModelVersionTag(c *gin.Context) error {
	r, err := reader.Read(c)
	if err != nil {
		return err
	}
	name, version, err := nameVersion(r)
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
	if err := h.st.SetModelVersionTag(c.Request.Context(), name, version, key, value); err != nil {
		return err
	}
	h.hooks.fire(c, name, store.WebhookEvent{Entity: "MODEL_VERSION_TAG", Action: "SET"},
		versionTagSet{Name: name, Version: version, Key: key, Value: value})
	return wire.OK(c, struct{}{})
}

func (h *handlers) deleteModelVersionTag(c *gin.Context) error {
	r, err := reader.Read(c)
	if err != nil {
		return err
	}
	name, version, err := nameVersion(r)
	if err != nil {
		return err
	}
	key, err := r.Required("key")
	if err != nil {
		return err
	}
	if err := h.st.DeleteModelVersionTag(c.Request.Context(), name, version, key); err != nil {
		return err
	}
	h.hooks.fire(c, name, store.WebhookEvent{Entity: "MODEL_VERSION_TAG", Action: "DELETED"},
		versionTagDeleted{Name: name, Version: version, Key: key})
	return wire.OK(c, struct{}{})
}
