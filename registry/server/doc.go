// Package server is the HTTP side of mlgate's model registry: every
// endpoint of MLflow's model registry REST API (registered models, model
// versions, stages, aliases, tags, searches) under /api/2.0/mlflow and
// /ajax-api/2.0/mlflow, plus a cheap conditional read for serving
// processes that poll for alias and stage moves
// (GET /api/2.0/mlgate/registered-models/changes).
//
// [Mount] adds the routes to a gin router; the tracking server composes
// them with its own routes on one engine. Requests are parsed the way
// MLflow's Flask handlers parse them (GET query strings with repeated keys,
// JSON bodies for POST, PATCH and DELETE), responses use MLflow's JSON
// field names, and every error is rendered through internal/apierr.
package server
