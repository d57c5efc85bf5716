package serve

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/mlgate/mlgate/internal/apierr"
)

// KServe's V1 inference protocol: GET /v1/models, GET /v1/models/NAME
// (readiness) and POST /v1/models/NAME:predict, whose {"instances": ...}
// body and {"predictions": ...} answer are MLflow's /invocations format
// for instances. Errors take the Open Inference Protocol's shape, as
// KServe's own servers answer them.

const v1Predict = ":predict"

func (s *Server) v1Models(c *gin.Context) error {
	names := []string{}
	if h := s.acquire(s.opts.Name); h != nil {
		names = append(names, h.m.Name)
		h.release()
	}
	c.JSON(http.StatusOK, gin.H{"models": names})
	return nil
}

// v1Model answers whether the named model is ready, as the Open
// Inference Protocol's model readiness does: 200 {"name", "ready": true},
// 503 while it loads or the server drains, 404 for another name.
func (s *Server) v1Model(c *gin.Context) error {
	if strings.Contains(c.Param("name"), ":") {
		return apierr.New(apierr.ResourceDoesNotExist, "unknown path %s (KServe V1 serves GET /v1/models/NAME and POST /v1/models/NAME:predict)", c.Request.URL.Path)
	}
	return s.oipModelReady(c)
}

// v1Predict runs POST /v1/models/NAME:predict through /invocations (the
// canary split included). A body without a JSON content type is read as
// JSON, as KServe's servers do.
func (s *Server) v1Predict(c *gin.Context) error {
	name, ok := strings.CutSuffix(c.Param("name"), v1Predict)
	if !ok {
		return apierr.New(apierr.ResourceDoesNotExist, "unknown path %s (KServe V1 serves POST /v1/models/NAME:predict; :explain is not supported)", c.Request.URL.Path)
	}
	if name != s.opts.Name {
		return apierr.New(apierr.ResourceDoesNotExist, "model %s not found", name)
	}
	if ct := c.GetHeader("Content-Type"); ct == "" || strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		c.Request.Header.Set("Content-Type", "application/json")
	}
	return s.invocations(c)
}
