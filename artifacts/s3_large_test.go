//go:build integration

package artifacts

import (
	"context"
	"crypto/sha256"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"golang.org/x/sync/errgroup"
)

// TestS3LargeArtifactInPartsAndRanges uploads 200 MB streamed from a
// seeded generator (never held in memory), checks S3 stored it as a
// multipart object, downloads it in parallel ranges with OpenRange, and
// compares the checksums.
func TestS3LargeArtifactInPartsAndRanges(t *testing.T) {
	m := startMoto(t)
	m.createBucket(t, "big")
	r := m.open(t, "s3://big/run/artifacts", m.options())
	ctx := context.Background()
	const size = 200 << 20
	sent := sha256.New()
	if err := r.Put(ctx, "model/weights.bin", io.TeeReader(io.LimitReader(newPRNG(7), size), sent), size); err != nil {
		t.Fatal(err)
	}
	h, err := m.admin(t).HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("big"), Key: aws.String("run/artifacts/model/weights.bin")})
	if err != nil {
		t.Fatal(err)
	}
	etag := strings.Trim(aws.ToString(h.ETag), `"`)
	_, count, _ := strings.Cut(etag, "-")
	if n, err := strconv.Atoi(count); err != nil || n < 2 || aws.ToInt64(h.ContentLength) != size {
		t.Fatalf("stored as ETag %s, %d bytes: want a multipart object (ETag ending -N, N > 1)", etag, aws.ToInt64(h.ContentLength))
	}
	es, err := r.List(ctx, "model")
	if err != nil || len(es) != 1 || es[0].Size != size {
		t.Fatalf("list = %v, %v", es, err)
	}

	// Parallel ranges of 16 MiB (the last one shorter) into one file.
	f, err := os.Create(filepath.Join(t.TempDir(), "weights.bin"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	const chunk = 16 << 20
	var g errgroup.Group
	g.SetLimit(4)
	for off := int64(0); off < size; off += chunk {
		g.Go(func() error {
			rc, err := r.OpenRange(ctx, "model/weights.bin", off, min(chunk, size-off))
			if err != nil {
				return err
			}
			defer func() { _ = rc.Close() }()
			_, err = io.Copy(io.NewOffsetWriter(f, off), rc)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	got := sha256.New()
	if n, err := io.Copy(got, io.NewSectionReader(f, 0, size+1)); err != nil || n != size {
		t.Fatalf("downloaded %d bytes: %v", n, err)
	}
	if string(got.Sum(nil)) != string(sent.Sum(nil)) {
		t.Fatalf("sha256 of the ranged download %x != uploaded %x", got.Sum(nil), sent.Sum(nil))
	}
	// A range past the end of the object is refused by the store.
	if rc, err := r.OpenRange(ctx, "model/weights.bin", size+10, 5); err == nil {
		_ = rc.Close()
		t.Error("a range past the end was served")
	}
}

// TestS3PutUnknownSize stores bodies of unknown size (-1), as a proxied
// HTTP upload without Content-Length gives them: a small one in one
// request, a large one in parts.
func TestS3PutUnknownSize(t *testing.T) {
	m := startMoto(t)
	m.createBucket(t, "unsized")
	r := m.open(t, "s3://unsized/p", m.options())
	ctx := context.Background()
	for name, size := range map[string]int64{"small.bin": 1000, "large.bin": 40 << 20} {
		sent := sha256.New()
		if err := r.Put(ctx, name, io.TeeReader(io.LimitReader(newPRNG(3), size), sent), -1); err != nil {
			t.Fatalf("put %s: %v", name, err)
		}
		rc, n, err := r.Open(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		got := sha256.New()
		copied, err := io.Copy(got, rc)
		_ = rc.Close()
		if err != nil || copied != size || n != size || string(got.Sum(nil)) != string(sent.Sum(nil)) {
			t.Fatalf("%s: read %d bytes (size %d, want %d), %v, checksum equal %t", name, copied, n, size, err,
				string(got.Sum(nil)) == string(sent.Sum(nil)))
		}
		h, err := m.admin(t).HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("unsized"), Key: aws.String("p/" + name)})
		if err != nil {
			t.Fatal(err)
		}
		if multipart := strings.Contains(aws.ToString(h.ETag), "-"); multipart != (size > s3PartSize) {
			t.Errorf("%s: ETag %s: multipart %t, want %t", name, aws.ToString(h.ETag), multipart, size > s3PartSize)
		}
	}
}
