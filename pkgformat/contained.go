package pkgformat

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// readContained reads name (a path relative to dir) refusing paths that
// leave dir and files larger than limit.
func readContained(dir, name string, limit int64) ([]byte, error) {
	if !filepath.IsLocal(filepath.FromSlash(name)) {
		return nil, fmt.Errorf("file %q is outside the model folder", name)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer func() { _ = root.Close() }()
	f, err := root.Open(filepath.FromSlash(name))
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("file %q is larger than %d bytes", name, limit)
	}
	return data, nil
}

// formatError is the type of this package's sentinel errors. They are
// caused by bad input (a malformed file, URI or archive), so they carry
// MLflow's INVALID_PARAMETER_VALUE code for HTTP layers.
type formatError string

func (e formatError) Error() string { return string(e) }

// ErrorCode maps the error to MLflow's INVALID_PARAMETER_VALUE.
func (e formatError) ErrorCode() string { return "INVALID_PARAMETER_VALUE" }
