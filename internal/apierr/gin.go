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

// Write renders err with its HTTP status and aborts the gin chain: as
// MLflow's JSON error body, or in the form the *Error asks for (plain text,
// FastAPI's {"detail"}).
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
	c.Abort()
	switch e.Form {
	case FormPlain:
		ct := e.ContentType
		if ct == "" {
			ct = "text/plain; charset=utf-8"
		}
		c.Data(status, ct, []byte(e.Message))
	case FormDetail:
		d := detailBody{Detail: e.Message}
		writeJSON(c, status, &d, &d.Detail)
	default:
		b := e.Body()
		writeJSON(c, status, &b, &b.Message)
	}
}

// writeJSON writes v labelled "application/json" exactly, as MLflow's
// servers (Flask and FastAPI) label their error bodies; msg is v's message
// field (see MarshalLong).
func writeJSON(c *gin.Context, status int, v any, msg *string) {
	b, err := MarshalLong(v, msg)
	if err != nil { // the bodies are plain structs of strings: cannot happen
		b = []byte(`{"error_code":"INTERNAL_ERROR","message":"unencodable error"}`)
	}
	c.Data(status, "application/json", b)
}

// detailBody is FastAPI's error body.
type detailBody struct {
	Detail string `json:"detail"`
}
