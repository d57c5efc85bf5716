// Package app is mlgate's composition root: it builds loggers, Prometheus
// registries, stores, flavor registries and HTTP servers from Options, runs
// them until the context ends and shuts them down within a bounded time.
//
// It is the only package besides cmd that reads configuration; everything
// below it receives what it needs through constructors. It may import every
// mlgate package; nothing imports it except cmd/mlgate.
package app
