package rollout

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
)

// TagKey is the registered-model tag that holds a rollout's State.
const TagKey = "mlgate.rollout"

// RejectedTag is the model-version tag a failed candidate carries, with
// the reason as its value.
const RejectedTag = "mlgate.rollout.rejected"

// Status is where a rollout is.
type Status string

// The statuses. Only a Running rollout splits traffic.
const (
	Running  Status = "RUNNING"
	Promoted Status = "PROMOTED"    // the alias moved to the candidate
	Aborted  Status = "ABORTED"     // stopped by a person; the alias never moved
	Failed   Status = "ROLLED_BACK" // an analysis breach; the alias never moved
)

// State is a rollout as it is stored in the TagKey tag.
type State struct {
	ID        string `json:"id"`
	Stable    string `json:"stable"`          // the version serving the rest of the traffic
	Candidate string `json:"candidate"`       // the version being rolled out
	Alias     string `json:"alias,omitempty"` // moved to the candidate on promotion (e.g. champion)
	Weight    int    `json:"weight"`          // the candidate's share of requests, 0-100
	Shadow    int    `json:"shadow"`          // share of the stable's requests mirrored to the candidate, 0-100
	Steps     []int  `json:"steps,omitempty"` // the weights the rollout moves through, increasing
	Step      int    `json:"step"`            // index in Steps of the current weight
	Status    Status `json:"status"`
	Reason    string `json:"reason,omitempty"`       // why it ended, when it did not succeed
	Owner     string `json:"owner,omitempty"`        // the controller driving it (host/pid)
	Heartbeat int64  `json:"heartbeat_ms,omitempty"` // the owner's last sign of life, Unix ms
	Updated   int64  `json:"updated_ms,omitempty"`   // the last change, Unix ms
}

var versionRE = regexp.MustCompile(`^[1-9][0-9]{0,18}$`)

// Validate reports the first thing wrong with s, in words a user can act on.
func (s *State) Validate() error {
	switch {
	case !versionRE.MatchString(s.Stable):
		return fmt.Errorf("stable version %q is not a version number", s.Stable)
	case !versionRE.MatchString(s.Candidate):
		return fmt.Errorf("candidate version %q is not a version number", s.Candidate)
	case s.Stable == s.Candidate:
		return fmt.Errorf("the candidate is the stable version (%s)", s.Stable)
	case s.Weight < 0 || s.Weight > 100:
		return fmt.Errorf("weight %d is not between 0 and 100", s.Weight)
	case s.Shadow < 0 || s.Shadow > 100:
		return fmt.Errorf("shadow share %d is not between 0 and 100", s.Shadow)
	}
	prev := 0
	for _, w := range s.Steps {
		if w <= prev || w > 100 {
			return fmt.Errorf("steps %v must increase, each between 1 and 100", s.Steps)
		}
		prev = w
	}
	if len(s.Steps) > 0 && (s.Step < 0 || s.Step >= len(s.Steps)) {
		return fmt.Errorf("step %d is outside steps %v", s.Step, s.Steps)
	}
	switch s.Status {
	case Running, Promoted, Aborted, Failed:
	default:
		return fmt.Errorf("status %q is not one of %s, %s, %s, %s", s.Status, Running, Promoted, Aborted, Failed)
	}
	return nil
}

// Active reports whether the rollout splits traffic.
func (s *State) Active() bool { return s != nil && s.Status == Running }

// Encode returns the tag value for s after validating it.
func (s *State) Encode() (string, error) {
	if err := s.Validate(); err != nil {
		return "", err
	}
	b, err := json.Marshal(s)
	return string(b), err
}

// ErrNoRollout is returned by FromTags when the model has no rollout tag.
var ErrNoRollout = errors.New("no rollout")

// Parse reads a tag value written by Encode.
func Parse(value string) (*State, error) {
	var s State
	if err := json.Unmarshal([]byte(value), &s); err != nil {
		return nil, fmt.Errorf("rollout tag %s is not valid JSON: %w", TagKey, err)
	}
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("rollout tag %s: %w", TagKey, err)
	}
	return &s, nil
}

// FromTags finds and parses the rollout in a registered model's tags;
// ErrNoRollout when there is none.
func FromTags(tags map[string]string) (*State, error) {
	v, ok := tags[TagKey]
	if !ok {
		return nil, ErrNoRollout
	}
	return Parse(v)
}
