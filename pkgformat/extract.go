package pkgformat

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/mholt/archives"
)

// Sentinel errors of Extract (wrapped in an *ArchiveError).
var (
	// ErrUnsafeArchive means an entry would land outside the target or is
	// a kind of file a model folder never holds (a device, a FIFO).
	ErrUnsafeArchive error = formatError("unsafe archive entry")
	// ErrArchiveTooLarge means the archive expands past a Limits cap.
	ErrArchiveTooLarge error = formatError("archive exceeds the extraction limits")
	// ErrNotArchive means the input is not an archive format mlgate reads.
	ErrNotArchive error = formatError("not a supported archive")
)

// Limits caps what Extract writes. Zero fields take the defaults.
type Limits struct {
	// MaxBytes caps the total size of extracted files.
	MaxBytes int64
	// MaxEntries caps the number of entries (files, folders and links).
	MaxEntries int
}

// Default extraction limits.
const (
	DefaultMaxBytes   = 8 << 30
	DefaultMaxEntries = 100_000
)

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxEntries <= 0 {
		l.MaxEntries = DefaultMaxEntries
	}
	return l
}

// ArchiveError is an extraction failure tied to one archive entry.
type ArchiveError struct {
	Entry  string
	Reason string
	Err    error
}

func (e *ArchiveError) Error() string {
	if e.Entry == "" {
		return fmt.Sprintf("%s: %s", e.Err, e.Reason)
	}
	return fmt.Sprintf("%s: entry %q: %s", e.Err, e.Entry, e.Reason)
}

func (e *ArchiveError) Unwrap() error { return e.Err }

// ErrorCode maps an archive error to MLflow's INVALID_PARAMETER_VALUE.
func (e *ArchiveError) ErrorCode() string { return "INVALID_PARAMETER_VALUE" }

// ExtractFile extracts the archive at archivePath into target; see Extract.
func ExtractFile(ctx context.Context, archivePath, target string, lim Limits) error {
	f, err := os.Open(archivePath)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	return Extract(ctx, f, filepath.Base(archivePath), target, lim)
}

// Extract unpacks an archive (any format github.com/mholt/archives reads:
// .tar, .tar.gz, .zip, …, recognized from its content, with name as a hint)
// into target, which must not exist or be an empty folder.
//
// It refuses entries with ".." or absolute paths, symlinks and hard links
// that point outside the target or that entries would be written through,
// and device files, FIFOs and sockets; it stops at lim's size and entry
// caps. The error names the entry. Everything is first written to a
// temporary folder beside target, renamed into place only on success, so a
// failure leaves nothing behind.
func Extract(ctx context.Context, src io.Reader, name, target string, lim Limits) (err error) {
	lim = lim.withDefaults()
	if err := checkTarget(target); err != nil {
		return err
	}
	format, stream, err := archives.Identify(ctx, name, src)
	if err != nil {
		return &ArchiveError{Reason: fmt.Sprintf("cannot identify %q: %v", name, err), Err: ErrNotArchive}
	}
	ex, ok := format.(archives.Extractor)
	if !ok {
		return &ArchiveError{Reason: fmt.Sprintf("%q is %s data, not an archive", name, format.Extension()), Err: ErrNotArchive}
	}
	if needsReaderAt(format) {
		if _, ok := stream.(interface {
			io.ReaderAt
			io.Seeker
		}); !ok {
			spooled, cleanup, err := spool(ctx, stream, lim.MaxBytes)
			if err != nil {
				return err
			}
			defer cleanup()
			stream = spooled
		}
	}
	parent := filepath.Dir(target)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(target)+".extract-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = os.RemoveAll(tmp)
		}
	}()
	root, err := os.OpenRoot(tmp)
	if err != nil {
		return err
	}
	x := &extractor{root: root, lim: lim, links: map[string]bool{}, files: map[string]bool{}}
	err = ex.Extract(ctx, stream, x.handle)
	if cerr := root.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		var ae *ArchiveError
		if errors.As(err, &ae) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		return &ArchiveError{Reason: fmt.Sprintf("reading %q: %v", name, err), Err: ErrNotArchive}
	}
	if err = os.Chmod(tmp, 0o755); err != nil { //nolint:gosec // model folders are world-readable
		return err
	}
	if _, statErr := os.Lstat(target); statErr == nil {
		if err = os.Remove(target); err != nil { // empty, checked above
			return err
		}
	}
	return os.Rename(tmp, target)
}

func needsReaderAt(f archives.Format) bool {
	switch f.(type) {
	case archives.Zip, archives.SevenZip:
		return true
	}
	return false
}

// checkTarget accepts a missing path or an empty folder.
func checkTarget(target string) error {
	fi, err := os.Lstat(target)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("extract target %s exists and is not a folder", target)
	}
	entries, err := os.ReadDir(target)
	if err != nil {
		return err
	}
	if len(entries) > 0 {
		return fmt.Errorf("extract target %s is not empty", target)
	}
	return nil
}

// spool copies a non-seekable stream to a temp file (zip needs ReaderAt).
func spool(ctx context.Context, r io.Reader, limit int64) (*os.File, func(), error) {
	f, err := os.CreateTemp("", "mlgate-archive-*")
	if err != nil {
		return nil, nil, err
	}
	cleanup := func() { _ = f.Close(); _ = os.Remove(f.Name()) }
	n, err := io.Copy(f, io.LimitReader(ctxReader{ctx, r}, limit+1))
	if err == nil && n > limit {
		err = &ArchiveError{Reason: fmt.Sprintf("archive is larger than %d bytes", limit), Err: ErrArchiveTooLarge}
	}
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	return f, cleanup, nil
}

type ctxReader struct {
	ctx context.Context //nolint:containedctx // scoped to one copy
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

type extractor struct {
	root    *os.Root
	lim     Limits
	written int64
	entries int
	links   map[string]bool // symlinks created, by clean path
	files   map[string]bool // regular files created, by clean path
}

func (x *extractor) handle(ctx context.Context, f archives.FileInfo) error {
	raw := f.NameInArchive
	bad := func(err error, format string, args ...any) error {
		return &ArchiveError{Entry: raw, Reason: fmt.Sprintf(format, args...), Err: err}
	}
	x.entries++
	if x.entries > x.lim.MaxEntries {
		return bad(ErrArchiveTooLarge, "more than %d entries", x.lim.MaxEntries)
	}
	name, err := cleanEntryName(raw)
	if err != nil {
		return bad(ErrUnsafeArchive, "%v", err)
	}
	if name == "." {
		if f.IsDir() {
			return nil
		}
		return bad(ErrUnsafeArchive, "entry names the extraction root")
	}
	if through := x.throughLink(name); through != "" {
		return bad(ErrUnsafeArchive, "path goes through the symlink %q", through)
	}
	mode := f.Mode()
	switch {
	case mode.IsDir():
		if err := x.root.MkdirAll(filepath.FromSlash(name), 0o755); err != nil {
			return bad(ErrUnsafeArchive, "create folder: %v", err)
		}
		return nil
	case mode&fs.ModeSymlink != 0:
		return x.symlink(name, f.LinkTarget, bad)
	case isHardLink(f):
		return x.hardlink(name, f.LinkTarget, bad)
	case mode&(fs.ModeDevice|fs.ModeCharDevice|fs.ModeNamedPipe|fs.ModeSocket|fs.ModeIrregular) != 0:
		return bad(ErrUnsafeArchive, "device, FIFO or socket files are not allowed (mode %v)", mode)
	case !mode.IsRegular():
		return bad(ErrUnsafeArchive, "unsupported entry type (mode %v)", mode)
	}
	if x.written+f.Size() > x.lim.MaxBytes {
		return bad(ErrArchiveTooLarge, "total size would pass the %d-byte cap", x.lim.MaxBytes)
	}
	if err := x.mkParents(name); err != nil {
		return bad(ErrUnsafeArchive, "%v", err)
	}
	perm := mode.Perm()&0o755 | 0o600
	out, err := x.root.OpenFile(filepath.FromSlash(name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return bad(ErrUnsafeArchive, "create file: %v", err)
	}
	in, err := f.Open()
	if err != nil {
		_ = out.Close()
		return bad(ErrNotArchive, "open: %v", err)
	}
	budget := x.lim.MaxBytes - x.written
	n, err := io.Copy(out, io.LimitReader(ctxReader{ctx, in}, budget+1))
	_ = in.Close()
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	x.written += n
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		return bad(ErrNotArchive, "read: %v", err)
	}
	if n > budget {
		return bad(ErrArchiveTooLarge, "total size passes the %d-byte cap", x.lim.MaxBytes)
	}
	x.files[name] = true
	return nil
}

// cleanEntryName validates an entry name and returns it cleaned, slash
// separated and relative.
func cleanEntryName(raw string) (string, error) {
	switch {
	case raw == "":
		return "", errors.New("empty name")
	case strings.ContainsRune(raw, 0):
		return "", errors.New("NUL byte in name")
	case strings.Contains(raw, `\`):
		return "", errors.New(`backslash in name`)
	case strings.HasPrefix(raw, "/") || (len(raw) >= 2 && raw[1] == ':'):
		return "", errors.New("absolute path")
	}
	for _, part := range strings.Split(raw, "/") {
		if part == ".." {
			return "", errors.New(`".." in path`)
		}
	}
	return path.Clean(raw), nil
}

// throughLink returns the symlink that name would be written through.
func (x *extractor) throughLink(name string) string {
	for dir := path.Dir(name); dir != "." && dir != "/"; dir = path.Dir(dir) {
		if x.links[dir] {
			return dir
		}
	}
	return ""
}

func (x *extractor) mkParents(name string) error {
	if dir := path.Dir(name); dir != "." {
		if err := x.root.MkdirAll(filepath.FromSlash(dir), 0o755); err != nil {
			return fmt.Errorf("create parent folder: %w", err)
		}
	}
	return nil
}

func (x *extractor) symlink(name, target string, bad func(error, string, ...any) error) error {
	if target == "" || strings.ContainsRune(target, 0) || strings.Contains(target, `\`) {
		return bad(ErrUnsafeArchive, "symlink with an empty or malformed target")
	}
	if path.IsAbs(target) {
		return bad(ErrUnsafeArchive, "symlink to the absolute path %q points outside the target", target)
	}
	resolved := path.Join(path.Dir(name), target)
	if !filepath.IsLocal(filepath.FromSlash(resolved)) {
		return bad(ErrUnsafeArchive, "symlink to %q points outside the target", target)
	}
	if err := x.mkParents(name); err != nil {
		return bad(ErrUnsafeArchive, "%v", err)
	}
	if err := x.root.Symlink(target, filepath.FromSlash(name)); err != nil {
		return bad(ErrUnsafeArchive, "create symlink: %v", err)
	}
	x.links[name] = true
	return nil
}

func isHardLink(f archives.FileInfo) bool { return hardLinkFlag(f.Header) }

func (x *extractor) hardlink(name, target string, bad func(error, string, ...any) error) error {
	clean, err := cleanEntryName(target)
	if err != nil || clean == "." {
		return bad(ErrUnsafeArchive, "hard link to %q points outside the target", target)
	}
	if !x.files[clean] {
		return bad(ErrUnsafeArchive, "hard link to %q, which is not a file extracted before it", target)
	}
	if err := x.mkParents(name); err != nil {
		return bad(ErrUnsafeArchive, "%v", err)
	}
	if err := x.root.Link(filepath.FromSlash(clean), filepath.FromSlash(name)); err != nil {
		return bad(ErrUnsafeArchive, "create hard link: %v", err)
	}
	x.files[name] = true
	return nil
}
