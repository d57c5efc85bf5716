package app

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/mlgate/mlgate/pkgformat"
)

func TestArchiveSource(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "m")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, pkgformat.MLmodelFile), []byte("flavors: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(t.TempDir(), "m.tar.gz")
	if err := pkgformat.Pack(context.Background(), dir, archive); err != nil {
		t.Fatal(err)
	}
	src := &archiveSource{}
	for _, uri := range []string{dir, "file://" + dir} {
		got, err := src.Fetch(context.Background(), uri)
		if err != nil || got != dir {
			t.Fatalf("Fetch(%s) = %q, %v; want the folder itself", uri, got, err)
		}
	}
	got, err := src.Fetch(context.Background(), archive)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(got, pkgformat.MLmodelFile)); err != nil {
		t.Fatalf("extracted folder %s has no MLmodel: %v", got, err)
	}
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(got); !os.IsNotExist(err) {
		t.Fatalf("extracted folder %s not removed: %v", got, err)
	}
	if _, err := src.Fetch(context.Background(), filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Fatal("a missing path must fail")
	}
	notArchive := filepath.Join(t.TempDir(), "x.txt")
	_ = os.WriteFile(notArchive, []byte("hello"), 0o644)
	if _, err := src.Fetch(context.Background(), notArchive); err == nil {
		t.Fatal("a file that is not an archive must fail")
	}
	_ = src.Close()
}
