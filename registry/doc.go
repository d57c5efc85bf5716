// Package registry is MLflow's model registry: registered models, versions,
// stages and aliases, on the server side (store and REST handlers) and the
// client side, plus resolution of models:/ URIs. It may import pkgformat,
// internal/db and internal/apierr; it must not import serve or flavors.
package registry
