//go:build integration

package store_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"sync"
	"testing"

	"github.com/mlgate/mlgate/internal/db/dbtest"
	"github.com/mlgate/mlgate/registry/store"
)

func eachBackend(t *testing.T, fn func(t *testing.T, s *store.Store)) {
	t.Helper()
	for _, b := range dbtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			d := dbtest.Open(t, b)
			s, err := store.New(context.Background(), d, store.Options{
				RunArtifactURI: func(_ context.Context, runID string) (string, error) {
					if runID == "run1" {
						return "/srv/artifacts/1/run1/artifacts", nil
					}
					if runID == "run2" {
						return "mlflow-artifacts:/1/run2/artifacts", nil
					}
					return "", fmt.Errorf("run %s: %w", runID, store.ErrNotFound)
				},
				LoggedModel: func(_ context.Context, id string) (store.LoggedModel, error) {
					if id == "m-abc" {
						return store.LoggedModel{ArtifactLocation: "mlflow-artifacts:/1/models/m-abc/artifacts", SourceRunID: "run9"}, nil
					}
					return store.LoggedModel{}, fmt.Errorf("model %s: %w", id, store.ErrNotFound)
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			fn(t, s)
		})
	}
}

func code(err error) string {
	var e *store.Error
	if errors.As(err, &e) {
		return e.Code
	}
	if err == nil {
		return ""
	}
	return "OTHER: " + err.Error()
}

func mustCode(t *testing.T, err error, want string) {
	t.Helper()
	if got := code(err); got != want {
		t.Fatalf("error %v: code %q, want %q", err, got, want)
	}
}

// must panics on error; the test binary reports the panic as a failure.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func mkVersion(t *testing.T, s *store.Store, name, source string) *store.ModelVersion {
	t.Helper()
	return must(s.CreateModelVersion(context.Background(), store.CreateVersion{Name: name, Source: source}))
}

func TestModelsLifecycle(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		rm := must(s.CreateRegisteredModel(ctx, "m1", []store.Tag{{Key: "a", Value: "1"}, {Key: "a", Value: "2"}}, "desc"))
		if rm.Name != "m1" || rm.Description != "desc" || len(rm.Tags) != 1 || rm.Tags[0].Value != "2" || rm.CreationTimestamp == 0 {
			t.Fatalf("created %+v", rm)
		}
		_, err := s.CreateRegisteredModel(ctx, "m1", nil, "")
		mustCode(t, err, store.CodeResourceAlreadyExists)
		_, err = s.CreateRegisteredModel(ctx, "a/b", nil, "")
		mustCode(t, err, store.CodeInvalidParameterValue)
		_, err = s.CreateRegisteredModel(ctx, " ", nil, "")
		mustCode(t, err, store.CodeInvalidParameterValue)
		_, err = s.GetRegisteredModel(ctx, "nope")
		mustCode(t, err, store.CodeResourceDoesNotExist)

		rm = must(s.UpdateRegisteredModel(ctx, "m1", "new"))
		if rm.Description != "new" {
			t.Fatalf("update: %+v", rm)
		}
		if err := s.SetRegisteredModelTag(ctx, "m1", "b", "x"); err != nil {
			t.Fatal(err)
		}
		mustCode(t, s.SetRegisteredModelTag(ctx, "m1", "../b", "x"), store.CodeInvalidParameterValue)
		mustCode(t, s.SetRegisteredModelTag(ctx, "nope", "b", "x"), store.CodeResourceDoesNotExist)
		if err := s.DeleteRegisteredModelTag(ctx, "m1", "a"); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteRegisteredModelTag(ctx, "m1", "missing"); err != nil {
			t.Fatal(err)
		}
		rm = must(s.GetRegisteredModel(ctx, "m1"))
		if len(rm.Tags) != 1 || rm.Tags[0] != (store.Tag{Key: "b", Value: "x"}) {
			t.Fatalf("tags %+v", rm.Tags)
		}

		mkVersion(t, s, "m1", "s3://b/1")
		mkVersion(t, s, "m1", "s3://b/2")
		if err := s.SetRegisteredModelAlias(ctx, "m1", "champ", "2"); err != nil {
			t.Fatal(err)
		}
		if err := s.SetModelVersionTag(ctx, "m1", "2", "k", "v"); err != nil {
			t.Fatal(err)
		}
		must(s.CreateRegisteredModel(ctx, "other", nil, ""))
		_, err = s.RenameRegisteredModel(ctx, "m1", "other")
		mustCode(t, err, store.CodeResourceAlreadyExists)
		_, err = s.RenameRegisteredModel(ctx, "m1", "")
		mustCode(t, err, store.CodeInvalidParameterValue)
		rm = must(s.RenameRegisteredModel(ctx, "m1", "m2"))
		if rm.Name != "m2" || len(rm.Aliases) != 1 || rm.Aliases[0] != (store.Alias{Alias: "champ", Version: 2}) || len(rm.LatestVersions) != 1 {
			t.Fatalf("renamed %+v", rm)
		}
		mv := must(s.GetModelVersionByAlias(ctx, "m2", "champ"))
		if mv.Name != "m2" || mv.Version != 2 || len(mv.Tags) != 1 || mv.Tags[0].Key != "k" {
			t.Fatalf("after rename: %+v", mv)
		}
		_, err = s.GetRegisteredModel(ctx, "m1")
		mustCode(t, err, store.CodeResourceDoesNotExist)

		if err := s.DeleteRegisteredModel(ctx, "m2"); err != nil {
			t.Fatal(err)
		}
		mustCode(t, s.DeleteRegisteredModel(ctx, "m2"), store.CodeResourceDoesNotExist)
		_, err = s.GetModelVersion(ctx, "m2", "1")
		mustCode(t, err, store.CodeResourceDoesNotExist)
		// A model re-created under the same name starts again at version 1
		// with no leftover tags or aliases.
		must(s.CreateRegisteredModel(ctx, "m2", nil, ""))
		mv = mkVersion(t, s, "m2", "s3://b/again")
		if mv.Version != 1 || len(mv.Tags) != 0 || len(mv.Aliases) != 0 {
			t.Fatalf("recreated %+v", mv)
		}
	})
}

func TestVersionsStagesAliases(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		must(s.CreateRegisteredModel(ctx, "m", nil, ""))
		for i := 1; i <= 3; i++ {
			mv := mkVersion(t, s, "m", fmt.Sprintf("s3://b/%d", i))
			if mv.Version != int64(i) || mv.CurrentStage != "None" || mv.Status != "READY" || mv.Description == nil || *mv.Description != "" {
				t.Fatalf("version %d: %+v", i, mv)
			}
		}
		_, err := s.CreateModelVersion(ctx, store.CreateVersion{Name: "nope", Source: "s3://b/x"})
		mustCode(t, err, store.CodeResourceDoesNotExist)

		mv := must(s.TransitionModelVersionStage(ctx, "m", "1", "production", false))
		if mv.CurrentStage != "Production" {
			t.Fatalf("stage %q", mv.CurrentStage)
		}
		must(s.TransitionModelVersionStage(ctx, "m", "2", "Production", false))
		// Without archiving both stay in Production.
		latest := must(s.GetLatestVersions(ctx, "m", []string{"Production"}))
		if len(latest) != 1 || latest[0].Version != 2 {
			t.Fatalf("latest prod %+v", latest)
		}
		v1 := must(s.GetModelVersion(ctx, "m", "1"))
		if v1.CurrentStage != "Production" {
			t.Fatalf("v1 stage %s", v1.CurrentStage)
		}
		must(s.TransitionModelVersionStage(ctx, "m", "3", "PRODUCTION", true))
		for _, v := range []string{"1", "2"} {
			if mv := must(s.GetModelVersion(ctx, "m", v)); mv.CurrentStage != "Archived" {
				t.Fatalf("v%s stage %s after archive", v, mv.CurrentStage)
			}
		}
		_, err = s.TransitionModelVersionStage(ctx, "m", "1", "bogus", false)
		mustCode(t, err, store.CodeInvalidParameterValue)
		_, err = s.TransitionModelVersionStage(ctx, "m", "1", "Archived", true)
		mustCode(t, err, store.CodeInvalidParameterValue)
		_, err = s.TransitionModelVersionStage(ctx, "m", "9", "Staging", true)
		mustCode(t, err, store.CodeResourceDoesNotExist)

		all := must(s.GetLatestVersions(ctx, "m", nil))
		got := map[string]int64{}
		for _, v := range all {
			got[v.CurrentStage] = v.Version
		}
		if len(got) != 2 || got["Archived"] != 2 || got["Production"] != 3 {
			t.Fatalf("latest per stage %v", got)
		}
		_, err = s.GetLatestVersions(ctx, "m", []string{"nope"})
		mustCode(t, err, store.CodeInvalidParameterValue)

		// Aliases.
		for _, bad := range []string{"latest", "LATEST", "v1", "V22", "a b", ""} {
			mustCode(t, s.SetRegisteredModelAlias(ctx, "m", bad, "1"), store.CodeInvalidParameterValue)
		}
		mustCode(t, s.SetRegisteredModelAlias(ctx, "m", "champ", "9"), store.CodeResourceDoesNotExist)
		mustCode(t, s.SetRegisteredModelAlias(ctx, "m", "champ", "x"), store.CodeInvalidParameterValue)
		if err := s.SetRegisteredModelAlias(ctx, "m", "champ", "1"); err != nil {
			t.Fatal(err)
		}
		if err := s.SetRegisteredModelAlias(ctx, "m", "champ", "2"); err != nil {
			t.Fatal(err)
		}
		if err := s.SetRegisteredModelAlias(ctx, "m", "chall-1", "2"); err != nil {
			t.Fatal(err)
		}
		mv = must(s.GetModelVersionByAlias(ctx, "m", "champ"))
		if mv.Version != 2 || len(mv.Aliases) != 2 {
			t.Fatalf("by alias %+v", mv)
		}
		if v1 := must(s.GetModelVersion(ctx, "m", "1")); len(v1.Aliases) != 0 {
			t.Fatalf("moved alias left on v1: %v", v1.Aliases)
		}
		mv = must(s.GetModelVersionByAlias(ctx, "m", "Latest"))
		if mv.Version != 3 {
			t.Fatalf("latest alias %d", mv.Version)
		}
		_, err = s.GetModelVersionByAlias(ctx, "m", "nope")
		mustCode(t, err, store.CodeInvalidParameterValue)
		if err := s.DeleteRegisteredModelAlias(ctx, "m", "chall-1"); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteRegisteredModelAlias(ctx, "m", "never"); err != nil {
			t.Fatal(err)
		}
		mustCode(t, s.DeleteRegisteredModelAlias(ctx, "nope", "x"), store.CodeResourceDoesNotExist)

		// Deleting a version deletes its aliases and never reuses its number.
		if err := s.DeleteModelVersion(ctx, "m", "2"); err != nil {
			t.Fatal(err)
		}
		mustCode(t, s.DeleteModelVersion(ctx, "m", "2"), store.CodeResourceDoesNotExist)
		_, err = s.GetModelVersionByAlias(ctx, "m", "champ")
		mustCode(t, err, store.CodeInvalidParameterValue)
		if rm := must(s.GetRegisteredModel(ctx, "m")); len(rm.Aliases) != 0 {
			t.Fatalf("aliases after version delete: %+v", rm.Aliases)
		}
		if err := s.DeleteModelVersion(ctx, "m", "3"); err != nil {
			t.Fatal(err)
		}
		if mv := mkVersion(t, s, "m", "s3://b/4"); mv.Version != 4 {
			t.Fatalf("next version after deletes %d, want 4", mv.Version)
		}

		// Descriptions and tags on versions.
		d := "hello"
		mv = must(s.UpdateModelVersion(ctx, "m", "1", &d))
		if mv.Description == nil || *mv.Description != "hello" {
			t.Fatalf("update desc %+v", mv.Description)
		}
		mv = must(s.UpdateModelVersion(ctx, "m", "1", nil))
		if mv.Description != nil {
			t.Fatalf("cleared desc %+v", *mv.Description)
		}
		_, err = s.UpdateModelVersion(ctx, "m", "77", &d)
		mustCode(t, err, store.CodeResourceDoesNotExist)
		if err := s.SetModelVersionTag(ctx, "m", "1", "t", "1"); err != nil {
			t.Fatal(err)
		}
		if err := s.SetModelVersionTag(ctx, "m", "1", "t", "2"); err != nil {
			t.Fatal(err)
		}
		if mv := must(s.GetModelVersion(ctx, "m", "1")); len(mv.Tags) != 1 || mv.Tags[0].Value != "2" {
			t.Fatalf("tags %+v", mv.Tags)
		}
		if err := s.DeleteModelVersionTag(ctx, "m", "1", "t"); err != nil {
			t.Fatal(err)
		}
		mustCode(t, s.SetModelVersionTag(ctx, "m", "8", "t", "1"), store.CodeResourceDoesNotExist)
		mustCode(t, s.DeleteModelVersionTag(ctx, "m", "8", "t"), store.CodeResourceDoesNotExist)
	})
}

func TestSourcesAndDownloadURI(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		must(s.CreateRegisteredModel(ctx, "m", nil, ""))
		bad := []store.CreateVersion{
			{Name: "m", Source: "s3://b/../x"},
			{Name: "m", Source: "s3://b/%2e%2e/x"},
			{Name: "m", Source: "s3://b/x%00"},
			{Name: "m", Source: "/tmp/x"},
			{Name: "m", Source: "/srv/artifacts/1/run1/other", RunID: "run1", HasRunID: true},
			{Name: "m", Source: "runs:/abc/model"},
			{Name: "m", Source: "runs:/abc/model", RunID: "other", HasRunID: true},
			{Name: "m", Source: "mlflow-artifacts:/1/run2/artifacts/model"},
			{Name: "m", Source: "mlflow-artifacts:/1/run3/artifacts/model", RunID: "run2", HasRunID: true},
			{Name: "m", Source: "models:/m-zzz"},
			{Name: "m", Source: "models:/m/9"},
			{Name: "m", Source: ""},
		}
		for _, in := range bad {
			if _, err := s.CreateModelVersion(ctx, in); err == nil {
				t.Errorf("source %q run %q accepted", in.Source, in.RunID)
			} else if c := code(err); c != store.CodeInvalidParameterValue && c != store.CodeResourceDoesNotExist {
				t.Errorf("source %q: code %s (%v)", in.Source, c, err)
			}
		}
		good := []store.CreateVersion{
			{Name: "m", Source: "s3://b/x"},
			{Name: "m", Source: "/srv/artifacts/1/run1/artifacts/model", RunID: "run1", HasRunID: true},
			{Name: "m", Source: "runs:/run1/model", RunID: "run1", HasRunID: true},
			{Name: "m", Source: "mlflow-artifacts:/1/run2/artifacts/model", RunID: "run2", HasRunID: true},
			{Name: "m", Source: "models:/m-abc", ModelID: "m-abc", HasModelID: true},
		}
		for _, in := range good {
			if _, err := s.CreateModelVersion(ctx, in); err != nil {
				t.Errorf("source %q: %v", in.Source, err)
			}
		}
		_, err := s.CreateModelVersion(ctx, store.CreateVersion{Name: "m", Source: "s3://other/x", SourceRegex: regexp.MustCompile(`^s3://allowed/`)})
		mustCode(t, err, store.CodeInvalidParameterValue)
		must(s.CreateModelVersion(ctx, store.CreateVersion{Name: "m", Source: "s3://allowed/x", SourceRegex: regexp.MustCompile(`^s3://allowed/`)}))
		prompt := []store.Tag{{Key: "mlflow.prompt.is_prompt", Value: "true"}, {Key: "mlflow.prompt.text", Value: "Hi {{x}}"}}
		must(s.CreateModelVersion(ctx, store.CreateVersion{Name: "m", Source: "dummy-source", Tags: prompt}))
		_, err = s.CreateModelVersion(ctx, store.CreateVersion{Name: "m", Source: "s3://b/p", Tags: prompt})
		mustCode(t, err, store.CodeInvalidParameterValue)
		_, err = s.CreateModelVersion(ctx, store.CreateVersion{Name: "m", Source: "dummy-source"})
		mustCode(t, err, store.CodeInvalidParameterValue)
		uri := must(s.GetModelVersionDownloadURI(ctx, "m", "5"))
		if uri != "mlflow-artifacts:/1/models/m-abc/artifacts" {
			t.Fatalf("logged model download uri %q", uri)
		}
		if mv := must(s.GetModelVersion(ctx, "m", "5")); mv.RunID == nil || *mv.RunID != "run9" || mv.Source != "models:/m-abc" {
			t.Fatalf("logged model version %+v", mv)
		}
		if uri := must(s.GetModelVersionDownloadURI(ctx, "m", "3")); uri != "runs:/run1/model" {
			t.Fatalf("runs uri %q", uri)
		}
		// models:/name/version and @alias sources resolve to the referenced storage.
		if err := s.SetRegisteredModelAlias(ctx, "m", "champ", "1"); err != nil {
			t.Fatal(err)
		}
		must(s.CreateRegisteredModel(ctx, "copy", nil, ""))
		mv := must(s.CreateModelVersion(ctx, store.CreateVersion{Name: "copy", Source: "models:/m@champ"}))
		if mv.Source != "models:/m/1" {
			t.Fatalf("alias source normalised to %q", mv.Source)
		}
		if uri := must(s.GetModelVersionDownloadURI(ctx, "copy", "1")); uri != "s3://b/x" {
			t.Fatalf("models:/ download uri %q", uri)
		}
	})
}

func TestSearch(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		for _, n := range []string{"alpha", "beta", "Alpha2", "gamma"} {
			must(s.CreateRegisteredModel(ctx, n, []store.Tag{{Key: "team", Value: n[:1]}}, ""))
		}
		must(s.CreateRegisteredModel(ctx, "prompt1", []store.Tag{{Key: "mlflow.prompt.is_prompt", Value: "true"}}, ""))
		names := func(p *store.Page[store.RegisteredModel]) []string {
			var out []string
			for _, m := range p.Items {
				out = append(out, m.Name)
			}
			return out
		}
		cases := []struct {
			filter string
			order  []string
			want   string
		}{
			{"", nil, "[Alpha2 alpha beta gamma]"},
			{"name LIKE 'a%'", nil, "[alpha]"},
			{"name ILIKE 'a%'", nil, "[Alpha2 alpha]"},
			{"name = 'beta'", nil, "[beta]"},
			{"name != 'beta'", []string{"name DESC"}, "[gamma alpha Alpha2]"},
			{"name IN ('beta', 'gamma')", nil, "[beta gamma]"},
			{"name NOT IN ('beta')", nil, "[Alpha2 alpha gamma]"},
			{"tags.team = 'g'", nil, "[gamma]"},
			{"tags.`team` LIKE '%a%' and name like '%'", nil, "[alpha]"},
			{"tags.team = 'a' AND name = 'alpha'", nil, "[alpha]"},
			{"tags.nope = 'x'", nil, "[]"},
			{"tags.`mlflow.prompt.is_prompt` = 'true'", nil, "[prompt1]"},
		}
		for _, c := range cases {
			p, err := s.SearchRegisteredModels(ctx, c.filter, 100, c.order, "")
			if err != nil {
				t.Errorf("%q: %v", c.filter, err)
				continue
			}
			if got := fmt.Sprint(names(p)); got != c.want {
				t.Errorf("%q %v: %s, want %s", c.filter, c.order, got, c.want)
			}
		}
		for _, f := range []string{"bogus = 'x'", "name = 1", "name >", "name = 'a' OR name = 'b'", "tags.x IN ('a')", "foo.bar = 'x'", "name = 'x"} {
			_, err := s.SearchRegisteredModels(ctx, f, 10, nil, "")
			mustCode(t, err, store.CodeInvalidParameterValue)
		}
		for _, ob := range []string{"creation_timestamp", "name sideways", "name ASC, x"} {
			_, err := s.SearchRegisteredModels(ctx, "", 10, []string{ob}, "")
			mustCode(t, err, store.CodeInvalidParameterValue)
		}
		_, err := s.SearchRegisteredModels(ctx, "", 1001, nil, "")
		mustCode(t, err, store.CodeInvalidParameterValue)
		_, err = s.SearchRegisteredModels(ctx, "", 10, nil, "garbage")
		mustCode(t, err, store.CodeInvalidParameterValue)

		// Paging walks every model once.
		var seen []string
		tok := ""
		for i := 0; i < 10; i++ {
			p := must(s.SearchRegisteredModels(ctx, "", 3, []string{"name ASC"}, tok))
			seen = append(seen, names(p)...)
			if tok = p.NextPageToken; tok == "" {
				break
			}
		}
		if fmt.Sprint(seen) != "[Alpha2 alpha beta gamma]" {
			t.Fatalf("paged %v", seen)
		}

		// Versions.
		for i := 0; i < 3; i++ {
			mkVersion(t, s, "alpha", fmt.Sprintf("s3://b/a%d", i))
		}
		must(s.CreateModelVersion(ctx, store.CreateVersion{Name: "beta", Source: "runs:/run1/model", RunID: "run1", HasRunID: true,
			Tags: []store.Tag{{Key: "k", Value: "v"}}}))
		vers := func(p *store.Page[store.ModelVersion]) []string {
			var out []string
			for _, m := range p.Items {
				out = append(out, fmt.Sprintf("%s/%d", m.Name, m.Version))
			}
			return out
		}
		vcases := []struct {
			filter string
			order  []string
			want   string
		}{
			{"name = 'alpha'", []string{"version_number ASC"}, "[alpha/1 alpha/2 alpha/3]"},
			{"name='alpha' and version_number > 1", []string{"version_number"}, "[alpha/2 alpha/3]"},
			{"run_id = 'run1'", nil, "[beta/1]"},
			{"run_id IN ('run1', 'x')", nil, "[beta/1]"},
			{"source_path = 's3://b/a1'", nil, "[alpha/2]"},
			{"source_path LIKE 's3://b/a%' AND version_number <= 2", []string{"name", "version_number DESC"}, "[alpha/2 alpha/1]"},
			{"tags.k = 'v'", nil, "[beta/1]"},
			{"", []string{"name DESC", "version_number ASC"}, "[beta/1 alpha/1 alpha/2 alpha/3]"},
		}
		for _, c := range vcases {
			p, err := s.SearchModelVersions(ctx, c.filter, 100, c.order, "")
			if err != nil {
				t.Errorf("%q: %v", c.filter, err)
				continue
			}
			if got := fmt.Sprint(vers(p)); got != c.want {
				t.Errorf("%q %v: %s, want %s", c.filter, c.order, got, c.want)
			}
		}
		for _, f := range []string{"version_number = 'x'", "source_path IN ('a')", "version_number LIKE '1'", "stage = 'None'"} {
			_, err := s.SearchModelVersions(ctx, f, 10, nil, "")
			mustCode(t, err, store.CodeInvalidParameterValue)
		}
		_, err = s.SearchModelVersions(ctx, "", 0, nil, "")
		mustCode(t, err, store.CodeInvalidParameterValue)
		p1 := must(s.SearchModelVersions(ctx, "", 2, []string{"name", "version_number"}, ""))
		p2 := must(s.SearchModelVersions(ctx, "", 2, []string{"name", "version_number"}, p1.NextPageToken))
		if got := fmt.Sprint(append(vers(p1), vers(p2)...)); got != "[alpha/1 alpha/2 alpha/3 beta/1]" || p2.NextPageToken != "" {
			t.Fatalf("paged versions %s next %q", got, p2.NextPageToken)
		}
	})
}

// Parallel creates of one model get distinct consecutive version numbers,
// and a concurrent reader never sees a version without its tags.
func TestConcurrentCreateVersion(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		must(s.CreateRegisteredModel(ctx, "c", nil, ""))
		const n = 24
		var (
			wg  sync.WaitGroup
			mu  sync.Mutex
			got []int
		)
		stop := make(chan struct{})
		readerDone := make(chan struct{})
		go func() {
			defer close(readerDone)
			for {
				select {
				case <-stop:
					return
				default:
				}
				p, err := s.SearchModelVersions(ctx, "name = 'c'", 1000, nil, "")
				if err != nil {
					t.Error(err)
					return
				}
				for _, mv := range p.Items {
					if len(mv.Tags) != 2 {
						t.Errorf("reader saw version %d with tags %v", mv.Version, mv.Tags)
						return
					}
				}
			}
		}()
		tags := []store.Tag{{Key: "a", Value: "1"}, {Key: "b", Value: "2"}}
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				mv, err := s.CreateModelVersion(ctx, store.CreateVersion{Name: "c", Source: "s3://b/c", Tags: tags})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				got = append(got, int(mv.Version))
				mu.Unlock()
			}()
		}
		wg.Wait()
		close(stop)
		<-readerDone
		sort.Ints(got)
		for i, v := range got {
			if v != i+1 {
				t.Fatalf("versions %v: want 1..%d each once", got, n)
			}
		}
		if len(got) != n {
			t.Fatalf("%d versions, want %d", len(got), n)
		}
	})
}

// A reader never sees an alias pointing nowhere while it is moved back and
// forth between versions.
func TestAliasMoveAtomic(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		must(s.CreateRegisteredModel(ctx, "a", nil, ""))
		mkVersion(t, s, "a", "s3://b/1")
		mkVersion(t, s, "a", "s3://b/2")
		if err := s.SetRegisteredModelAlias(ctx, "a", "champ", "1"); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(done)
			for i := 0; i < 30; i++ {
				if err := s.SetRegisteredModelAlias(ctx, "a", "champ", fmt.Sprint(i%2+1)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
		reads := 0
		for {
			select {
			case <-done:
				wg.Wait()
				if reads == 0 {
					t.Fatal("no reads happened")
				}
				return
			default:
			}
			mv, err := s.GetModelVersionByAlias(ctx, "a", "champ")
			if err != nil {
				t.Fatalf("read during move: %v", err)
			}
			if mv.Version != 1 && mv.Version != 2 {
				t.Fatalf("alias at %d", mv.Version)
			}
			rm, err := s.GetRegisteredModel(ctx, "a")
			if err != nil || len(rm.Aliases) != 1 {
				t.Fatalf("model aliases %+v err %v", rm, err)
			}
			reads++
		}
	})
}

func TestChangeSeq(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		must(s.CreateRegisteredModel(ctx, "w", nil, ""))
		s0 := must(s.ModelChangeSeq(ctx, "w"))
		mkVersion(t, s, "w", "s3://b/1")
		s1 := must(s.ModelChangeSeq(ctx, "w"))
		if s1 <= s0 {
			t.Fatalf("create version did not bump: %d -> %d", s0, s1)
		}
		if s.ModelChangeSeq(ctx, "w"); must(s.ModelChangeSeq(ctx, "w")) != s1 {
			t.Fatal("read bumped the sequence")
		}
		if err := s.SetRegisteredModelAlias(ctx, "w", "champ", "1"); err != nil {
			t.Fatal(err)
		}
		s2 := must(s.ModelChangeSeq(ctx, "w"))
		must(s.TransitionModelVersionStage(ctx, "w", "1", "Staging", false))
		s3 := must(s.ModelChangeSeq(ctx, "w"))
		if s2 <= s1 || s3 <= s2 {
			t.Fatalf("alias/stage did not bump: %d %d %d", s1, s2, s3)
		}
		_, err := s.ModelChangeSeq(ctx, "nope")
		mustCode(t, err, store.CodeResourceDoesNotExist)
		g := must(s.ChangeSeq(ctx))
		if err := s.DeleteRegisteredModel(ctx, "w"); err != nil {
			t.Fatal(err)
		}
		if must(s.ChangeSeq(ctx)) <= g {
			t.Fatal("delete did not bump the global sequence")
		}
	})
}
