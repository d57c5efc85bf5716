//go:build integration

package app

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mlgate/mlgate/registry"
)

// fakeRegistry resolves models:/m@champion to the version it is told and
// fetches models:/m/N from dirs (a missing entry fails), counting fetches.
type fakeRegistry struct {
	mu      sync.Mutex
	alias   string
	dirs    map[string]string
	fetches map[string]int
}

func (f *fakeRegistry) Resolve(_ context.Context, uri string) (*registry.Resolved, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if uri != "models:/m@champion" {
		return nil, errors.New("unknown URI " + uri)
	}
	return &registry.Resolved{URI: uri, Name: "m", Version: f.alias}, nil
}

func (f *fakeRegistry) Fetch(_ context.Context, uri string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v := strings.TrimPrefix(uri, "models:/m/")
	f.fetches[v]++
	if d, ok := f.dirs[v]; ok {
		return d, nil
	}
	return "", errors.New("no artifacts for " + uri)
}

func (f *fakeRegistry) set(alias string) {
	f.mu.Lock()
	f.alias = alias
	f.mu.Unlock()
}

func (f *fakeRegistry) count(v string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fetches[v]
}

// TestWatchBacksOffABrokenVersion: an alias moved to a version that cannot
// be fetched keeps the old version served and is retried with a growing
// wait, not at every poll; a good version after it is taken at once.
func TestWatchBacksOffABrokenVersion(t *testing.T) {
	linear, _ := buildModel(t, "linear")
	reg := &fakeRegistry{alias: "1", dirs: map[string]string{"1": linear, "3": linear}, fetches: map[string]int{}}
	const poll = 20 * time.Millisecond
	s := startScoring(t, ServeOptions{ModelURI: "models:/m@champion", ModelName: "m", Source: reg,
		WatchInterval: poll, WatchTimeout: 5 * time.Second, Timeout: 30 * time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		s.watch(ctx, []*target{s.main}, nil)
	}()
	defer func() { cancel(); <-watched }()
	reg.set("2")
	time.Sleep(30 * poll)
	// 30 polls: with the wait doubling from one poll, at most 5 tries
	if n := reg.count("2"); n < 2 || n > 6 {
		t.Fatalf("version 2 fetched %d times in 30 polls, want a few tries spaced out", n)
	}
	if got := s.Server().Model().Version; got != "1" {
		t.Fatalf("serving version %q after a broken version, want 1", got)
	}
	if status, body := invoke(t, s.Addr(), linearSplit); status != 200 {
		t.Fatalf("the kept version answered %d %s", status, body)
	}
	reg.set("3")
	deadline := time.Now().Add(5 * time.Second)
	for s.Server().Model().Version != "3" {
		if time.Now().After(deadline) {
			t.Fatalf("version 3 not served 5s after the alias moved to it (serving %s)", s.Server().Model().Version)
		}
		time.Sleep(poll)
	}
}
