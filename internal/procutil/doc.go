// Package procutil supervises child processes: process-group start,
// graceful stop then kill, readiness waits that watch for early exit, and a
// stderr tail for error messages. It knows nothing of models.
//
// Lifecycle of a Process:
//
//	Start ──► (WaitReady) ──► running ──► Stop: SIGTERM to the group,
//	                                             wait StopTimeout,
//	                                             SIGKILL to the group
//
// Every child runs in its own process group (Setpgid), so signals reach the
// grandchildren a worker may spawn, and Stop leaves no orphan. The context
// given to Start bounds the process's life: when it is cancelled the group
// gets SIGTERM and, after WaitDelay, SIGKILL.
package procutil
