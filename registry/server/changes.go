package server

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/mlgate/mlgate/internal/wire"
	"github.com/mlgate/mlgate/registry/store"
)

// changesResponse answers a change poll: the current sequence and, for a
// model, the model as it is now (aliases and latest version per stage).
type changesResponse struct {
	ChangeSeq       int64                  `json:"change_seq"`
	RegisteredModel *store.RegisteredModel `json:"registered_model,omitempty"`
}

// since reads the caller's last seen sequence from ?since= or
// If-None-Match (an ETag this endpoint sent); -1 when absent.
func since(c *gin.Context) (int64, error) {
	if s := c.Query("since"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return 0, wire.Invalid("Invalid value %q for parameter 'since' supplied: expected a change sequence (a non-negative integer).", s)
		}
		return n, nil
	}
	if tag := strings.Trim(strings.TrimPrefix(c.GetHeader("If-None-Match"), "W/"), `"`); tag != "" {
		if n, err := strconv.ParseInt(tag, 10, 64); err == nil {
			return n, nil
		}
	}
	return -1, nil
}

// modelChanges is GET /api/2.0/mlgate/registered-models/changes?name=&since=.
// It answers 304 with no body when nothing touched the model since the
// given sequence (one indexed read), else 200 with the model and its new
// sequence, carried also in the ETag header.
func (h *handlers) modelChanges(c *gin.Context) error {
	name := c.Query("name")
	if name == "" {
		return wire.Missing("name")
	}
	last, err := since(c)
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	seq, err := h.st.ModelChangeSeq(ctx, name)
	if err != nil {
		return err
	}
	c.Header("ETag", `"`+strconv.FormatInt(seq, 10)+`"`)
	c.Header("Cache-Control", "no-cache")
	if last >= 0 && seq <= last {
		c.Status(http.StatusNotModified)
		return nil
	}
	rm, err := h.st.GetRegisteredModel(ctx, name)
	if err != nil {
		return err
	}
	return wire.OK(c, changesResponse{ChangeSeq: rm.ChangeSeq, RegisteredModel: rm})
}

// registryChanges is GET /api/2.0/mlgate/registry/changes?since=: the
// registry-wide sequence, 304 when nothing at all changed.
func (h *handlers) registryChanges(c *gin.Context) error {
	last, err := since(c)
	if err != nil {
		return err
	}
	seq, err := h.st.ChangeSeq(c.Request.Context())
	if err != nil {
		return err
	}
	c.Header("ETag", `"`+strconv.FormatInt(seq, 10)+`"`)
	c.Header("Cache-Control", "no-cache")
	if last >= 0 && seq <= last {
		c.Status(http.StatusNotModified)
		return nil
	}
	return wire.OK(c, changesResponse{ChangeSeq: seq})
}
