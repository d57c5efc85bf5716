package pkgformat

import (
	"fmt"
	"net/url"
	"strings"
)

// Kind says what a model URI points at.
type Kind string

// The kinds of URI that ParseURI recognizes.
const (
	// KindModelVersion is models:/<name>/<version> (all digits).
	KindModelVersion Kind = "model-version"
	// KindModelStage is models:/<name>/<stage>: the latest version in a stage.
	KindModelStage Kind = "model-stage"
	// KindModelLatest is models:/<name>/latest: the latest version overall.
	KindModelLatest Kind = "model-latest"
	// KindModelAlias is models:/<name>@<alias>.
	KindModelAlias Kind = "model-alias"
	// KindModelID is models:/<model_id> (MLflow 3 logged model, m-<hex>).
	KindModelID Kind = "model-id"
	// KindRun is runs:/<run_id>/<path>.
	KindRun Kind = "run"
	// KindLocal is a file: URI or a plain filesystem path.
	KindLocal Kind = "local"
	// KindMLflowArtifacts is mlflow-artifacts:/<path> or mlflow-artifacts://<host>/<path>.
	KindMLflowArtifacts Kind = "mlflow-artifacts"
	// KindS3 is s3://<bucket>/<key>.
	KindS3 Kind = "s3"
	// KindGCS is gs://<bucket>/<key> (Google Cloud Storage).
	KindGCS Kind = "gs"
	// KindAzure is wasbs://<container>@<account>.blob.core.windows.net/<path>
	// or abfss://<filesystem>@<account>.dfs.core.windows.net/<path> (Azure
	// Blob Storage, Data Lake Storage Gen2); Host is <container>@<account>....
	KindAzure Kind = "azure"
	// KindHTTP is an http:// or https:// URL.
	KindHTTP Kind = "http"
)

// URI is a parsed model or artifact URI.
type URI struct {
	// Raw is the URI as given.
	Raw string
	// Scheme is the lower-cased scheme ("models", "runs", "file", "s3", …);
	// empty for a plain path.
	Scheme string
	// Kind says which form the URI has.
	Kind Kind
	// Host is the authority part: the mlflow-artifacts or HTTP host[:port],
	// the S3 bucket, or a models:// / runs:// profile.
	Host string
	// Name is the registered model name (models: URIs except KindModelID).
	Name string
	// Version is the model version (KindModelVersion).
	Version string
	// Stage is the stage as written (KindModelStage); compare it
	// case-insensitively.
	Stage string
	// Alias is the registered model alias (KindModelAlias).
	Alias string
	// ModelID is the logged model id (KindModelID).
	ModelID string
	// RunID is the run id (KindRun).
	RunID string
	// Path is the path below what the URI names, without a leading slash:
	// the sub-path of a models: or runs: URI, the artifact path of an
	// mlflow-artifacts URI, the S3 key or the URL path. For KindLocal it is
	// the filesystem path (decoded from a file: URI).
	Path string
}

// URIError is a malformed or unsupported URI. Its message quotes the URI
// and says which form was expected.
type URIError struct {
	URI      string
	Reason   string
	Expected string
}

func (e *URIError) Error() string {
	msg := fmt.Sprintf("invalid URI %q: %s", e.URI, e.Reason)
	if e.Expected != "" {
		msg += "; expected " + e.Expected
	}
	return msg
}

// ErrorCode maps a bad URI to MLflow's INVALID_PARAMETER_VALUE.
func (e *URIError) ErrorCode() string { return "INVALID_PARAMETER_VALUE" }

const (
	modelsForms = "'models:/<name>/<version>', 'models:/<name>/<stage>', 'models:/<name>/latest', " +
		"'models:/<name>@<alias>' or 'models:/<model_id>', optionally followed by '/<path>'"
	runsForm   = "'runs:/<run_id>/<path>'"
	artsForm   = "'mlflow-artifacts:/<path>' or 'mlflow-artifacts://<host>/<path>'"
	s3Form     = "'s3://<bucket>/<key>'"
	gsForm     = "'gs://<bucket>/<key>'"
	azureForm  = "'wasbs://<container>@<account>.blob.core.windows.net/<path>' or 'abfss://<filesystem>@<account>.dfs.core.windows.net/<path>'"
	httpForm   = "'http(s)://<host>/<path>'"
	fileForm   = "'file:///<absolute path>' or a plain path"
	anyURIForm = "a models:/, runs:/, file:, mlflow-artifacts:, s3://, gs://, wasbs://, abfss:// or http(s):// URI, or a local path"
)

// splitScheme returns the scheme (lower case) and the rest, or "" when s
// has none (a plain path; one-letter schemes are Windows drives).
func splitScheme(s string) (string, string) {
	i := strings.IndexByte(s, ':')
	if i < 2 {
		return "", s
	}
	for j, c := range s[:i] {
		isAlpha := (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		isOther := (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'
		if !isAlpha && (j == 0 || !isOther) {
			return "", s
		}
	}
	return strings.ToLower(s[:i]), s[i+1:]
}

// splitAuthority splits "//host/path" into host and "/path".
func splitAuthority(rest string) (host, path string, hasHost bool) {
	if !strings.HasPrefix(rest, "//") {
		return "", rest, false
	}
	rest = rest[2:]
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		return rest[:i], rest[i:], true
	}
	return rest, "", true
}

// ParseURI parses every model and artifact URI form mlgate accepts.
func ParseURI(s string) (URI, error) {
	bad := func(reason, expected string) (URI, error) {
		return URI{}, &URIError{URI: s, Reason: reason, Expected: expected}
	}
	if strings.TrimSpace(s) == "" {
		return bad("empty URI", anyURIForm)
	}
	if strings.ContainsAny(s, "\x00\n\r") {
		return bad("contains a control character", anyURIForm)
	}
	scheme, rest := splitScheme(s)
	u := URI{Raw: s, Scheme: scheme}
	switch scheme {
	case "":
		u.Kind, u.Path = KindLocal, s
		return u, nil
	case "models":
		return parseModelsURI(u, rest, bad)
	case "runs":
		host, path, _ := splitAuthority(rest)
		u.Host = host
		if !strings.HasPrefix(path, "/") || len(path) <= 1 {
			return bad("missing run id", runsForm)
		}
		runID, sub, _ := strings.Cut(path[1:], "/")
		if strings.TrimSpace(runID) == "" {
			return bad("missing run id", runsForm)
		}
		u.Kind, u.RunID, u.Path = KindRun, runID, strings.Trim(sub, "/")
		return u, nil
	case "file":
		host, path, hasHost := splitAuthority(rest)
		if hasHost && host != "" && host != "localhost" {
			return bad(fmt.Sprintf("file URI host %q is not local", host), fileForm)
		}
		if path == "" {
			return bad("missing path", fileForm)
		}
		dec, err := url.PathUnescape(path)
		if err != nil {
			return bad("bad percent-encoding in path", fileForm)
		}
		u.Kind, u.Path = KindLocal, dec
		return u, nil
	case "mlflow-artifacts":
		host, path, hasHost := splitAuthority(rest)
		if hasHost && host == "" {
			return bad("empty host", artsForm)
		}
		if !hasHost && !strings.HasPrefix(path, "/") && path != "" {
			return bad("path must start with '/'", artsForm)
		}
		u.Kind, u.Host, u.Path = KindMLflowArtifacts, host, strings.TrimPrefix(path, "/")
		return u, nil
	case "s3":
		host, path, hasHost := splitAuthority(rest)
		if !hasHost || host == "" {
			return bad("missing bucket", s3Form)
		}
		u.Kind, u.Host, u.Path = KindS3, host, strings.TrimPrefix(path, "/")
		return u, nil
	case "gs":
		host, path, hasHost := splitAuthority(rest)
		if !hasHost || host == "" {
			return bad("missing bucket", gsForm)
		}
		u.Kind, u.Host, u.Path = KindGCS, host, strings.TrimPrefix(path, "/")
		return u, nil
	case "wasbs", "abfss":
		host, path, hasHost := splitAuthority(rest)
		if c, acct, ok := strings.Cut(host, "@"); !hasHost || !ok || c == "" || !strings.Contains(acct, ".") {
			return bad("missing container or account", azureForm)
		}
		u.Kind, u.Host, u.Path = KindAzure, host, strings.TrimPrefix(path, "/")
		return u, nil
	case "http", "https":
		pu, err := url.Parse(s)
		if err != nil || pu.Host == "" {
			return bad("missing or malformed host", httpForm)
		}
		u.Kind, u.Host, u.Path = KindHTTP, pu.Host, strings.TrimPrefix(pu.Path, "/")
		return u, nil
	default:
		return bad(fmt.Sprintf("unsupported scheme %q", scheme), anyURIForm)
	}
}

func parseModelsURI(u URI, rest string, bad func(string, string) (URI, error)) (URI, error) {
	host, path, _ := splitAuthority(rest)
	u.Host = host
	path = strings.TrimRight(path, "/")
	if !strings.HasPrefix(path, "/") || len(path) <= 1 {
		return bad("missing model name", modelsForms)
	}
	parts := strings.SplitN(path[1:], "/", 3)
	first := parts[0]
	if strings.TrimSpace(first) == "" {
		return bad("empty model name", modelsForms)
	}
	if strings.Contains(first, "@") {
		// models:/<name>@<alias>[/<path>]
		i := strings.LastIndexByte(first, '@')
		name, alias := first[:i], first[i+1:]
		if strings.TrimSpace(name) == "" || strings.TrimSpace(alias) == "" {
			return bad("empty model name or alias", modelsForms)
		}
		u.Kind, u.Name, u.Alias = KindModelAlias, name, alias
		u.Path = strings.Join(parts[1:], "/")
		return u, nil
	}
	if len(parts) == 1 {
		u.Kind, u.ModelID = KindModelID, first
		return u, nil
	}
	suffix := parts[1]
	if strings.TrimSpace(suffix) == "" {
		return bad("empty version, stage or 'latest'", modelsForms)
	}
	u.Name = first
	if len(parts) == 3 {
		u.Path = strings.Trim(parts[2], "/")
	}
	switch {
	case isDigits(suffix):
		u.Kind, u.Version = KindModelVersion, suffix
	case strings.EqualFold(suffix, "latest"):
		u.Kind = KindModelLatest
	default:
		u.Kind, u.Stage = KindModelStage, suffix
	}
	return u, nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// IsRegistry reports whether the URI is a models: URI that names a
// registered model (version, stage, latest or alias).
func (u URI) IsRegistry() bool {
	switch u.Kind {
	case KindModelVersion, KindModelStage, KindModelLatest, KindModelAlias:
		return true
	}
	return false
}

// ModelURI returns the models: URI without its sub-path (what the registry
// resolves), e.g. "models:/name/3" or "models:/name@champion".
func (u URI) ModelURI() string {
	base := "models:/"
	if u.Host != "" {
		base = "models://" + u.Host + "/"
	}
	switch u.Kind {
	case KindModelVersion:
		return base + u.Name + "/" + u.Version
	case KindModelStage:
		return base + u.Name + "/" + u.Stage
	case KindModelLatest:
		return base + u.Name + "/latest"
	case KindModelAlias:
		return base + u.Name + "@" + u.Alias
	case KindModelID:
		return base + u.ModelID
	}
	return ""
}

// String returns the URI as given.
func (u URI) String() string { return u.Raw }
