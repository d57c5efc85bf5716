// Package proxy serves MLflow's artifact routes on the tracking server:
// the mlflow-artifacts proxy API (PUT, GET, list and DELETE under
// /api/2.0/mlflow-artifacts/artifacts, streamed; multipart answers
// NOT_IMPLEMENTED so clients fall back to one PUT), the run artifact
// listing /api/2.0/mlflow/artifacts/list, /get-artifact,
// /model-versions/get-artifact and the logged model directory listing.
//
// A Resolver maps the artifact URI stored on a run, experiment or model
// version to an artifacts.Repo: mlflow-artifacts: and proxy http(s) URIs
// onto the --artifacts-destination repo, every other URI (folders, s3://,
// gs://, wasbs://, abfss://) through artifacts.Open. Every path that comes
// from a request goes through artifacts.CleanPath first.
package proxy
