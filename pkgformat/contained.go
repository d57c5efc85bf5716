package pkgformat

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
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

// ModelRoot returns the folder holding the MLmodel file under dir: dir
// itself, or its only subfolder when an archive wrapped the model in one
// top-level folder (as `tar czf m.tar.gz model/` does).
func ModelRoot(dir string) (string, error) {
	if _, err := os.Stat(filepath.Join(dir, MLmodelFile)); err == nil {
		return dir, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", err
	}
	var sub string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if !e.IsDir() || sub != "" {
			sub = ""
			break
		}
		sub = e.Name()
	}
	if sub != "" {
		if _, err := os.Stat(filepath.Join(dir, sub, MLmodelFile)); err == nil {
			return filepath.Join(dir, sub), nil
		}
	}
	return "", fmt.Errorf("%w: no %s file in %s", ErrBadMLmodel, MLmodelFile, dir)
}
