// Package payloads logs a sampled share of a scoring server's prediction
// requests and answers (what Databricks calls inference tables) as JSON
// Lines files: one record a line with the time, the model and version,
// the route, the status, the latency and the request and response bodies,
// some columns left out for privacy and each body capped.
//
// A Logger never holds up its caller: records wait in a bounded queue and
// are dropped (and counted) when it is full; one goroutine writes them and
// rotates the file by size and age; another hands each closed file to an
// upload function (mlgate uploads them as artifacts of the serving run).
// Files that cannot be uploaded are kept up to a bound, then the oldest
// are dropped and their records counted.
//
// The package knows nothing of HTTP or tracking: serve hands it records
// and internal/app gives it the upload function.
package payloads
