package oci

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// RefNameAnnotation is the OCI annotation naming an image in a layout
// (what `umoci unpack --image DIR:TAG` and `skopeo copy oci:DIR:TAG` use).
const RefNameAnnotation = "org.opencontainers.image.ref.name"

// WriteLayout writes img as the only image of a new OCI layout at dir,
// annotated with the tag of ref (name[:tag], default latest). dir must not exist, or be an OCI layout, which is
// replaced whole. The layout is written beside dir and renamed into place,
// so a failed write leaves no partial layout.
func WriteLayout(dir, ref string, img v1.Image) error {
	tag := ""
	if ref != "" {
		t, err := name.NewTag(ref)
		if err != nil {
			return fmt.Errorf("image name %q: %w", ref, err)
		}
		tag = t.TagStr()
	}
	if err := checkReplaceable(dir); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "."+filepath.Base(dir)+".tmp-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	p, err := layout.Write(tmp, empty.Index)
	if err != nil {
		return err
	}
	var opts []layout.Option
	if tag != "" {
		opts = append(opts, layout.WithAnnotations(map[string]string{RefNameAnnotation: tag}))
	}
	if err := p.AppendImage(img, opts...); err != nil {
		return fmt.Errorf("write OCI layout %s: %w", dir, err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil { //nolint:gosec // a layout is for others to read, as mkdir would make it
		return err
	}
	return swapDir(tmp, dir)
}

// checkReplaceable refuses to overwrite a path that is not an OCI layout.
func checkReplaceable(dir string) error {
	st, err := os.Stat(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("%s exists and is not a folder", dir)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(dir, "oci-layout")); len(ents) > 0 && err != nil {
		return fmt.Errorf("%s exists and is not an OCI layout; not overwriting it", dir)
	}
	return nil
}

// swapDir moves tmp to dir, replacing an existing dir.
func swapDir(tmp, dir string) error {
	old := ""
	if _, err := os.Stat(dir); err == nil {
		old = tmp + ".old"
		if err := os.Rename(dir, old); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		if old != "" {
			_ = os.Rename(old, dir)
		}
		return err
	}
	if old != "" {
		return os.RemoveAll(old)
	}
	return nil
}

// WriteTarball writes img as a `docker load`-able tarball tagged ref, through
// a temporary file renamed into place.
func WriteTarball(file, ref string, img v1.Image) error {
	tag, err := name.NewTag(ref)
	if err != nil {
		return fmt.Errorf("image name %q: %w", ref, err)
	}
	f, err := os.CreateTemp(filepath.Dir(file), "."+filepath.Base(file)+".tmp-")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() { _ = os.Remove(tmp) }()
	err = tarball.Write(tag, img, f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", file, err)
	}
	if err := os.Chmod(tmp, 0o644); err != nil { //nolint:gosec // a tarball is for others to read, as create would make it
		return err
	}
	return os.Rename(tmp, file)
}

// Push uploads img to the registry as ref and returns the pushed reference
// by digest.
func Push(ctx context.Context, ref string, img v1.Image, r Remote) (string, error) {
	tag, err := name.ParseReference(ref, r.nameOptions()...)
	if err != nil {
		return "", fmt.Errorf("image name %q: %w", ref, err)
	}
	if err := remote.Write(tag, img, r.options(ctx, nil)...); err != nil {
		return "", fmt.Errorf("push %s: %w%s", ref, err, authHint(err))
	}
	d, err := img.Digest()
	if err != nil {
		return "", err
	}
	return tag.Context().Digest(d.String()).String(), nil
}

// authHint tells where credentials come from when a registry refused them.
func authHint(err error) string {
	var te *transport.Error
	if errors.As(err, &te) && (te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden) {
		return " (credentials come from the docker config file, $DOCKER_CONFIG/config.json or ~/.docker/config.json, and its credential helpers: docker login, crane auth login)"
	}
	return ""
}

// Write writes img to out: a `docker load`-able tarball when out ends in
// .tar, else an OCI layout folder.
func Write(out, ref string, img v1.Image) error {
	if strings.HasSuffix(out, ".tar") {
		return WriteTarball(out, ref, img)
	}
	return WriteLayout(out, ref, img)
}
