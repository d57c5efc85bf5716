package server

import (
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/mlgate/mlgate/internal/wire"
	"github.com/mlgate/mlgate/registry/store"
)

func (h *handlers) createModelVersion(c *gin.Context, r *wire.Request) (any, error) {
	in := store.CreateVersion{SourceRegex: h.srcRegex}
	in.Name = r.Required("name")
	in.Source = r.Required("source")
	in.RunID, in.HasRunID = r.Str("run_id")
	in.ModelID, in.HasModelID = r.Str("model_id")
	in.RunLink = r.Optional("run_link")
	in.Description = r.Optional("description")
	in.Tags = tags(r)
	if err := r.Err(); err != nil {
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
func nameVersion(r *wire.Request) (string, string) {
	return r.Required("name"), r.Required("version")
}

func (h *handlers) getModelVersion(c *gin.Context, r *wire.Request) (any, error) {
	name, version := nameVersion(r)
	if err := r.Err(); err != nil {
		return nil, err
	}
	mv, err := h.st.GetModelVersion(c.Request.Context(), name, version)
	return mvResponse{mv}, err
}

func (h *handlers) updateModelVersion(c *gin.Context, r *wire.Request) (any, error) {
	name, version := nameVersion(r)
	desc, has := r.Str("description")
	if err := r.Err(); err != nil {
		return nil, err
	}
	var dp *string
	if has {
		dp = &desc
	}
	mv, err := h.st.UpdateModelVersion(c.Request.Context(), name, version, dp)
	return mvResponse{mv}, err
}

func (h *handlers) deleteModelVersion(c *gin.Context, r *wire.Request) (any, error) {
	name, version := nameVersion(r)
	if err := r.Err(); err != nil {
		return nil, err
	}
	return struct{}{}, h.st.DeleteModelVersion(c.Request.Context(), name, version)
}

func (h *handlers) searchModelVersions(c *gin.Context, r *wire.Request) (any, error) {
	filter := r.Optional("filter")
	maxResults := r.IntAtMost("max_results", store.SearchVersionsThreshold, store.SearchVersionsThreshold)
	orderBy := r.List("order_by")
	token := r.Optional("page_token")
	if err := r.Err(); err != nil {
		return nil, err
	}
	page, err := h.st.SearchModelVersions(c.Request.Context(), filter, maxResults, orderBy, token)
	if err != nil {
		return nil, err
	}
	return mvsResponse{page.Items, page.NextPageToken}, nil
}

func (h *handlers) transitionStage(c *gin.Context, r *wire.Request) (any, error) {
	name, version := nameVersion(r)
	stage := r.Required("stage")
	archive := r.Bool("archive_existing_versions")
	if err := r.Err(); err != nil {
		return nil, err
	}
	mv, err := h.st.TransitionModelVersionStage(c.Request.Context(), name, version, stage, archive)
	return mvResponse{mv}, err
}

func (h *handlers) getDownloadURI(c *gin.Context, r *wire.Request) (any, error) {
	name, version := nameVersion(r)
	if err := r.Err(); err != nil {
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
	name, version := nameVersion(r)
	key := r.Required("key")
	value := r.Optional("value")
	if err := r.Err(); err != nil {
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
	name, version := nameVersion(r)
	key := r.Required("key")
	if err := r.Err(); err != nil {
		return nil, err
	}
	if err := h.st.DeleteModelVersionTag(c.Request.Context(), name, version, key); err != nil {
		return nil, err
	}
	h.hooks.fire(c, name, store.WebhookEvent{Entity: "MODEL_VERSION_TAG", Action: "DELETED"},
		versionTagDeleted{Name: name, Version: version, Key: key})
	return struct{}{}, nil
}
