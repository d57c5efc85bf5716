// Package tracking is MLflow's tracking API in Go (the fluent functions and
// a client, over HTTP or straight into an embedded store) and the server side
// of MLflow's tracking REST API and artifact proxy. It must not import serve
// or flavors.
package tracking
