package server

import (
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/mlgate/mlgate/internal/wire"
	"github.com/mlgate/mlgate/registry/store"
)

func (h *handlers) createModelVersion(c *gin.Context, r *wire.Request) (any, error) {
	var err error
	in := store.CreateVersion{SourceRegex: h.srcRegex}
	if in.Name, err = r.Required("name"); err != nil {
		return nil, err
	}
	if in.Source, err = r.Required("source"); err != nil {
		return nil, err
	}
	if in.RunID, in.HasRunID, err = r.Str("run_id"); err != nil {
		return nil, err
	}
	if in.ModelID, in.HasModelID, err = r.Str("model_id"); err != nil {
		return nil, err
	}
	if in.RunLink, err = r.Optional("run_link"); err != nil {
		return nil, err
	}
	if in.Description, err = r.Optional("description"); err != nil {
		return nil, err
	}
	if in.Tags, err = tags(r); err != nil {
		return nil, err
	}
	mv, err := h.st.CreateModelVersion(c.Request.Context(), in)
	if err != nil {
		return nil, err
	}
	runID := ""
	if mv.RunID != nil {
		runID = *mv.RunID
	}
	h.hooks.fire(c, in.Name, store.WebhookEvent{Entity: "MODEL_VERSION", Action: "CREATED"},
		modelVersionCreated{Name: in.Name, Version: strconv.FormatInt(mv.Version, 10), Source: mv.Source,
			RunID: strOrNil(runID), Tags: tagMap(in.Tags), Description: strOrNil(in.Description)})
	return mvResponse{mv}, nil
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

func (h *handlers) getModelVersion(c *gin.Context, r *wire.Request) (any, error) {
	name, version, err := nameVersion(r)
	if err != nil {
		return nil, err
	}
	mv, err := h.st.GetModelVersion(c.Request.Context(), name, version)
	if err != nil {
		return nil, err
	}
	return mvResponse{mv}, nil
}

func (h *handlers) updateModelVersion(c *gin.Context, r *wire.Request) (any, error) {
	name, version, err := nameVersion(r)
	if err != nil {
		return nil, err
	}
	desc, has, err := r.Str("description")
	if err != nil {
		return nil, err
	}
	var dp *string
	if has {
		dp = &desc
	}
	mv, err := h.st.UpdateModelVersion(c.Request.Context(), name, version, dp)
	if err != nil {
		return nil, err
	}
	return mvResponse{mv}, nil
}

func (h *handlers) deleteModelVersion(c *gin.Context, r *wire.Request) (any, error) {
	name, version, err := nameVersion(r)
	if err != nil {
		return nil, err
	}
	if err := h.st.DeleteModelVersion(c.Request.Context(), name, version); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

func (h *handlers) searchModelVersions(c *gin.Context, r *wire.Request) (any, error) {
	filter, err := r.Optional("filter")
	if err != nil {
		return nil, err
	}
	maxResults, err := r.Int("max_results", store.SearchVersionsThreshold)
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
	page, err := h.st.SearchModelVersions(c.Request.Context(), filter, maxResults, orderBy, token)
	if err != nil {
		return nil, err
	}
	return mvsResponse{page.Items, page.NextPageToken}, nil
}

func (h *handlers) transitionStage(c *gin.Context, r *wire.Request) (any, error) {
	name, version, err := nameVersion(r)
	if err != nil {
		return nil, err
	}
	stage, err := r.Required("stage")
	if err != nil {
		return nil, err
	}
	archive, err := r.Bool("archive_existing_versions")
	if err != nil {
		return nil, err
	}
	mv, err := h.st.TransitionModelVersionStage(c.Request.Context(), name, version, stage, archive)
	if err != nil {
		return nil, err
	}
	return mvResponse{mv}, nil
}

func (h *handlers) getDownloadURI(c *gin.Context, r *wire.Request) (any, error) {
	name, version, err := nameVersion(r)
	if err != nil {
		return nil, err
	}
	uri, err := h.st.GetModelVersionDownloadURI(c.Request.Context(), name, version)
	if err != nil {
		return nil, err
	}
	return struct {
		ArtifactURI string `json:"artifact_uri"`
	}{uri}, nil
}

func (h *handlers) setModelVersionTag(c *gin.Context, r *wire.Request) (any, error) {
	name, version, err := nameVersion(r)
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
	if err := h.st.SetModelVersionTag(c.Request.Context(), name, version, key, value); err != nil {
		return nil, err
	}
	h.hooks.fire(c, name, store.WebhookEvent{Entity: "MODEL_VERSION_TAG", Action: "SET"},
		versionTagSet{Name: name, Version: version, Key: key, Value: value})
	return struct{}{}, nil
}

func (h *handlers) deleteModelVersionTag(c *gin.Context, r *wire.Request) (any, error) {
	name, version, err := nameVersion(r)
	if err != nil {
		return nil, err
	}
	key, err := r.Required("key")
	if err != nil {
		return nil, err
	}
	if err := h.st.DeleteModelVersionTag(c.Request.Context(), name, version, key); err != nil {
		return nil, err
	}
	h.hooks.fire(c, name, store.WebhookEvent{Entity: "MODEL_VERSION_TAG", Action: "DELETED"},
		versionTagDeleted{Name: name, Version: version, Key: key})
	return struct{}{}, nil
}
