package oci

import (
	"encoding/json"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/mlgate/mlgate/pkgformat"
)

// Paths and port of a model image, as MLflow's build-docker lays them out.
const (
	ModelDir  = "/opt/ml/model"
	ModelPort = 8080
)

// Label keys a model image carries.
const (
	LabelModelURI     = "io.mlgate.model.uri"
	LabelModelName    = "io.mlgate.model.name"
	LabelModelVersion = "io.mlgate.model.version"
	LabelRunID        = "io.mlgate.model.run-id"
	LabelModelUUID    = "io.mlgate.model.uuid"
	LabelFlavors      = "io.mlgate.model.flavors"
	LabelSignature    = "io.mlgate.model.signature"
	LabelTitle        = "org.opencontainers.image.title"
)

// maxSignatureLabel bounds the signature label; larger signatures are
// left out (the MLmodel in the image still has them).
const maxSignatureLabel = 16 << 10

// ModelInfo is what a model image records about its model.
type ModelInfo struct {
	// URI is the model URI as given; Name and Version the registered
	// model version it resolved to, when it went through the registry.
	URI, Name, Version string
	// Model is the parsed MLmodel.
	Model *pkgformat.Model
}

// ModelLabels returns the labels of a model image named title.
func ModelLabels(title string, mi ModelInfo) map[string]string {
	l := map[string]string{LabelModelURI: mi.URI, LabelTitle: title}
	set := func(k, v string) {
		if v != "" {
			l[k] = v
		}
	}
	set(LabelModelName, mi.Name)
	set(LabelModelVersion, mi.Version)
	if m := mi.Model; m != nil {
		set(LabelRunID, m.RunID)
		set(LabelModelUUID, m.ModelUUID)
		flavors := make([]string, 0, len(m.Flavors))
		for f := range m.Flavors {
			flavors = append(flavors, f)
		}
		slices.Sort(flavors)
		set(LabelFlavors, strings.Join(flavors, ","))
		if m.Signature != nil {
			if b, err := json.Marshal(m.Signature); err == nil && len(b) <= maxSignatureLabel {
				set(LabelSignature, string(b))
			}
		}
	}
	return l
}

// ServeEntrypoint returns the entrypoint that serves the model folder of
// an image: the base's mlgate (its entrypoint when that is mlgate, else
// mlgate on PATH) running `models serve` on all interfaces.
func ServeEntrypoint(baseEntrypoint []string, extra ...string) []string {
	bin := "mlgate"
	if len(baseEntrypoint) == 1 && path.Base(baseEntrypoint[0]) == "mlgate" {
		bin = baseEntrypoint[0]
	}
	args := []string{bin, "models", "serve", "-m", ModelDir, "--host", "0.0.0.0", "--port", strconv.Itoa(ModelPort)}
	return append(args, extra...)
}
