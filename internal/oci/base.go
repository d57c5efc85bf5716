package oci

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Remote configures registry access for pulls and pushes.
type Remote struct {
	// Keychain finds credentials (default authn.DefaultKeychain: the
	// docker config file and its credential helpers, as docker, crane
	// and ko read them).
	Keychain authn.Keychain
	// Transport is the HTTP transport (default remote.DefaultTransport).
	Transport http.RoundTripper
	// Insecure allows plain HTTP and unverified TLS for registries.
	Insecure bool
}

func (r Remote) options(ctx context.Context, p *v1.Platform) []remote.Option {
	kc := r.Keychain
	if kc == nil {
		kc = authn.DefaultKeychain
	}
	opts := []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(kc)}
	if r.Transport != nil {
		opts = append(opts, remote.WithTransport(r.Transport))
	}
	if p != nil {
		opts = append(opts, remote.WithPlatform(*p))
	}
	return opts
}

func (r Remote) nameOptions() []name.Option {
	if r.Insecure {
		return []name.Option{name.Insecure}
	}
	return nil
}

// ParsePlatform parses os/arch[/variant], e.g. linux/amd64.
func ParsePlatform(s string) (v1.Platform, error) {
	p, err := v1.ParsePlatform(s)
	if err != nil || p.OS == "" || p.Architecture == "" {
		return v1.Platform{}, fmt.Errorf("platform %q is not os/arch[/variant], e.g. linux/amd64", s)
	}
	return *p, nil
}

// IsLayout reports whether ref names a local OCI image layout: an
// oci-layout:// or oci: prefix, or a folder holding an oci-layout file.
func IsLayout(ref string) (string, bool) {
	for _, prefix := range []string{"oci-layout://", "oci:"} {
		if p, ok := strings.CutPrefix(ref, prefix); ok {
			return p, true
		}
	}
	if _, err := os.Stat(filepath.Join(ref, "oci-layout")); err == nil {
		return ref, true
	}
	return "", false
}

// LoadBase returns the image for platform named by ref: a local OCI
// layout (its single image, or the one for platform in its index) or a
// registry reference. The image's own OS and architecture must be
// platform's.
func LoadBase(ctx context.Context, ref string, platform v1.Platform, r Remote) (v1.Image, error) {
	var img v1.Image
	var err error
	if dir, ok := IsLayout(ref); ok {
		img, err = fromLayout(dir, platform)
	} else {
		img, err = fromRegistry(ctx, ref, platform, r)
	}
	if err != nil {
		return nil, fmt.Errorf("base image %s: %w", ref, err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("base image %s: read config: %w", ref, err)
	}
	if cf.OS != platform.OS || cf.Architecture != platform.Architecture {
		return nil, fmt.Errorf("base image %s is %s/%s, not %s: choose a base for %s or --platform %s/%s",
			ref, cf.OS, cf.Architecture, platform, platform, cf.OS, cf.Architecture)
	}
	return img, nil
}

func fromLayout(dir string, platform v1.Platform) (v1.Image, error) {
	idx, err := layout.ImageIndexFromPath(dir)
	if err == nil {
		_, err = idx.IndexManifest()
	}
	if err != nil {
		return nil, fmt.Errorf("not a readable OCI image layout: %w", err)
	}
	return pickImage(idx, platform)
}

// pickImage chooses the image of an index: the only one, or the one whose
// descriptor platform matches (nested indexes are followed).
func pickImage(idx v1.ImageIndex, platform v1.Platform) (v1.Image, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	var candidates []v1.Descriptor
	for _, d := range im.Manifests {
		if d.Platform == nil || d.Platform.Satisfies(platform) {
			candidates = append(candidates, d)
		}
	}
	if len(candidates) == 0 {
		return nil, fmt.Errorf("holds no image for %s", platform)
	}
	if len(candidates) > 1 && len(im.Manifests) > 1 && candidates[0].Platform == nil {
		return nil, fmt.Errorf("holds %d images without platforms; keep one per layout", len(candidates))
	}
	d := candidates[0]
	if d.MediaType.IsIndex() {
		child, err := idx.ImageIndex(d.Digest)
		if err != nil {
			return nil, err
		}
		return pickImage(child, platform)
	}
	if !d.MediaType.IsImage() {
		return nil, fmt.Errorf("entry %s is a %s, not an image", d.Digest, d.MediaType)
	}
	return idx.Image(d.Digest)
}

func fromRegistry(ctx context.Context, ref string, platform v1.Platform, r Remote) (v1.Image, error) {
	nref, err := name.ParseReference(ref, r.nameOptions()...)
	if err != nil {
		return nil, fmt.Errorf("neither a local OCI layout nor an image reference: %w", err)
	}
	desc, err := remote.Get(nref, r.options(ctx, &platform)...)
	if err != nil {
		return nil, err
	}
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err != nil {
			return nil, err
		}
		return pickImage(idx, platform)
	}
	return desc.Image()
}
