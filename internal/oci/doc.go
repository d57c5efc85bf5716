// Package oci builds OCI container images without a Docker daemon, on
// go-containerregistry: reproducible layers from local folders, a base read
// from an OCI image layout or a registry (for one platform), a config with
// entrypoint, environment and labels, and outputs to an OCI layout folder, a
// `docker load`-able tarball or a registry push. Same inputs give the same
// image digest: file times, owners and order are fixed, and no output is
// left half-written when a step fails.
package oci
