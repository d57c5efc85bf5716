package store

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/mlgate/mlgate/internal/storeerr"
)

// ModelURI is a parsed models:/ URI.
type ModelURI struct {
	// ModelID is set for models:/m-<id> (an MLflow 3 logged model).
	ModelID string
	Name    string
	// Exactly one of Version, Stage, Alias is set, or none for "latest".
	Version string
	Stage   string
	Alias   string
}

var digitsRE = regexp.MustCompile(`^[0-9]+$`)

// ParseModelURI parses models:/<name>/<version|stage|latest>,
// models:/<name>@<alias> and models:/<model_id> as MLflow does.
func ParseModelURI(uri string) (ModelURI, error) {
	bad := storeerr.Invalidf("Not a proper models:/ URI: %s. Models URIs must be of the form 'models:/model_name/suffix' or 'models:/model_name@alias' where suffix is a model version, stage, or the string 'latest' and where alias is a registered model alias. Only one of suffix or alias can be defined at a time.", uri)
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "models" {
		return ModelURI{}, bad
	}
	p := u.Path
	if u.Opaque != "" {
		p = u.Opaque
	}
	if !strings.HasPrefix(p, "/") || len(p) <= 1 {
		return ModelURI{}, bad
	}
	parts := strings.Split(strings.TrimLeft(p, "/"), "/")
	if len(parts) > 2 || strings.TrimSpace(parts[0]) == "" {
		return ModelURI{}, bad
	}
	if len(parts) == 2 {
		name, suffix := parts[0], parts[1]
		switch {
		case strings.TrimSpace(suffix) == "":
			return ModelURI{}, bad
		case digitsRE.MatchString(suffix):
			return ModelURI{Name: name, Version: suffix}, nil
		case strings.EqualFold(suffix, "latest"):
			return ModelURI{Name: name}, nil
		default:
			return ModelURI{Name: name, Stage: suffix}, nil
		}
	}
	if i := strings.LastIndex(parts[0], "@"); i >= 0 {
		if strings.TrimSpace(parts[0][i+1:]) == "" || strings.TrimSpace(parts[0][:i]) == "" {
			return ModelURI{}, bad
		}
		return ModelURI{Name: parts[0][:i], Alias: parts[0][i+1:]}, nil
	}
	return ModelURI{ModelID: parts[0]}, nil
}

func sourceError(source, idName string) error {
	return storeerr.Invalidf("Invalid model version source: '%s'. The %s request parameter must identify the resource that contains the source.", source, idName)
}

// isLocalURI mirrors mlflow.utils.uri.is_local_uri for a server: no scheme
// or file: is local.
func isLocalURI(source string) bool {
	u, err := url.Parse(source)
	if err != nil {
		return false
	}
	return u.Scheme == "" || u.Scheme == "file" || len(u.Scheme) == 1
}

func localPath(uri string) string {
	if u, err := url.Parse(uri); err == nil && u.Scheme == "file" {
		return u.Path
	}
	return uri
}

func within(child, root string) bool {
	c, err1 := filepath.Abs(filepath.Clean(child))
	r, err2 := filepath.Abs(filepath.Clean(root))
	if err1 != nil || err2 != nil {
		return false
	}
	return c == r || strings.HasPrefix(c, strings.TrimSuffix(r, "/")+"/")
}

var slashesRE = regexp.MustCompile(`/+`)

// checkNoTraversal refuses sources with ".." segments or NUL after
// repeated URL-decoding, or whose path is not already clean and absolute.
func checkNoTraversal(source string) error {
	bad := storeerr.Invalidf("Invalid model version source: '%s'. If supplying a source as an http, https, local file path, ftp, objectstore, or mlflow-artifacts uri, an absolute path must be provided without relative path references present. Please provide an absolute path.", source)
	s := source
	for i := 0; i < 32; i++ {
		u := unquote(s)
		if u == s {
			break
		}
		s = u
	}
	p := s
	if u, err := url.Parse(s); err == nil {
		p = u.Path
		if u.Opaque != "" {
			p = u.Opaque
		}
	} else {
		// Go refuses what Python's urlparse still splits (control
		// characters): its path ends at the query or the fragment.
		p, _, _ = strings.Cut(p, "#")
		p, _, _ = strings.Cut(p, "?")
	}
	p = slashesRE.ReplaceAllString(strings.TrimRight(p, "/"), "/")
	if strings.Contains(p, "\x00") || strings.Contains(s, "\x00") {
		return bad
	}
	for _, seg := range strings.Split(s, "/") {
		if seg == ".." {
			return bad
		}
	}
	if !strings.HasPrefix(p, "/") || path.Clean(p) != p {
		return bad
	}
	return nil
}

// unquote decodes %XX escapes and '+' as url.QueryUnescape does, but
// keeps an invalid escape as it is (as Python's unquote) instead of giving
// up on the whole string: "/%250/%2e%252e" must still reveal its "..".
func unquote(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
		case c == '+':
			b.WriteByte(' ')
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

func uriParts(uri string) (scheme, host string, parts []string) {
	u, err := url.Parse(uri)
	if err != nil {
		return "", "", nil
	}
	for _, p := range strings.Split(u.Path, "/") {
		if p == "" {
			continue
		}
		for i := 0; i < 32; i++ {
			d, err := url.PathUnescape(p)
			if err != nil || d == p {
				break
			}
			p = d
		}
		parts = append(parts, p)
	}
	return strings.ToLower(u.Scheme), strings.ToLower(u.Host), parts
}

func isArtifactProxySource(source string) bool {
	scheme, _, parts := uriParts(source)
	if scheme == "mlflow-artifacts" {
		return true
	}
	if scheme != "http" && scheme != "https" {
		return false
	}
	route := []string{"api", "2.0", "mlflow-artifacts", "artifacts"}
	for i := 0; i+len(route) <= len(parts); i++ {
		if strings.Join(parts[i:i+len(route)], "/") == strings.Join(route, "/") {
			return true
		}
	}
	return false
}

func uriWithin(source, root string) bool {
	ss, sh, sp := uriParts(source)
	rs, rh, rp := uriParts(root)
	if ss != rs || sh != rh || len(rp) == 0 || len(sp) < len(rp) {
		return false
	}
	for i := range rp {
		if sp[i] != rp[i] {
			return false
		}
	}
	return true
}

func (s *Store) runArtifactURI(ctx context.Context, runID, source string) (string, error) {
	if s.opts.RunArtifactURI == nil {
		return "", sourceError(source, "run_id")
	}
	uri, err := s.opts.RunArtifactURI(ctx, runID)
	if errors.Is(err, ErrNotFound) {
		return "", sourceError(source, "run_id")
	}
	return uri, err
}

func (s *Store) loggedModel(ctx context.Context, modelID, source string) (LoggedModel, error) {
	if s.opts.LoggedModel == nil {
		return LoggedModel{}, sourceError(source, "model_id")
	}
	m, err := s.opts.LoggedModel(ctx, modelID)
	if errors.Is(err, ErrNotFound) {
		return LoggedModel{}, sourceError(source, "model_id")
	}
	return m, err
}

// validateSourceRun is MLflow's _validate_source_run.
func (s *Store) validateSourceRun(ctx context.Context, source, runID string) error {
	if isLocalURI(source) {
		if runID != "" {
			root, err := s.runArtifactURI(ctx, runID, source)
			if err != nil {
				return err
			}
			if isLocalURI(root) && within(localPath(source), localPath(root)) {
				return nil
			}
		}
		return storeerr.Invalidf("Invalid model version source: '%s'. To use a local path as a model version source, the run_id request parameter has to be specified and the local path has to be contained within the artifact directory of the run specified by the run_id.", source)
	}
	if err := checkNoTraversal(source); err != nil {
		return err
	}
	u, _ := url.Parse(source)
	switch u.Scheme {
	case "runs":
		if u.Host != "" {
			return sourceError(source, "run_id")
		}
		p := strings.TrimLeft(u.Path, "/")
		if u.Opaque != "" {
			p = strings.TrimLeft(u.Opaque, "/")
		}
		srcRun, _, _ := strings.Cut(p, "/")
		if runID != "" && srcRun == runID {
			return nil
		}
		return sourceError(source, "run_id")
	case "models":
		if u.Host != "" {
			return sourceError(source, "model_id")
		}
		mu, err := ParseModelURI(source)
		if err != nil || mu.ModelID != "" {
			return sourceError(source, "model_id")
		}
	}
	if isArtifactProxySource(source) {
		if runID != "" {
			root, err := s.runArtifactURI(ctx, runID, source)
			if err != nil {
				return err
			}
			if uriWithin(source, root) {
				return nil
			}
		}
		return sourceError(source, "run_id")
	}
	return nil
}

// validateSourceModel is MLflow's _validate_source_model.
func (s *Store) validateSourceModel(ctx context.Context, source, modelID string) error {
	if isLocalURI(source) {
		m, err := s.loggedModel(ctx, modelID, source)
		if err != nil {
			return err
		}
		if isLocalURI(m.ArtifactLocation) && within(localPath(source), localPath(m.ArtifactLocation)) {
			return nil
		}
		return storeerr.Invalidf("Invalid model version source: '%s'. To use a local path as a model version source, the model_id request parameter has to be specified and the local path has to be contained within the artifact directory of the run specified by the model_id.", source)
	}
	if err := checkNoTraversal(source); err != nil {
		return err
	}
	u, _ := url.Parse(source)
	switch u.Scheme {
	case "models":
		if u.Host != "" {
			return sourceError(source, "model_id")
		}
		mu, err := ParseModelURI(source)
		if err != nil {
			return sourceError(source, "model_id")
		}
		if mu.ModelID != "" {
			if mu.ModelID == modelID {
				return nil
			}
			return sourceError(source, "model_id")
		}
	case "runs":
		return sourceError(source, "model_id")
	}
	if isArtifactProxySource(source) {
		m, err := s.loggedModel(ctx, modelID, source)
		if err != nil {
			return err
		}
		if uriWithin(source, m.ArtifactLocation) {
			return nil
		}
		return sourceError(source, "model_id")
	}
	return nil
}

// resolveModelVersionRef turns models:/name/<version|stage|latest> and
// models:/name@alias into a concrete version of the active registry.
func (s *Store) resolveModelVersionRef(ctx context.Context, mu ModelURI) (*ModelVersion, error) {
	if mu.Version != "" {
		return s.GetModelVersion(ctx, mu.Name, mu.Version)
	}
	if mu.Alias != "" {
		return s.GetModelVersionByAlias(ctx, mu.Name, mu.Alias)
	}
	var stages []string
	if mu.Stage != "" {
		stages = []string{mu.Stage}
	}
	latest, err := s.GetLatestVersions(ctx, mu.Name, stages)
	if err != nil {
		return nil, err
	}
	var best *ModelVersion
	for i := range latest {
		if best == nil || latest[i].Version > best.Version {
			best = &latest[i]
		}
	}
	if best == nil {
		stage := ""
		if mu.Stage != "" {
			stage = fmt.Sprintf(" and stage '%s'", mu.Stage)
		}
		return nil, storeerr.Invalidf("No versions of model with name '%s'%s found", mu.Name, stage)
	}
	return best, nil
}
