package oci

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Spec is what a build puts on top of its base.
type Spec struct {
	// Base is the image to build on; nil starts from an empty image for
	// Platform.
	Base v1.Image
	// Platform is the OS and architecture of an image built from nothing.
	Platform v1.Platform
	// Layers are appended in order, each with the history line Comment.
	Layers []LayerSpec
	// Entrypoint and Cmd replace the base's when Entrypoint is set; Cmd
	// alone replaces only the base's Cmd.
	Entrypoint, Cmd []string
	// Env entries KEY=VALUE replace the base's of the same KEY.
	Env []string
	// Labels are added to the base's.
	Labels map[string]string
	// Ports are exposed, e.g. 8080/tcp.
	Ports []string
	// User and WorkingDir replace the base's when set.
	User, WorkingDir string
	// Created is the image's creation time and every file's time (default
	// Epoch).
	Created time.Time
}

// LayerSpec is one layer of a build: Trees laid into a new layer, or an
// existing Layer (e.g. one of another image) taken as it is.
type LayerSpec struct {
	Trees   []Tree
	Layer   v1.Layer
	Comment string
}

// Build returns the image Spec describes, in OCI media types.
func Build(s Spec) (v1.Image, error) {
	created := s.Created
	if created.IsZero() {
		created = Epoch
	}
	base := s.Base
	if base == nil {
		var err error
		base, err = mutate.ConfigFile(empty.Image, &v1.ConfigFile{
			OS: s.Platform.OS, Architecture: s.Platform.Architecture, Variant: s.Platform.Variant,
			RootFS: v1.RootFS{Type: "layers"},
		})
		if err != nil {
			return nil, err
		}
	}
	img := mutate.MediaType(base, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	for _, ls := range s.Layers {
		layer := ls.Layer
		if layer == nil {
			var err error
			if layer, err = Layer(created, ls.Trees...); err != nil {
				return nil, err
			}
		}
		var err error
		img, err = mutate.Append(img, mutate.Addendum{
			Layer: layer, MediaType: types.OCILayer,
			History: v1.History{CreatedBy: ls.Comment, Created: v1.Time{Time: created}, Author: "mlgate"},
		})
		if err != nil {
			return nil, err
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("read base config: %w", err)
	}
	cfg := *cf.Config.DeepCopy()
	applyConfig(&cfg, s)
	img, err = mutate.Config(img, cfg)
	if err != nil {
		return nil, err
	}
	return mutate.CreatedAt(img, v1.Time{Time: created})
}

func applyConfig(cfg *v1.Config, s Spec) {
	if s.Entrypoint != nil {
		cfg.Entrypoint, cfg.Cmd = s.Entrypoint, s.Cmd
	} else if s.Cmd != nil {
		cfg.Cmd = s.Cmd
	}
	cfg.Env = mergeEnv(cfg.Env, s.Env)
	if len(s.Labels) > 0 {
		if cfg.Labels == nil {
			cfg.Labels = map[string]string{}
		}
		maps.Copy(cfg.Labels, s.Labels)
	}
	if len(s.Ports) > 0 {
		if cfg.ExposedPorts == nil {
			cfg.ExposedPorts = map[string]struct{}{}
		}
		for _, p := range s.Ports {
			cfg.ExposedPorts[p] = struct{}{}
		}
	}
	if s.User != "" {
		cfg.User = s.User
	}
	if s.WorkingDir != "" {
		cfg.WorkingDir = s.WorkingDir
	}
}

// mergeEnv returns base with each KEY=VALUE of add replacing the entry of
// the same KEY, new keys appended in add's order.
func mergeEnv(base, add []string) []string {
	out := slices.Clone(base)
	for _, kv := range add {
		key := envKey(kv)
		i := slices.IndexFunc(out, func(e string) bool { return envKey(e) == key })
		if i >= 0 {
			out[i] = kv
		} else {
			out = append(out, kv)
		}
	}
	return out
}

func envKey(kv string) string {
	k, _, _ := strings.Cut(kv, "=")
	return k
}
