// Package rest is the HTTP transport mlgate's Go clients use to talk to an
// MLflow-compatible REST API (a real `mlflow server` or `mlgate server`):
// credentials, TLS, timeouts, retries with exponential backoff on 408, 429 and
// 5xx honouring Retry-After, MLflow's JSON encoding rules and its
// {"error_code","message"} errors.
//
// A Transport is safe for concurrent use. It reads no environment variables:
// Config is filled by the caller (tracking.FromEnv does it for the usual
// MLFLOW_* variables).
package rest
