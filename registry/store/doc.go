// Package store is the server-side storage of MLflow's model registry:
// registered models, their numbered versions, stages, aliases, tags and
// descriptions, kept in the same SQL database as tracking (SQLite or
// PostgreSQL through internal/db) under its own migration component
// "registry".
//
// Behaviour follows MLflow's SQLAlchemy registry store: versions are numbered
// 1, 2, 3… per model from a per-model counter (so concurrent creates get
// distinct consecutive numbers and a deleted number is never reused), stage
// names are canonicalised case-insensitively, aliases obey MLflow's naming
// rules and move atomically, deleting a version deletes its aliases, renaming
// carries versions, tags and aliases along, and searches accept MLflow's
// filter and order_by grammar with offset page tokens.
//
// Every mutation bumps a registry-wide change sequence and stamps it on the
// registered model it touched, so a serving process can poll
// [Store.ModelChangeSeq] cheaply to learn whether an alias or stage moved.
//
// Errors carry MLflow error codes through ErrorCode (see [Error]); the store
// imports no HTTP package. The tracking store is reached only through the
// function fields of [Options].
package store
