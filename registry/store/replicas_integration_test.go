//go:build integration

package store_test

import (
	"context"
	"fmt"
	"sort"
	"testing"

	"github.com/mlgate/mlgate/internal/db"
	"github.com/mlgate/mlgate/internal/db/dbtest"
	"github.com/mlgate/mlgate/registry/store"
)

// withVersions creates model name with n versions through rs[0].
func withVersions(t *testing.T, rs []*store.Store, name string, n int) {
	t.Helper()
	ctx := context.Background()
	must(rs[0].CreateRegisteredModel(ctx, name, nil, ""))
	for i := 0; i < n; i++ {
		must(rs[0].CreateModelVersion(ctx, store.CreateVersion{Name: name, Source: fmt.Sprintf("s3://b/%d", i)}))
	}
}

func eachReplicaSet(t *testing.T, fn func(t *testing.T, rs []*store.Store)) {
	for _, b := range dbtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			fn(t, dbtest.Replicas(t, b, 2, func(ctx context.Context, d *db.DB) (*store.Store, error) {
				return store.New(ctx, d, store.Options{})
			}))
		})
	}
}

func TestReplicasNumberVersionsWithoutGapsOrDuplicates(t *testing.T) {
	eachReplicaSet(t, func(t *testing.T, rs []*store.Store) {
		ctx := context.Background()
		errs := dbtest.OnReplicas(rs, 8, func(_ int, s *store.Store) error {
			_, err := s.CreateRegisteredModel(ctx, "shared", nil, "")
			return err
		})
		created := 0
		for _, err := range errs {
			if err == nil {
				created++
			} else {
				mustCode(t, err, store.CodeResourceAlreadyExists)
			}
		}
		if created != 1 {
			t.Fatalf("%d replicas created the model, want 1", created)
		}
		const n = 24
		got := make([]int64, n)
		for _, err := range dbtest.OnReplicas(rs, n, func(i int, s *store.Store) error {
			mv, err := s.CreateModelVersion(ctx, store.CreateVersion{Name: "shared", Source: fmt.Sprintf("s3://b/%d", i)})
			if err == nil {
				got[i] = mv.Version
			}
			return err
		}) {
			if err != nil {
				t.Fatalf("create version: %v", err)
			}
		}
		sort.Slice(got, func(i, j int) bool { return got[i] < got[j] })
		for i, v := range got {
			if v != int64(i+1) {
				t.Fatalf("version numbers %v, want 1..%d each once", got, n)
			}
		}
		page := must(rs[1].SearchModelVersions(ctx, "name='shared'", 1000, nil, ""))
		if len(page.Items) != n {
			t.Fatalf("the other replica sees %d versions, want %d", len(page.Items), n)
		}
	})
}

// TestReplicasLeaveNoAliasOnADeletedVersion moves an alias onto versions
// through one replica while the other deletes them: every alias left
// points at a version that exists.
func TestReplicasLeaveNoAliasOnADeletedVersion(t *testing.T) {
	eachReplicaSet(t, func(t *testing.T, rs []*store.Store) {
		ctx := context.Background()
		const n = 12
		withVersions(t, rs, "m", n)
		dbtest.OnReplicas(rs, 2*n, func(i int, s *store.Store) error {
			v := fmt.Sprint(i/2 + 1)
			if i%2 == 0 {
				return s.SetRegisteredModelAlias(ctx, "m", "a"+v, v)
			}
			return s.DeleteModelVersion(ctx, "m", v)
		})
		rm := must(rs[1].GetRegisteredModel(ctx, "m"))
		for _, a := range rm.Aliases {
			if _, err := rs[1].GetModelVersionByAlias(ctx, "m", a.Alias); err != nil {
				t.Fatalf("alias %s points at deleted version %d: %v", a.Alias, a.Version, err)
			}
		}
		page := must(rs[1].SearchModelVersions(ctx, "name='m'", 1000, nil, ""))
		if len(page.Items) != 0 {
			t.Fatalf("%d versions left, want every one deleted", len(page.Items))
		}
	})
}

// TestReplicasKeepOneVersionInAnArchivingStage moves every version to
// Production with archive_existing_versions through both replicas at once:
// one version ends in Production, the others Archived.
func TestReplicasKeepOneVersionInAnArchivingStage(t *testing.T) {
	eachReplicaSet(t, func(t *testing.T, rs []*store.Store) {
		ctx := context.Background()
		const n = 8
		withVersions(t, rs, "m", n)
		for _, err := range dbtest.OnReplicas(rs, n, func(i int, s *store.Store) error {
			_, err := s.TransitionModelVersionStage(ctx, "m", fmt.Sprint(i+1), "Production", true)
			return err
		}) {
			if err != nil {
				t.Fatal(err)
			}
		}
		prod := must(rs[1].GetLatestVersions(ctx, "m", []string{"Production"}))
		page := must(rs[1].SearchModelVersions(ctx, "name='m'", 1000, nil, ""))
		inProd := 0
		for _, mv := range page.Items {
			if mv.CurrentStage == store.StageProduction {
				inProd++
			}
		}
		if inProd != 1 || len(prod) != 1 {
			t.Fatalf("%d versions in Production, want 1", inProd)
		}
	})
}
