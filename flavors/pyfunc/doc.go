// Package pyfunc serves python_function models (and any flavor whose worker
// speaks mlgate's worker protocol) from supervised external processes.
//
// A Predictor owns a pool of N workers. Each worker is a child process in
// its own process group (internal/procutil) that loads the model once and
// then answers predictions over its stdin/stdout with protocol 1:
//
//	worker → host   "mlgate-worker 1 {info}\n"           handshake, after the model loaded
//	                "mlgate-worker-error 1 {error}\n"    the model failed to load (then exit)
//	host → worker   len(4, big endian) 'P' request       an MLflow /invocations JSON body
//	worker → host   len 'O' predictions                  the JSON value of "predictions"
//	                len 'U' body                         a whole unwrapped response (LLM input)
//	                len 'E' {error_code, message}        an MLflow error
//
// The python_function worker (worker.py, embedded and written to the cache
// directory) runs mlflow's own scoring-server code on the request, so
// predictions, their JSON rendering and errors are those of
// `mlflow models serve`. docs/workers.md documents the protocol for workers
// written in other languages.
//
// Supervision: Load waits for every worker's handshake (bounded by
// StartTimeout, watching for early exit). A worker that dies is restarted
// with exponential backoff; the request it was serving is sent once more
// (to another worker or the replacement) and fails only when that worker
// dies too, with an error that wraps flavors.ErrUnavailable and carries the
// worker's last stderr lines. Requests go to an idle worker (least busy: the first free one); a
// worker that does not answer before the request's deadline is killed and
// replaced. Close stops workers gracefully (stdin closed, SIGTERM), then
// kills their process groups.
package pyfunc
