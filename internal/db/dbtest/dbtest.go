// Package dbtest gives tests fresh, empty stores: a SQLite file in the
// test's temp folder, or a new PostgreSQL database created on the server
// named by MLGATE_TEST_POSTGRES_DSN (started by `make test`) and dropped at
// the end of the test. Only tests import it.
package dbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/mlgate/mlgate/internal/db"
)

// Backend is a named way to get a fresh store URI.
type Backend struct {
	Name string
	// URI returns a fresh store URI for t, cleaned up with t.
	URI func(t testing.TB) string
}

// SQLiteURI returns the URI of a new SQLite file in t's temp folder.
func SQLiteURI(t testing.TB) string {
	return "sqlite:///" + filepath.Join(t.TempDir(), "mlgate.db")
}

// PostgresURI creates a new database on the server named by
// MLGATE_TEST_POSTGRES_DSN and returns its URI; the database is dropped when
// t ends. A missing DSN fails the test: integration tests need the real
// server, which `make test` starts.
func PostgresURI(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("MLGATE_TEST_POSTGRES_DSN")
	if dsn == "" {
		t.Fatal("MLGATE_TEST_POSTGRES_DSN is not set: run the tests with `make gotest`, which starts PostgreSQL")
	}
	ctx := context.Background()
	admin, err := db.Open(ctx, dsn)
	if err != nil {
		t.Fatalf("open admin postgres: %v", err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "t_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		_ = admin.Close()
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		_, _ = admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		_ = admin.Close()
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// Backends lists SQLite and PostgreSQL, for table tests that run on both.
func Backends() []Backend {
	return []Backend{{Name: "sqlite", URI: SQLiteURI}, {Name: "postgres", URI: PostgresURI}}
}

// Open opens a fresh store of backend b for t, closed with t.
func Open(t testing.TB, b Backend) *db.DB {
	t.Helper()
	d, err := db.Open(context.Background(), b.URI(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

// AtOnce runs fn(i) for i in [0, n) in n goroutines released at the same
// moment, and returns their errors by i.
func AtOnce(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = fn(i)
		}()
	}
	close(start)
	wg.Wait()
	return errs
}

// OnReplicas runs fn(i, replica) for i in [0, n) at once (AtOnce),
// alternating the replicas.
func OnReplicas[S any](rs []S, n int, fn func(i int, s S) error) []error {
	return AtOnce(n, func(i int) error { return fn(i, rs[i%len(rs)]) })
}

// Replicas opens n handles (separate connection pools, as separate
// processes have) on one fresh, empty database of backend b and opens a
// store on each with open, all at once, as replicas of `mlgate server`
// starting together do. A replica that fails to start fails t.
func Replicas[S any](t testing.TB, b Backend, n int, open func(ctx context.Context, d *db.DB) (S, error)) []S {
	t.Helper()
	uri := b.URI(t)
	ctx := context.Background()
	handles := make([]*db.DB, n)
	for i := range handles {
		d, err := db.Open(ctx, uri)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = d.Close() })
		handles[i] = d
	}
	out := make([]S, n)
	errs := AtOnce(n, func(i int) error {
		var err error
		out[i], err = open(ctx, handles[i])
		return err
	})
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("replicas starting together: %v", err)
	}
	return out
}
