package artifacts

// TestRepo is testRepo for the external tests (artifacts_test), which run
// it against servers built from packages that import this one.
var TestRepo = testRepo
