package apierr

import (
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"
)

// HandlerFunc is a gin handler that returns its error instead of writing it.
type HandlerFunc func(c *gin.Context) error

// Handle adapts h to gin: a returned error is rendered by Write, logged at a
// level chosen by its status (5xx error, 404 debug, other 4xx info).
func Handle(log *slog.Logger, h HandlerFunc) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := h(c); err != nil {
			Write(c, log, err)
		}
	}
}

// Write renders err as MLflow's JSON error body with its HTTP status and
// aborts the gin chain.
func Write(c *gin.Context, log *slog.Logger, err error) {
	e := From(err)
	status := e.HTTPStatus()
	if log != nil {
		level := slog.LevelInfo
		switch {
		case status >= http.StatusInternalServerError:
			level = slog.LevelError
		case status == http.StatusNotFound:
			level = slog.LevelDebug
		}
		log.Log(c.Request.Context(), level, "request failed",
			slog.String("path", c.Request.URL.Path), slog.Int("status", status),
			slog.String("error_code", string(e.Code)), slog.String("message", e.Message))
	}
	for k, v := range e.Headers {
		c.Header(k, v)
	}
	c.AbortWithStatusJSON(status, Body{ErrorCode: e.Code, Message: e.Message})
}
