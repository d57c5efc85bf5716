// Package deploy holds the tests of the deployment files: the top-level
// Dockerfile, the Helm charts under helm/ and the KServe objects under
// kserve/. It is its own Go module so that the Helm SDK, the Kubernetes API
// types and the Dockerfile parser stay out of the mlgate binary's module.
package deploy
