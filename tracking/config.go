package tracking

import (
	"log/slog"
	"os"
	"os/user"
	"strconv"
	"strings"
	"time"

	"github.com/mlgate/mlgate/artifacts"
	"github.com/mlgate/mlgate/rest"
)

// Config is everything the tracking API reads from its environment. Build it
// with FromEnv (or by hand) and pass it to NewClient or Configure; nothing in
// this package reads environment variables on its own.
type Config struct {
	// TrackingURI selects the backend: http(s)://host:port for a server,
	// sqlite:///path or postgresql://… for the embedded store.
	TrackingURI string
	// HTTP holds credentials, TLS, timeout and retry settings; its BaseURL
	// is filled from TrackingURI.
	HTTP rest.Config
	// ExperimentName and ExperimentID pick the fluent API's experiment when
	// SetExperiment was not called (MLFLOW_EXPERIMENT_NAME/_ID).
	ExperimentName, ExperimentID string
	// RunID makes the fluent StartRun resume that run (MLFLOW_RUN_ID).
	RunID string
	// User is the mlflow.user tag (MLFLOW_TRACKING_USERNAME, else the OS user).
	User string
	// SourceName is the mlflow.source.name tag (the program path).
	SourceName string
	// AsyncLogging makes the fluent LogMetric(s) asynchronous
	// (MLFLOW_ENABLE_ASYNC_LOGGING).
	AsyncLogging bool
	// ArtifactsDestination is where the embedded backend stores artifacts of
	// experiments whose artifact location is mlflow-artifacts: (default
	// ./mlartifacts).
	ArtifactsDestination string
	// Artifacts reach the artifact stores (s3://, gs://, wasbs://, ...);
	// FromEnv fills it with artifacts.FromEnv. Its Tracking transport is
	// set by NewClient.
	Artifacts artifacts.Options
	// Logger receives warnings (retries, truncations); nil discards them.
	Logger *slog.Logger
}

// DefaultTrackingURI is used when neither SetTrackingURI nor
// MLFLOW_TRACKING_URI say otherwise, as in MLflow 3.
const DefaultTrackingURI = "sqlite:///mlflow.db"

// FromEnv reads the MLFLOW_* variables through getenv (os.Getenv in
// programs, a map lookup in tests): MLFLOW_TRACKING_URI,
// MLFLOW_EXPERIMENT_NAME, MLFLOW_EXPERIMENT_ID, MLFLOW_RUN_ID,
// MLFLOW_TRACKING_USERNAME, MLFLOW_TRACKING_PASSWORD, MLFLOW_TRACKING_TOKEN,
// MLFLOW_TRACKING_INSECURE_TLS, MLFLOW_HTTP_REQUEST_TIMEOUT (seconds),
// MLFLOW_HTTP_REQUEST_MAX_RETRIES, MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR and
// MLFLOW_ENABLE_ASYNC_LOGGING, and the artifact stores' variables through
// artifacts.FromEnv (MLFLOW_S3_ENDPOINT_URL, AWS_*, GOOGLE_*,
// AZURE_STORAGE_*, ...).
func FromEnv(getenv func(string) string) Config {
	c := Config{
		TrackingURI:    getenv("MLFLOW_TRACKING_URI"),
		ExperimentName: getenv("MLFLOW_EXPERIMENT_NAME"),
		ExperimentID:   getenv("MLFLOW_EXPERIMENT_ID"),
		RunID:          getenv("MLFLOW_RUN_ID"),
		AsyncLogging:   envBool(getenv("MLFLOW_ENABLE_ASYNC_LOGGING")),
	}
	c.HTTP.Username = getenv("MLFLOW_TRACKING_USERNAME")
	c.HTTP.Password = getenv("MLFLOW_TRACKING_PASSWORD")
	c.HTTP.Token = getenv("MLFLOW_TRACKING_TOKEN")
	c.HTTP.InsecureTLS = envBool(getenv("MLFLOW_TRACKING_INSECURE_TLS"))
	if s, err := strconv.ParseFloat(getenv("MLFLOW_HTTP_REQUEST_TIMEOUT"), 64); err == nil && s > 0 {
		c.HTTP.Timeout = time.Duration(s * float64(time.Second))
	}
	if n, err := strconv.Atoi(getenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES")); err == nil {
		c.HTTP.MaxRetries = n
		if n == 0 {
			c.HTTP.MaxRetries = -1
		}
	}
	if f, err := strconv.ParseFloat(getenv("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR"), 64); err == nil && f > 0 {
		c.HTTP.BackoffFactor = f
	}
	c.Artifacts = artifacts.FromEnv(getenv)
	c.User = c.HTTP.Username
	if c.User == "" {
		if u, err := user.Current(); err == nil {
			c.User = u.Username
		}
	}
	if len(os.Args) > 0 {
		c.SourceName = os.Args[0]
	}
	return c
}

func envBool(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "1":
		return true
	}
	return false
}
