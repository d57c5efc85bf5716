package artifacts

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
)

// Cache is a content-addressed store of downloaded artifact trees. A tree's
// key is a hash of its root URI and its listing (paths and sizes), so a
// tree is reused while the listing is unchanged and fetched again when it
// changes. Trees appear only complete: they are downloaded into a temporary
// folder, verified and renamed into place.
type Cache struct {
	// Dir is the cache root; it is created when needed.
	Dir string
}

// Fetch returns a local folder holding the tree at rel in r, downloading it
// unless an intact copy is cached. If rel names a single file, the folder
// holds that file under its base name.
func (c *Cache) Fetch(ctx context.Context, r Repo, rel string, o DownloadOptions) (string, error) {
	o = o.withDefaults()
	files, strip, err := listTree(ctx, r, rel)
	if err != nil {
		return "", err
	}
	key := treeKey(r.URI(), rel, files)
	final := filepath.Join(c.Dir, key)
	if verifyTree(final, r.URI(), files, strip) == nil {
		o.Logger.DebugContext(ctx, "artifact cache hit", "uri", r.URI(), "path", rel, "dir", final)
		return final, nil
	}
	if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return "", fmt.Errorf("artifact cache: %w", err)
	}
	// An entry that failed verification (edited or truncated by hand) is
	// replaced; a partial download is never under a final name.
	if _, err := os.Stat(final); err == nil {
		o.Logger.WarnContext(ctx, "artifact cache entry is damaged; fetching again", "dir", final)
		if err := os.RemoveAll(final); err != nil {
			return "", fmt.Errorf("artifact cache: %w", err)
		}
	}
	tmp, err := os.MkdirTemp(c.Dir, ".tmp-"+key[:12]+"-")
	if err != nil {
		return "", fmt.Errorf("artifact cache: %w", err)
	}
	defer func() { _ = os.RemoveAll(tmp) }() // no-op after the rename
	if err := downloadFiles(ctx, r, files, strip, tmp, o); err != nil {
		return "", err
	}
	if err := verifyTree(tmp, r.URI(), files, strip); err != nil {
		return "", fmt.Errorf("download %s: %w", r.URI(), err)
	}
	if err := os.Rename(tmp, final); err != nil {
		// Another process may have finished the same tree first.
		if verifyTree(final, r.URI(), files, strip) == nil {
			return final, nil
		}
		return "", fmt.Errorf("artifact cache: %w", err)
	}
	return final, nil
}

// Download fetches the tree at rel into dst, which must not exist or be an
// empty folder. It downloads into a temporary sibling and renames it, so dst
// never holds a partial tree.
func Download(ctx context.Context, r Repo, rel, dst string, o DownloadOptions) error {
	if err := prepareDst(dst); err != nil {
		return err
	}
	files, strip, err := listTree(ctx, r, rel)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(filepath.Clean(dst)), "."+filepath.Base(dst)+".tmp-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	if err := downloadFiles(ctx, r, files, strip, tmp, o); err != nil {
		return err
	}
	if err := verifyTree(tmp, r.URI(), files, strip); err != nil {
		return err
	}
	_ = os.Remove(dst) // an empty folder
	return os.Rename(tmp, dst)
}

// CopyTree copies a cached tree into dst (same rules as Download).
func CopyTree(src, dst string) error {
	if err := prepareDst(dst); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(filepath.Clean(dst)), "."+filepath.Base(dst)+".tmp-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	err = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(tmp, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		return copyFile(p, target)
	})
	if err != nil {
		return err
	}
	_ = os.Remove(dst)
	return os.Rename(tmp, dst)
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer func() { _ = in.Close() }()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close()
		return err
	}
	return out.Close()
}

func prepareDst(dst string) error {
	des, err := os.ReadDir(dst)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return os.MkdirAll(filepath.Dir(filepath.Clean(dst)), 0o755)
	case err != nil:
		return fmt.Errorf("destination %s: %w", dst, err)
	case len(des) > 0:
		return fmt.Errorf("destination %s exists and is not empty", dst)
	}
	return nil
}

// listTree lists the files under rel; when rel is a single file it returns
// that file and strip = its parent so that it lands under its base name.
func listTree(ctx context.Context, r Repo, rel string) ([]Entry, string, error) {
	files, err := Walk(ctx, r, rel)
	if err != nil {
		return nil, "", err
	}
	if len(files) > 0 {
		return files, rel, nil
	}
	// Not a folder (or an empty one): try it as one file.
	rc, size, err := r.Open(ctx, rel)
	if err != nil {
		return nil, "", fmt.Errorf("nothing found at %q: %w", rel, err)
	}
	_ = rc.Close()
	parent := path.Dir(rel)
	if parent == "." {
		parent = ""
	}
	return []Entry{{Path: rel, Size: size}}, parent, nil
}

func treeKey(uri, rel string, files []Entry) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00", uri, rel)
	for _, f := range files {
		fmt.Fprintf(h, "%s\x00%d\x00", f.Path, f.Size)
	}
	return hex.EncodeToString(h.Sum(nil))[:40]
}

// verifyTree checks that every listed file exists under dir with the listed
// size.
func verifyTree(dir, uri string, files []Entry, strip string) error {
	for _, f := range files {
		rel := localRel(uri, f, strip)
		st, err := os.Stat(filepath.Join(dir, filepath.FromSlash(rel)))
		if err != nil {
			return err
		}
		if f.Size >= 0 && st.Size() != f.Size {
			return fmt.Errorf("%s: %w: %s bytes on disk, %d listed", rel, ErrSizeMismatch, strconv.FormatInt(st.Size(), 10), f.Size)
		}
	}
	return nil
}

// localRel is where a listed file lands in the download folder: its path
// under strip, or for a single file its base name (taken from the URI when
// the URI is the file itself).
func localRel(uri string, f Entry, strip string) string {
	rel := strings.TrimPrefix(strings.TrimPrefix(f.Path, strip), "/")
	if rel == "" {
		rel = path.Base(f.Path)
	}
	if rel == "." || rel == "/" {
		rel = "artifact"
		if u, err := url.Parse(uri); err == nil {
			if b := path.Base(u.Path); b != "." && b != "/" {
				rel = b
			}
		}
	}
	return rel
}
