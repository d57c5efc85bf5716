// Package procutil supervises child processes: process-group start,
// graceful stop then kill, readiness waits that watch for early exit, and a
// stderr tail for error messages. It knows nothing of models.
package procutil
