package tracking

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"github.com/mlgate/mlgate/artifacts"
)

// uploadConcurrency bounds parallel artifact uploads.
const uploadConcurrency = 8

// ArtifactURI returns the run's artifact root URI (cached per run).
func (c *Client) ArtifactURI(ctx context.Context, runID string) (string, error) {
	if v, ok := c.artURIs.Load(runID); ok {
		return v.(string), nil
	}
	r, err := c.GetRun(ctx, runID)
	if err != nil {
		return "", err
	}
	if r.Info.ArtifactURI == "" {
		return "", fmt.Errorf("run %s has no artifact URI", runID)
	}
	c.artURIs.Store(runID, r.Info.ArtifactURI)
	return r.Info.ArtifactURI, nil
}

// GetArtifactURI returns the URI of an artifact path in a run (the root when
// artifactPath is empty), as mlflow.get_artifact_uri does.
func (c *Client) GetArtifactURI(ctx context.Context, runID, artifactPath string) (string, error) {
	root, err := c.ArtifactURI(ctx, runID)
	if err != nil {
		return "", err
	}
	if artifactPath == "" {
		return root, nil
	}
	return strings.TrimRight(root, "/") + "/" + strings.TrimLeft(artifactPath, "/"), nil
}

func (c *Client) artifactRepo(ctx context.Context, runID string) (artifacts.Repo, error) {
	root, err := c.ArtifactURI(ctx, runID)
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(root, "mlflow-artifacts:") && c.transport == nil {
		// Embedded backend: the proxy's storage is ArtifactsDestination.
		dest := c.artDest
		if dest == "" {
			dest = "mlartifacts"
		}
		u, err := url.Parse(root)
		if err != nil {
			return nil, fmt.Errorf("artifact URI %q: %w", root, err)
		}
		repo, err := artifacts.Open(ctx, dest, c.repoOpts)
		if err != nil {
			return nil, err
		}
		return artifacts.Sub(repo, strings.Trim(u.Path, "/"))
	}
	return artifacts.Open(ctx, root, c.repoOpts)
}

// LogArtifact uploads a local file into the run's artifacts, under
// artifactPath (a folder; "" for the root).
func (c *Client) LogArtifact(ctx context.Context, runID, localPath, artifactPath string) error {
	st, err := os.Stat(localPath)
	if err != nil {
		return fmt.Errorf("log artifact: %w", err)
	}
	if st.IsDir() {
		return fmt.Errorf("log artifact: %s is a folder; use LogArtifacts", localPath)
	}
	repo, err := c.artifactRepo(ctx, runID)
	if err != nil {
		return err
	}
	return putFile(ctx, repo, localPath, path.Join(cleanArtifactPath(artifactPath), filepath.Base(localPath)), st.Size())
}

// LogArtifacts uploads a local folder's contents (recursively) into the
// run's artifacts under artifactPath, several files at a time.
func (c *Client) LogArtifacts(ctx context.Context, runID, localDir, artifactPath string) error {
	st, err := os.Stat(localDir)
	if err != nil {
		return fmt.Errorf("log artifacts: %w", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("log artifacts: %s is not a folder", localDir)
	}
	repo, err := c.artifactRepo(ctx, runID)
	if err != nil {
		return err
	}
	type job struct {
		local, rel string
		size       int64
	}
	var jobs []job
	err = filepath.WalkDir(localDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !d.Type().IsRegular() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(localDir, p)
		if err != nil {
			return err
		}
		jobs = append(jobs, job{p, path.Join(cleanArtifactPath(artifactPath), filepath.ToSlash(rel)), info.Size()})
		return nil
	})
	if err != nil {
		return fmt.Errorf("log artifacts: %w", err)
	}
	sem := make(chan struct{}, uploadConcurrency)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, j := range jobs {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := putFile(ctx, repo, j.local, j.rel, j.size); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

func cleanArtifactPath(p string) string {
	p = strings.Trim(path.Clean("/"+filepath.ToSlash(p)), "/")
	return p
}

func putFile(ctx context.Context, repo artifacts.Repo, local, rel string, size int64) error {
	f, err := os.Open(local)
	if err != nil {
		return fmt.Errorf("log artifact: %w", err)
	}
	defer func() { _ = f.Close() }()
	if err := repo.Put(ctx, rel, f, size); err != nil {
		return fmt.Errorf("log artifact %s: %w", local, err)
	}
	return nil
}

// ListArtifacts lists one level of a run's artifacts.
func (c *Client) ListArtifacts(ctx context.Context, runID, artifactPath string) ([]FileInfo, error) {
	if err := validateRunID(runID); err != nil {
		return nil, err
	}
	if c.transport != nil {
		return c.backend.ListArtifacts(ctx, runID, cleanArtifactPath(artifactPath))
	}
	repo, err := c.artifactRepo(ctx, runID)
	if err != nil {
		return nil, err
	}
	es, err := repo.List(ctx, cleanArtifactPath(artifactPath))
	if err != nil {
		return nil, err
	}
	out := make([]FileInfo, 0, len(es))
	for _, e := range es {
		fi := FileInfo{Path: e.Path, IsDir: e.IsDir}
		if !e.IsDir && e.Size >= 0 {
			fi.FileSize = Int64(e.Size)
		}
		out = append(out, fi)
	}
	return out, nil
}

// DownloadArtifacts downloads a run's artifact path (file or folder) into
// dst, which must not exist or be empty.
func (c *Client) DownloadArtifacts(ctx context.Context, runID, artifactPath, dst string, o artifacts.DownloadOptions) error {
	repo, err := c.artifactRepo(ctx, runID)
	if err != nil {
		return err
	}
	if o.Logger == nil {
		o.Logger = c.log
	}
	return artifacts.Download(ctx, repo, cleanArtifactPath(artifactPath), dst, o)
}
