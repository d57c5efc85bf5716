// Package projects runs MLflow Projects as `mlflow run` does: it reads an
// MLproject file (or a folder's defaults), fetches the project (a local
// folder, or a git repository at a version, with #subdirectory), checks and
// types the parameters, fills the entry point's command with shell
// quoting, prepares the environment (local, a virtualenv built through
// internal/pyenv with uv, conda, or a docker_env image run through docker
// or podman), creates the run with MLflow's params and tags through the
// tracking client, and runs the command in its own process group with
// MLFLOW_RUN_ID, MLFLOW_TRACKING_URI and MLFLOW_EXPERIMENT_ID so that the
// child's mlflow client logs into the same run. The run ends FINISHED or
// FAILED by the exit status, KILLED when mlgate is stopped.
//
//	Fetch ──► Load ──► EntryPoint.Validate ──► environment ──► run created
//	      ──► bash -c <command> (own process group) ──► FINISHED / FAILED / KILLED
//
// Mistakes in the input (a missing parameter, a non-float for a float, an
// unknown entry point, a malformed MLproject, a missing conda or docker)
// are found before a run exists.
package projects
