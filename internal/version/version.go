// Package version holds mlgate's build information, set with -ldflags at
// build time. It imports nothing of mlgate's.
package version

// Version is mlgate's release version, overridden at link time with
// -ldflags "-X github.com/mlgate/mlgate/internal/version.Version=…".
var Version = "0.1.0-dev"

// MLflowCompat is the MLflow version whose wire and file formats mlgate
// follows; it is what /version answers on the tracking and scoring servers.
const MLflowCompat = "3.17.2"
