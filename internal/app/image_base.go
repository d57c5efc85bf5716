package app

import (
	"fmt"
	"io"
	"runtime"
	"time"

	"github.com/mlgate/mlgate/internal/oci"
	"github.com/mlgate/mlgate/internal/ortlib"
	"github.com/mlgate/mlgate/internal/version"
)

// Where the runtime base image puts mlgate and ONNX Runtime, and who runs.
const (
	baseBinary  = "/usr/local/bin/mlgate"
	baseORTLib  = "/usr/lib/mlgate/libonnxruntime.so.1"
	baseUser    = "65532:65532"
	baseHome    = "/home/mlgate"
	baseCACerts = "/etc/ssl/certs/ca-certificates.crt"
)

// History lines that start the runtime base's ONNX Runtime and mlgate
// layers: python_function images take these two layers over.
const (
	ortLayerComment    = "ONNX Runtime "
	mlgateLayerComment = "mlgate "
)

// BaseImageOptions configure the runtime base image that model images are
// built on (`make image`).
type BaseImageOptions struct {
	// System is a folder laid out as the image root: the shared libraries
	// mlgate and ONNX Runtime need, CA certificates, /etc/passwd and
	// /etc/group with the mlgate user, /tmp and the user's home.
	System string
	// ORTLib is libonnxruntime.so.1; Binary is the mlgate executable.
	ORTLib, Binary string
	// Name is the image name[:tag]; Output an OCI layout folder or .tar.
	Name, Output string
	// Platform is os/arch (default linux/GOARCH).
	Platform string
	// Created fixes the image time (default oci.Epoch).
	Created time.Time
	// Stdout receives the image digest.
	Stdout io.Writer
}

// BuildBaseImage writes the runtime base image: one layer each for the
// system files, ONNX Runtime and mlgate (so a new mlgate reuses the
// others), mlgate as entrypoint, run by a non-root user.
func BuildBaseImage(o BaseImageOptions) (string, error) {
	platform, err := oci.ParsePlatform(orDefault(o.Platform, "linux/"+runtime.GOARCH))
	if err != nil {
		return "", err
	}
	user := oci.Owner{UID: 65532, GID: 65532}
	img, err := oci.Build(oci.Spec{
		Platform: platform,
		Layers: []oci.LayerSpec{
			{Comment: "system: C library, libstdc++, CA certificates, users", Trees: []oci.Tree{{
				Src: o.System, Dest: "/", Links: true,
				Owners: map[string]oci.Owner{baseHome: user},
				Modes:  map[string]int64{"/tmp": 0o1777},
			}}},
			{Comment: ortLayerComment + ortlib.Version, Trees: []oci.Tree{{Src: o.ORTLib, Dest: baseORTLib}}},
			{Comment: mlgateLayerComment + version.Version, Trees: []oci.Tree{{Src: o.Binary, Dest: baseBinary}}},
		},
		Entrypoint: []string{baseBinary},
		Cmd:        []string{"version"},
		Env: []string{
			"PATH=/usr/local/bin:/usr/bin:/bin",
			"ONNXRUNTIME_LIB=" + baseORTLib,
			"LC_ALL=C.UTF-8",
			"SSL_CERT_FILE=" + baseCACerts,
			"HOME=" + baseHome,
		},
		Labels: map[string]string{
			"org.opencontainers.image.title":   "mlgate",
			"org.opencontainers.image.version": version.Version,
			"io.mlgate.onnxruntime.version":    ortlib.Version,
		},
		Ports:      []string{"5000/tcp", fmt.Sprintf("%d/tcp", oci.ModelPort)},
		User:       baseUser,
		WorkingDir: baseHome,
		Created:    o.Created,
	})
	if err != nil {
		return "", fmt.Errorf("build base image: %w", err)
	}
	if err := oci.Write(o.Output, o.Name, img); err != nil {
		return "", err
	}
	d, err := img.Digest()
	if err != nil {
		return "", err
	}
	if o.Stdout != nil {
		fmt.Fprintln(o.Stdout, d.String())
	}
	return d.String(), nil
}
