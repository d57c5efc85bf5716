package proxy

import (
	"context"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"path"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/mlgate/mlgate/artifacts"
	"github.com/mlgate/mlgate/internal/apierr"
	"github.com/mlgate/mlgate/internal/wire"
)

// Options configure the artifact routes.
type Options struct {
	// Resolver maps artifact URIs to repos. Resolver.Proxy nil disables the
	// mlflow-artifacts routes (503), like --no-serve-artifacts.
	Resolver *Resolver
	// RunArtifactURI returns a run's artifact_uri.
	RunArtifactURI func(ctx context.Context, runID string) (string, error)
	// ModelVersionURI returns a model version's artifact location (the
	// registry's download URI); nil answers 404 for that route.
	ModelVersionURI func(ctx context.Context, name, version string) (string, error)
	// LoggedModelURI returns a logged model's artifact_uri; nil answers 404
	// for /logged-models/{id}/artifacts/directories.
	LoggedModelURI func(ctx context.Context, modelID string) (string, error)
	Logger         *slog.Logger
}

// Handlers serves the artifact routes.
type Handlers struct {
	o   Options
	log *slog.Logger
}

// NewHandlers returns the artifact route handlers.
func NewHandlers(o Options) *Handlers {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Handlers{o: o, log: log}
}

// Mount registers the artifact routes on r with the given middlewares:
// write routes get write, read routes get read.
func (h *Handlers) Mount(r gin.IRouter, read, write []gin.HandlerFunc) {
	w := func(f apierr.HandlerFunc) []gin.HandlerFunc {
		return append(append([]gin.HandlerFunc{}, write...), apierr.Handle(h.log, f))
	}
	rd := func(f apierr.HandlerFunc) []gin.HandlerFunc {
		return append(append([]gin.HandlerFunc{}, read...), apierr.Handle(h.log, f))
	}
	for _, p := range []string{"/api/2.0", "/ajax-api/2.0"} {
		r.GET(p+"/mlflow-artifacts/artifacts", rd(h.listProxy)...)
		r.GET(p+"/mlflow-artifacts/artifacts/*path", rd(h.getProxy)...)
		r.PUT(p+"/mlflow-artifacts/artifacts/*path", w(h.putProxy)...)
		r.DELETE(p+"/mlflow-artifacts/artifacts/*path", w(h.deleteProxy)...)
		for _, op := range []string{"create", "complete", "abort"} {
			r.POST(p+"/mlflow-artifacts/mpu/"+op+"/*path", w(h.multipart)...)
		}
		r.GET(p+"/mlflow/artifacts/list", rd(h.listRun)...)
		r.GET(p+"/mlflow/logged-models/:model_id/artifacts/directories", rd(h.listLoggedModel)...)
	}
	r.GET("/get-artifact", rd(h.getRunArtifact)...)
	r.GET("/model-versions/get-artifact", rd(h.getModelVersionArtifact)...)
}

func (h *Handlers) proxy() (artifacts.Repo, error) {
	if h.o.Resolver == nil || h.o.Resolver.Proxy == nil {
		return nil, &apierr.Error{Code: apierr.TemporarilyUnavailable, Status: http.StatusServiceUnavailable,
			Message: "This endpoint is only available when the server runs with artifact serving enabled (--serve-artifacts)."}
	}
	return h.o.Resolver.Proxy, nil
}

func wildcard(c *gin.Context) (string, error) {
	return cleanPath(strings.TrimPrefix(c.Param("path"), "/"))
}

// cleanPath is artifacts.CleanPath answering MLflow's "Invalid path".
func cleanPath(p string) (string, error) {
	c, err := artifacts.CleanPath(p)
	if err != nil {
		return "", wire.BadPath()
	}
	return c, nil
}

func (h *Handlers) getProxy(c *gin.Context) error {
	repo, rel, err := h.proxyPath(c)
	if err != nil {
		return err
	}
	if rel == "" {
		return h.listProxy(c)
	}
	return serveFile(c, repo, rel)
}

// proxyPath returns the proxy repo and the cleaned path of the route.
func (h *Handlers) proxyPath(c *gin.Context) (artifacts.Repo, string, error) {
	repo, err := h.proxy()
	if err != nil {
		return nil, "", err
	}
	rel, err := wildcard(c)
	return repo, rel, err
}

// written answers a write that succeeded, or the error.
func written(c *gin.Context, err error) error {
	if err != nil {
		return err
	}
	c.Data(http.StatusOK, "application/json", []byte("{}"))
	return nil
}

func serveFile(c *gin.Context, repo artifacts.Repo, rel string) error {
	rc, size, err := repo.Open(c.Request.Context(), rel)
	if err != nil {
		return err
	}
	defer func() { _ = rc.Close() }()
	ct := artifacts.DownloadType(rel)
	c.Header("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": path.Base(rel)}))
	c.Header("X-Content-Type-Options", "nosniff")
	c.DataFromReader(http.StatusOK, size, ct, rc, nil)
	return nil
}

func (h *Handlers) putProxy(c *gin.Context) error {
	repo, rel, err := h.proxyPath(c)
	if err != nil {
		return err
	}
	if rel == "" {
		return apierr.New(apierr.InvalidParameterValue, "Invalid path: %q. A file path is required.", c.Param("path"))
	}
	return written(c, repo.Put(c.Request.Context(), rel, c.Request.Body, c.Request.ContentLength))
}

func (h *Handlers) deleteProxy(c *gin.Context) error {
	repo, rel, err := h.proxyPath(c)
	if err != nil {
		return err
	}
	if rel == "" {
		return apierr.New(apierr.InvalidParameterValue, "Invalid path: %q. The artifact root cannot be deleted.", c.Param("path"))
	}
	return written(c, repo.Delete(c.Request.Context(), rel))
}

type wFile struct {
	Path     string `json:"path"`
	IsDir    bool   `json:"is_dir"`
	FileSize *int64 `json:"file_size,omitempty"`
}

func filesOut(fs []artifacts.Entry, base bool) []wFile {
	out := make([]wFile, 0, len(fs))
	for _, f := range fs {
		w := wFile{Path: f.Path, IsDir: f.IsDir}
		if base {
			w.Path = path.Base(f.Path)
		}
		if !f.IsDir && f.Size >= 0 {
			size := f.Size
			w.FileSize = &size
		}
		out = append(out, w)
	}
	return out
}

func (h *Handlers) listProxy(c *gin.Context) error {
	repo, err := h.proxy()
	if err != nil {
		return err
	}
	rel, err := cleanPath(c.Query("path"))
	if err != nil {
		return err
	}
	fs, err := repo.List(c.Request.Context(), rel)
	if err != nil {
		return err
	}
	if len(fs) == 0 {
		c.Data(http.StatusOK, "application/json", []byte("{}"))
		return nil
	}
	c.JSON(http.StatusOK, gin.H{"files": filesOut(fs, true)})
	return nil
}

func (h *Handlers) multipart(*gin.Context) error {
	return apierr.New(apierr.NotImplemented, "Multipart upload is not supported for the current artifact repository")
}

func (h *Handlers) runRepo(c *gin.Context, runID string) (artifacts.Repo, string, error) {
	if runID == "" {
		return nil, "", apierr.New(apierr.InvalidParameterValue, "Missing value for required parameter 'run_id'. See the API docs for more information about request parameters.")
	}
	uri, err := h.o.RunArtifactURI(c.Request.Context(), runID)
	if err != nil {
		return nil, "", err
	}
	repo, err := h.resolve(c.Request.Context(), uri)
	return repo, uri, err
}

func (h *Handlers) resolve(ctx context.Context, uri string) (artifacts.Repo, error) {
	if rest, ok := strings.CutPrefix(uri, "runs:/"); ok { // runs:/<run_id>/<path>
		runID, sub, _ := strings.Cut(strings.TrimPrefix(rest, "/"), "/")
		runURI, err := h.o.RunArtifactURI(ctx, runID)
		if err != nil {
			return nil, err
		}
		p, err := cleanPath(sub)
		if err != nil {
			return nil, err
		}
		repo, err := h.resolve(ctx, runURI)
		if err != nil {
			return nil, err
		}
		return artifacts.Sub(repo, p)
	}
	repo, err := h.o.Resolver.Resolve(ctx, uri)
	var se *artifacts.StoreError
	switch {
	case errors.Is(err, ErrNoProxy):
		return nil, &apierr.Error{Code: apierr.TemporarilyUnavailable, Status: http.StatusServiceUnavailable, Message: err.Error()}
	case errors.As(err, &se):
		return nil, err // names the store, with its own code
	case err != nil:
		return nil, apierr.Wrap(apierr.InvalidParameterValue, err)
	}
	return repo, nil
}

func runID(c *gin.Context) string {
	if id := c.Query("run_id"); id != "" {
		return id
	}
	return c.Query("run_uuid")
}

// filePath is the cleaned, required "path" query parameter.
func filePath(c *gin.Context) (string, error) {
	rel, err := cleanPath(c.Query("path"))
	if err == nil && rel == "" {
		err = apierr.New(apierr.InvalidParameterValue, "Missing value for required parameter 'path'. See the API docs for more information about request parameters.")
	}
	return rel, err
}

// listing answers the entries of rel in repo, rooted at uri.
func listing(c *gin.Context, repo artifacts.Repo, uri, rel string) error {
	fs, err := repo.List(c.Request.Context(), rel)
	if err != nil {
		return err
	}
	out := gin.H{"root_uri": uri}
	if len(fs) > 0 {
		out["files"] = filesOut(fs, false)
	}
	c.JSON(http.StatusOK, out)
	return nil
}

func (h *Handlers) listRun(c *gin.Context) error {
	rel, err := cleanPath(c.Query("path"))
	if err != nil {
		return err
	}
	repo, uri, err := h.runRepo(c, runID(c))
	if err != nil {
		return err
	}
	return listing(c, repo, uri, rel)
}

func (h *Handlers) getRunArtifact(c *gin.Context) error {
	rel, err := filePath(c)
	if err != nil {
		return err
	}
	repo, _, err := h.runRepo(c, runID(c))
	if err != nil {
		return err
	}
	return serveFile(c, repo, rel)
}

func (h *Handlers) getModelVersionArtifact(c *gin.Context) error {
	if h.o.ModelVersionURI == nil {
		return apierr.New(apierr.EndpointNotFound, "the model registry is not enabled")
	}
	name, version := c.Query("name"), c.Query("version")
	if name == "" || version == "" {
		return apierr.New(apierr.InvalidParameterValue, "Missing value for required parameters 'name' and 'version'.")
	}
	rel, err := filePath(c)
	if err != nil {
		return err
	}
	uri, err := h.o.ModelVersionURI(c.Request.Context(), name, version)
	if err != nil {
		return err
	}
	repo, err := h.resolve(c.Request.Context(), uri)
	if err != nil {
		return err
	}
	return serveFile(c, repo, rel)
}

func (h *Handlers) listLoggedModel(c *gin.Context) error {
	if h.o.LoggedModelURI == nil {
		return apierr.New(apierr.EndpointNotFound, "logged model artifacts are not served")
	}
	rel, err := cleanPath(c.Query("artifact_directory_path"))
	if err != nil {
		return err
	}
	uri, err := h.o.LoggedModelURI(c.Request.Context(), c.Param("model_id"))
	if err != nil {
		return err
	}
	repo, err := h.resolve(c.Request.Context(), uri)
	if err != nil {
		return err
	}
	return listing(c, repo, uri, rel)
}
