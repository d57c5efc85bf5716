//go:build integration

package app

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/mlgate/mlgate/rollout"
)

// rolloutRegistry is fakeRegistry with registered-model tags that can
// also fail to be read.
type rolloutRegistry struct {
	*fakeRegistry
	tmu    sync.Mutex
	tags   map[string]string
	tagErr error
}

func (r *rolloutRegistry) RegisteredModelTags(_ context.Context, name string) (map[string]string, error) {
	r.tmu.Lock()
	defer r.tmu.Unlock()
	if name != "m" {
		return nil, errors.New("no registered model " + name)
	}
	if r.tagErr != nil {
		return nil, r.tagErr
	}
	out := map[string]string{}
	for k, v := range r.tags {
		out[k] = v
	}
	return out, nil
}

func (r *rolloutRegistry) setRollout(t *testing.T, st *rollout.State, tagErr error) {
	t.Helper()
	r.tmu.Lock()
	defer r.tmu.Unlock()
	r.tagErr = tagErr
	if st == nil {
		return
	}
	v, err := st.Encode()
	if err != nil {
		t.Fatal(err)
	}
	r.tags = map[string]string{rollout.TagKey: v}
}

// A candidate that cannot be loaded leaves the stable version serving
// every request and is retried with a growing wait; a registry that
// cannot be read changes nothing; once both are fixed the split applies.
func TestFollowRolloutSurvivesBrokenCandidateAndRegistry(t *testing.T) {
	linear, shifted := linearDir(t), shiftedLinear(t)
	reg := &rolloutRegistry{fakeRegistry: &fakeRegistry{alias: "1", dirs: map[string]string{"1": linear, "2": shifted},
		fetches: map[string]int{}}}
	const poll = 20 * time.Millisecond
	s := startScoring(t, ServeOptions{ModelURI: "models:/m@champion", ModelName: "m", Source: reg, FollowRollout: true,
		WatchInterval: poll, WatchTimeout: 5 * time.Second, Timeout: 30 * time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		s.watch(ctx, []*target{s.main}, nil)
	}()
	defer func() { cancel(); <-watched }()
	versions := func(n int) map[string]int {
		t.Helper()
		got := map[string]int{}
		for range n {
			v, _, err := scoreAs(s.Addr(), "")
			if err != nil {
				t.Fatal(err)
			}
			got[v]++
		}
		return got
	}

	// version 3 has no artifacts
	reg.setRollout(t, &rollout.State{ID: "r", Stable: "1", Candidate: "3", Weight: 50, Shadow: 100, Status: rollout.Running}, nil)
	time.Sleep(30 * poll)
	if n := reg.count("3"); n < 2 || n > 6 {
		t.Fatalf("the broken candidate was fetched %d times in 30 polls, want a few tries spaced out", n)
	}
	if got := versions(100); got["1"] != 100 {
		t.Fatalf("with a broken candidate: %v, want version 1 alone", got)
	}
	if s.Server().Canary() != nil || s.Server().ShadowPercent() != 0 {
		t.Fatal("a canary or shadow share without a loaded candidate")
	}

	// the registry is down while the rollout moves to version 2
	reg.setRollout(t, &rollout.State{ID: "r", Stable: "1", Candidate: "2", Weight: 50, Status: rollout.Running},
		errors.New("connection refused"))
	time.Sleep(10 * poll)
	if got := versions(100); got["1"] != 100 || reg.count("2") != 0 {
		t.Fatalf("with the registry down: %v, version 2 fetched %d times", got, reg.count("2"))
	}
	reg.setRollout(t, nil, nil)
	deadline := time.Now().Add(10 * time.Second)
	for s.Server().Canary() == nil {
		if time.Now().After(deadline) {
			t.Fatal("the candidate was not loaded once the registry answered")
		}
		time.Sleep(poll)
	}
	if got := versions(400); got["2"] < 140 || got["2"] > 260 || got["1"]+got["2"] != 400 {
		t.Fatalf("a 50%% split answered %v", got)
	}
}
