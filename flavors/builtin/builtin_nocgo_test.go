//go:build !cgo

package builtin

import (
	"errors"
	"strings"
	"testing"

	"github.com/mlgate/mlgate/flavors"
	"github.com/mlgate/mlgate/pkgformat"
)

func TestStandInExplains(t *testing.T) {
	r := flavors.NewRegistry()
	if err := Register(r, Options{}); err != nil {
		t.Fatal(err)
	}
	f, _ := r.Get("onnx")
	_, err := f.Load(t.Context(), t.TempDir(), &pkgformat.Model{}, flavors.LoadOptions{})
	if !errors.Is(err, ErrNoONNX) || !strings.Contains(err.Error(), "CGO_ENABLED=0") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("err = %v", err)
	}
}
