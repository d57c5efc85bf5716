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

// v1Model answers whether the named model is ready: 200 {"name", "ready":
// true}, 503 while it loads or the server drains, 404 for another name.
func (s *Server) v1Model(c *gin.Context) error {
	name := c.Param("name")
	if strings.Contains(name, ":") {
		return apierr.New(apierr.ResourceDoesNotExist, "unknown path %s (KServe V1 serves GET /v1/models/NAME and POST /v1/models/NAME:predict)", c.Request.URL.Path)
	}
	h, err := s.v1Handle(name)
	if err != nil {
		return err
	}
	defer h.release()
	if s.draining.Load() {
		return apierr.New(apierr.TemporarilyUnavailable, "the server is shutting down")
	}
	c.JSON(http.StatusOK, gin.H{"name": h.m.Name, "ready": true})
	return nil
}

// v1Predict runs POST /v1/models/NAME:predict through /invocations (the
// canary split included). A body without a JSON content type is read as
// JSON, as KServe's servers do.
func (s *Server) v1Predict(c *gin.Context) error {
	name, ok := strings.CutSuffix(c.Param("name"), v1Predict)
	if !ok {
		return apierr.New(apierr.ResourceDoesNotExist, "unknown path %s (KServe V1 serves POST /v1/models/NAME:predict; :explain is not supported)", c.Request.URL.Path)
	}
	h, err := s.v1Handle(name)
	if err != nil {
		return err
	}
	h.release()
	if ct := c.GetHeader("Content-Type"); ct == "" || strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		c.Request.Header.Set("Content-Type", "application/json")
	}
	return s.invocations(c)
}

// v1Handle is the served model if name is its name.
func (s *Server) v1Handle(name string) (*handle, error) {
	if name != s.opts.Name {
		return nil, apierr.New(apierr.ResourceDoesNotExist, "model %s not found", name)
	}
	h := s.acquire(name)
	if h == nil {
		return nil, apierr.New(apierr.TemporarilyUnavailable, "model %s is not loaded", name)
	}
	return h, nil
}
