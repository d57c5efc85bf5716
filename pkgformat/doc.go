// Package pkgformat owns the MLflow model format on disk: the MLmodel file,
// signatures and params schemas, input examples, environment files
// (python_env.yaml, conda.yaml, requirements.txt), model URIs, and safe
// packing and unpacking of model archives.
//
// It is a leaf: it imports only the standard library and third-party
// modules, never another mlgate package.
package pkgformat
