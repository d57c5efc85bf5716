package registry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/mlgate/mlgate/pkgformat"
	"github.com/mlgate/mlgate/rest"
)

// Resolved says where the files of a models:/ or runs:/ URI are.
type Resolved struct {
	// URI is the URI as given.
	URI string
	// ArtifactURI is the artifact-store URI of the model folder (or of the
	// sub-path the URI names): mlflow-artifacts:, file:, s3:, http(s).
	ArtifactURI string
	// Name and Version identify the registered model version, when the URI
	// went through the registry.
	Name, Version string
	// RunID is the run the URI named, for runs:/ URIs.
	RunID string
	// ModelID is the MLflow 3 logged model id, when known.
	ModelID string
}

// NotFoundError says that a URI names nothing; its message names the URI
// and what was missing.
type NotFoundError struct {
	URI string
	Msg string
	Err error
}

func (e *NotFoundError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.URI, e.Msg, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.URI, e.Msg)
}

func (e *NotFoundError) Unwrap() error { return e.Err }

// ErrorCode is RESOURCE_DOES_NOT_EXIST.
func (e *NotFoundError) ErrorCode() string { return "RESOURCE_DOES_NOT_EXIST" }

func parseURI(s string) (pkgformat.URI, error) { return pkgformat.ParseURI(s) }

// IsRemote reports whether uri must be resolved against a server (models:/
// or runs:/).
func IsRemote(uri string) bool {
	u, err := parseURI(uri)
	return err == nil && (u.Scheme == "models" || u.Scheme == "runs")
}

// Resolve turns a models:/ or runs:/ URI into the artifact URI of its files,
// as MLflow's client does (spec §3.3): versions through get-download-uri,
// stages and "latest" through get-latest-versions, aliases through the alias
// endpoint, logged-model ids through the logged-models endpoint, runs
// through the run's artifact URI (or the run's logged model of that name).
// Other URIs are returned unchanged.
func (c *Client) Resolve(ctx context.Context, uri string) (*Resolved, error) {
	u, err := parseURI(uri)
	if err != nil {
		return nil, err
	}
	res := &Resolved{URI: uri}
	switch u.Kind {
	case pkgformat.KindModelVersion, pkgformat.KindModelStage, pkgformat.KindModelLatest, pkgformat.KindModelAlias:
		mv, err := c.resolveVersion(ctx, u)
		if err != nil {
			return nil, err
		}
		res.Name, res.Version, res.ModelID = mv.Name, mv.Version, mv.ModelID
		dl, err := c.GetModelVersionDownloadURI(ctx, mv.Name, mv.Version)
		if err != nil {
			return nil, c.notFound(uri, fmt.Sprintf("no download location for model '%s' version %s", mv.Name, mv.Version), err)
		}
		if IsRemote(dl) {
			// The version's source is itself a runs:/ or models:/ URI.
			inner, err := c.Resolve(ctx, dl)
			if err != nil {
				return nil, fmt.Errorf("%s: source %w", uri, err)
			}
			dl = inner.ArtifactURI
			res.RunID = inner.RunID
		}
		res.ArtifactURI = joinURI(dl, u.Path)
		return res, nil
	case pkgformat.KindModelID:
		art, err := c.loggedModelArtifactURI(ctx, u.ModelID)
		if err != nil {
			return nil, c.notFound(uri, fmt.Sprintf("no logged model '%s'", u.ModelID), err)
		}
		res.ModelID = u.ModelID
		res.ArtifactURI = joinURI(art, u.Path)
		return res, nil
	case pkgformat.KindRun:
		art, modelID, err := c.resolveRun(ctx, u.RunID, u.Path)
		if err != nil {
			return nil, c.notFound(uri, fmt.Sprintf("no run '%s'", u.RunID), err)
		}
		res.RunID, res.ModelID, res.ArtifactURI = u.RunID, modelID, art
		return res, nil
	default:
		res.ArtifactURI = uri
		return res, nil
	}
}

func (c *Client) notFound(uri, msg string, err error) error {
	if rest.IsNotFound(err) {
		return &NotFoundError{URI: uri, Msg: msg, Err: err}
	}
	var nf *NotFoundError
	if errors.As(err, &nf) {
		return err
	}
	return fmt.Errorf("%s: %w", uri, err)
}

func (c *Client) resolveVersion(ctx context.Context, u pkgformat.URI) (*ModelVersion, error) {
	switch u.Kind {
	case pkgformat.KindModelVersion:
		mv, err := c.GetModelVersion(ctx, u.Name, u.Version)
		if err != nil {
			return nil, c.notFound(u.Raw, fmt.Sprintf("no version %s of model '%s'", u.Version, u.Name), err)
		}
		return mv, nil
	case pkgformat.KindModelAlias:
		mv, err := c.GetModelVersionByAlias(ctx, u.Name, u.Alias)
		if err != nil {
			// MLflow answers a missing alias with INVALID_PARAMETER_VALUE.
			if rest.IsCode(err, "INVALID_PARAMETER_VALUE") && strings.Contains(err.Error(), "not found") {
				return nil, &NotFoundError{URI: u.Raw, Msg: fmt.Sprintf("no alias '%s' on model '%s'", u.Alias, u.Name), Err: err}
			}
			return nil, c.notFound(u.Raw, fmt.Sprintf("no alias '%s' on model '%s'", u.Alias, u.Name), err)
		}
		return mv, nil
	case pkgformat.KindModelStage:
		vs, err := c.GetLatestVersions(ctx, u.Name, u.Stage)
		if err != nil {
			return nil, c.notFound(u.Raw, fmt.Sprintf("no registered model '%s'", u.Name), err)
		}
		if best := maxVersion(vs); best != nil {
			return best, nil
		}
		return nil, &NotFoundError{URI: u.Raw, Msg: fmt.Sprintf("no version of model '%s' in stage '%s'", u.Name, u.Stage)}
	default: // latest
		vs, err := c.GetLatestVersions(ctx, u.Name)
		if err != nil {
			return nil, c.notFound(u.Raw, fmt.Sprintf("no registered model '%s'", u.Name), err)
		}
		if best := maxVersion(vs); best != nil {
			return best, nil
		}
		return nil, &NotFoundError{URI: u.Raw, Msg: fmt.Sprintf("model '%s' has no versions", u.Name)}
	}
}

func maxVersion(vs []ModelVersion) *ModelVersion {
	var best *ModelVersion
	for i := range vs {
		if best == nil || vs[i].VersionNumber() > best.VersionNumber() {
			best = &vs[i]
		}
	}
	return best
}

func (c *Client) loggedModelArtifactURI(ctx context.Context, id string) (string, error) {
	var resp struct {
		Model struct {
			Info struct {
				ArtifactURI string `json:"artifact_uri"`
			} `json:"info"`
		} `json:"model"`
	}
	if err := c.get(ctx, "/logged-models/"+url.PathEscape(id), nil, &resp); err != nil {
		return "", err
	}
	if resp.Model.Info.ArtifactURI == "" {
		return "", fmt.Errorf("logged model %s has no artifact URI", id)
	}
	return resp.Model.Info.ArtifactURI, nil
}

type runInfo struct {
	ArtifactURI  string `json:"artifact_uri"`
	ExperimentID string `json:"experiment_id"`
}

func (c *Client) getRun(ctx context.Context, runID string) (*runInfo, error) {
	var resp struct {
		Run struct {
			Info runInfo `json:"info"`
		} `json:"run"`
	}
	if err := c.get(ctx, "/runs/get", url.Values{"run_id": {runID}}, &resp); err != nil {
		return nil, err
	}
	return &resp.Run.Info, nil
}

// resolveRun returns the artifact URI of runs:/runID/path. As in MLflow 3,
// when path names nothing in the run's artifacts but the run logged a model
// of that name, the logged model's location is used.
func (c *Client) resolveRun(ctx context.Context, runID, path string) (string, string, error) {
	info, err := c.getRun(ctx, runID)
	if err != nil {
		return "", "", err
	}
	direct := joinURI(info.ArtifactURI, path)
	if path == "" {
		return direct, "", nil
	}
	var list struct {
		Files []json1 `json:"files"`
	}
	q := url.Values{"run_id": {runID}, "path": {path}}
	if err := c.get(ctx, "/artifacts/list", q, &list); err == nil && len(list.Files) > 0 {
		return direct, "", nil
	}
	name, sub, _ := strings.Cut(path, "/")
	art, id, err := c.findLoggedModel(ctx, info.ExperimentID, runID, name)
	if err != nil || art == "" {
		return direct, "", nil //nolint:nilerr // no logged model: the path may be a single file
	}
	return joinURI(art, sub), id, nil
}

type json1 struct {
	Path string `json:"path"`
}

func (c *Client) findLoggedModel(ctx context.Context, expID, runID, name string) (string, string, error) {
	token := ""
	for range 100 {
		body := map[string]any{"experiment_ids": []string{expID}, "filter": fmt.Sprintf("name = '%s'", strings.ReplaceAll(name, "'", "\\'"))}
		if token != "" {
			body["page_token"] = token
		}
		var resp struct {
			Models []struct {
				Info struct {
					ModelID     string `json:"model_id"`
					SourceRunID string `json:"source_run_id"`
					ArtifactURI string `json:"artifact_uri"`
				} `json:"info"`
			} `json:"models"`
			NextPageToken string `json:"next_page_token"`
		}
		if err := c.call(ctx, http.MethodPost, "/logged-models/search", body, &resp); err != nil {
			return "", "", err
		}
		for _, m := range resp.Models {
			if m.Info.SourceRunID == runID {
				return m.Info.ArtifactURI, m.Info.ModelID, nil
			}
		}
		if resp.NextPageToken == "" {
			break
		}
		token = resp.NextPageToken
	}
	return "", "", nil
}

func joinURI(base, sub string) string {
	sub = strings.Trim(sub, "/")
	if sub == "" {
		return base
	}
	return strings.TrimRight(base, "/") + "/" + sub
}
