// Package pyfunc serves python_function models (and any flavor whose worker
// speaks mlgate's worker protocol) from supervised external processes.
package pyfunc
