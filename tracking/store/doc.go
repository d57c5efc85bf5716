// Package store is mlgate's tracking store: experiments, runs, params,
// tags, metrics (history and latest value per key), run inputs and
// outputs, and MLflow 3 logged models, kept in the SQL database opened by
// internal/db (embedded SQLite or PostgreSQL).
//
// The API speaks Go types, never wire types: the tracking REST server
// (tracking/server) and the embedded Go client backend both call it.
// Every method takes a context first and runs in one transaction, so a
// killed server leaves no partial write. Errors are *Error values whose
// Code is an MLflow error code name (RESOURCE_DOES_NOT_EXIST,
// INVALID_PARAMETER_VALUE, RESOURCE_ALREADY_EXISTS…); compare them with
// errors.Is against ErrNotFound, ErrInvalid and ErrExists.
//
// The schema belongs to the "tracking" migration component (migrations.go);
// the model registry keeps its own component in the same database.
//
// Latest metric values: RunData.Metrics holds one value per key, the one
// with the greatest (step, timestamp, value), maintained with a
// conditional upsert in the same transaction as the history insert, so
// concurrent log-batch calls cannot leave a stale latest value.
package store
