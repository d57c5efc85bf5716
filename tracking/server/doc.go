// Package server is the tracking half of MLflow's REST API on gin: every
// experiment, run, metric, logged-model and run-artifact-list endpoint of
// /api/2.0/mlflow (and its /ajax-api/2.0 twin), answering with MLflow's
// JSON rules (snake_case fields, int64 as numbers, NaN/Infinity as
// strings, empty fields omitted, "{}" for empty answers) and errors
// through internal/apierr.
//
// Requests are decoded leniently as the MLflow server does: unknown
// fields are ignored, int64 fields take numbers or strings, GET requests
// read their fields from the query string (repeated keys for lists) or
// from a JSON body when there is no query, and a JSON body that is itself
// a JSON-encoded string is decoded twice.
package server
