package pkgformat

import (
	"archive/tar"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/mholt/archives"
)

// hardLinkFlag reports whether an archive header is a tar hard link.
func hardLinkFlag(h any) bool {
	switch t := h.(type) {
	case *tar.Header:
		return t.Typeflag == tar.TypeLink
	case tar.Header:
		return t.Typeflag == tar.TypeLink
	}
	return false
}

// archiveFormat picks the archive format from dst's extension.
func archiveFormat(dst string) (archives.Archiver, error) {
	lower := strings.ToLower(dst)
	switch {
	case strings.HasSuffix(lower, ".tar.gz"), strings.HasSuffix(lower, ".tgz"):
		return archives.CompressedArchive{Archival: archives.Tar{}, Compression: archives.Gz{}}, nil
	case strings.HasSuffix(lower, ".zip"):
		return archives.Zip{}, nil
	case strings.HasSuffix(lower, ".tar"):
		return archives.Tar{}, nil
	}
	return nil, fmt.Errorf("archive %s: unsupported extension (want .tar.gz, .tgz, .zip or .tar)", dst)
}

// Pack writes the contents of dir (not dir itself) into the archive dst,
// whose format follows its extension: .tar.gz or .tgz, .zip, or .tar. The
// archive is written to a temp file beside dst and renamed into place.
func Pack(ctx context.Context, dir, dst string) (err error) {
	format, err := archiveFormat(dst)
	if err != nil {
		return err
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("pack %s: not a folder", dir)
	}
	files, err := archives.FilesFromDisk(ctx, nil, map[string]string{
		filepath.Clean(dir) + string(filepath.Separator): "",
	})
	if err != nil {
		return fmt.Errorf("pack %s: %w", dir, err)
	}
	out, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := out.Name()
	defer func() {
		if err != nil {
			_ = out.Close()
			_ = os.Remove(tmp)
		}
	}()
	if err = format.Archive(ctx, out, files); err != nil {
		return fmt.Errorf("pack %s: %w", dir, err)
	}
	if err = out.Close(); err != nil {
		return err
	}
	if err = os.Chmod(tmp, 0o644); err != nil { //nolint:gosec // archives are shared artifacts
		return err
	}
	return os.Rename(tmp, dst)
}

// CheckArchiveName reports whether Pack can write an archive named dst.
func CheckArchiveName(dst string) error {
	_, err := archiveFormat(dst)
	return err
}
