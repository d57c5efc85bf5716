// Package artifacts stores run and model artifacts and serves MLflow's
// artifact routes: the mlflow-artifacts proxy API (PUT, GET, list and
// DELETE under /api/2.0/mlflow-artifacts/artifacts, streamed; multipart
// answers NOT_IMPLEMENTED so clients fall back to one PUT), the run
// artifact listing /api/2.0/mlflow/artifacts/list, /get-artifact and
// /model-versions/get-artifact.
//
// A Repo is a folder of artifacts: Local (a directory, accessed through
// os.Root so symlinks cannot lead out of it) or S3 (any S3-compatible
// object store). Every path that comes from a request goes through
// CleanPath first, which refuses "..", absolute paths, backslashes, NUL
// and their percent- and double-percent-encoded forms.
package artifacts
