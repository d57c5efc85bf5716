package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/mlgate/mlgate/pkgformat"
	"github.com/mlgate/mlgate/serve"
)

// archiveSource serves archives made by `mlgate models package` (or any
// .tar/.tar.gz/.zip holding a model folder): a local file is extracted with
// pkgformat's safe extractor into a temporary folder, removed by Close.
// Every other URI goes to next.
type archiveSource struct {
	next serve.ModelSource
	mu   sync.Mutex
	tmps []string
}

func (a *archiveSource) Fetch(ctx context.Context, uri string) (string, error) {
	u, err := pkgformat.ParseURI(uri)
	if err == nil && u.Kind == pkgformat.KindLocal {
		st, serr := os.Stat(u.Path)
		switch {
		case serr == nil && st.IsDir():
			return u.Path, nil
		case serr == nil && st.Mode().IsRegular() && filepath.Base(u.Path) != pkgformat.MLmodelFile:
			return a.extract(ctx, u.Path)
		case serr != nil && a.next == nil:
			return "", fmt.Errorf("model %s: %w", uri, serr)
		}
	}
	if a.next == nil {
		if err != nil {
			return "", err
		}
		return "", fmt.Errorf("%s: no model source can fetch this URI", uri)
	}
	return a.next.Fetch(ctx, uri)
}

func (a *archiveSource) extract(ctx context.Context, path string) (string, error) {
	tmp, err := os.MkdirTemp("", "mlgate-serve-")
	if err != nil {
		return "", err
	}
	a.mu.Lock()
	a.tmps = append(a.tmps, tmp)
	a.mu.Unlock()
	target := filepath.Join(tmp, "model")
	if err := pkgformat.ExtractFile(ctx, path, target, pkgformat.Limits{}); err != nil {
		return "", fmt.Errorf("extract %s: %w", path, err)
	}
	return modelRoot(target)
}

// modelRoot finds the folder holding MLmodel: the archive's top level or
// its single top-level folder.
func modelRoot(dir string) (string, error) {
	if _, err := os.Stat(filepath.Join(dir, pkgformat.MLmodelFile)); err == nil {
		return dir, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", err
	}
	var found []string
	for _, e := range entries {
		if e.IsDir() {
			if _, err := os.Stat(filepath.Join(dir, e.Name(), pkgformat.MLmodelFile)); err == nil {
				found = append(found, filepath.Join(dir, e.Name()))
			}
		}
	}
	if len(found) != 1 {
		return "", errors.New("the archive holds no MLmodel file at its top level or in a single top-level folder")
	}
	return found[0], nil
}

// Close removes the extracted folders.
func (a *archiveSource) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	var errs []error
	for _, t := range a.tmps {
		errs = append(errs, os.RemoveAll(t))
	}
	a.tmps = nil
	return errors.Join(errs...)
}
