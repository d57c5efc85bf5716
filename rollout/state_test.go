package rollout

import (
	"errors"
	"strings"
	"testing"
)

func TestStateRoundTrip(t *testing.T) {
	s := State{ID: "r1", Stable: "3", Candidate: "4", Alias: "champion", Weight: 25, Shadow: 100,
		Steps: []int{5, 25, 50, 100}, Step: 1, Status: Running, Heartbeat: 1700000000000}
	v, err := s.Encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := FromTags(map[string]string{TagKey: v, "other": "x"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Candidate != "4" || got.Weight != 25 || len(got.Steps) != 4 || got.Steps[3] != 100 || !got.Active() {
		t.Fatalf("round trip: %+v", got)
	}
	if _, err := FromTags(map[string]string{}); !errors.Is(err, ErrNoRollout) {
		t.Fatalf("no tag: %v", err)
	}
}

func TestStateRefusesBadInput(t *testing.T) {
	ok := State{Stable: "1", Candidate: "2", Steps: []int{10, 100}, Status: Running}
	for name, c := range map[string]struct {
		mut  func(*State)
		want string
	}{
		"weight":        {func(s *State) { s.Weight = 101 }, "weight 101"},
		"negative":      {func(s *State) { s.Weight = -1 }, "weight -1"},
		"shadow":        {func(s *State) { s.Shadow = 200 }, "shadow share 200"},
		"steps":         {func(s *State) { s.Steps = []int{50, 25} }, "must increase"},
		"step zero":     {func(s *State) { s.Steps = []int{0, 100} }, "must increase"},
		"step index":    {func(s *State) { s.Step = 2 }, "outside steps"},
		"same version":  {func(s *State) { s.Candidate = "1" }, "is the stable version"},
		"not a version": {func(s *State) { s.Candidate = "champion" }, "not a version number"},
		"status":        {func(s *State) { s.Status = "DONE" }, "status \"DONE\""},
	} {
		s := ok
		s.Steps = append([]int(nil), ok.Steps...)
		c.mut(&s)
		if _, err := s.Encode(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
	if _, err := Parse("{"); err == nil {
		t.Error("bad JSON parsed")
	}
}

func FuzzParse(f *testing.F) {
	f.Add(`{"stable":"1","candidate":"2","weight":5,"steps":[5,100],"status":"RUNNING"}`)
	f.Add(`{}`)
	f.Fuzz(func(t *testing.T, v string) {
		s, err := Parse(v)
		if err != nil {
			return
		}
		if s.Weight < 0 || s.Weight > 100 || s.Validate() != nil {
			t.Fatalf("%q parsed to invalid %+v", v, s)
		}
		if _, err := s.Encode(); err != nil {
			t.Fatalf("re-encode: %v", err)
		}
	})
}
