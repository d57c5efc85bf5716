package rollout

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Describe writes the view for a person: the state, the analysis settings
// and the last analysis, with ages relative to now.
func (v *View) Describe(w io.Writer, now time.Time) {
	fmt.Fprintf(w, "model:         %s\n", v.Model)
	st := v.State
	if st == nil {
		fmt.Fprintln(w, "rollout:       none")
		return
	}
	ago := func(ms int64) string {
		if ms == 0 {
			return "never"
		}
		return now.Sub(time.UnixMilli(ms)).Round(time.Second).String() + " ago"
	}
	fmt.Fprintf(w, "rollout:       %s  %s", st.ID, st.Status)
	if st.Reason != "" {
		fmt.Fprintf(w, " (%s)", st.Reason)
	}
	fmt.Fprintf(w, "\nstable:        version %s\ncandidate:     version %s\n", st.Stable, st.Candidate)
	if st.Alias != "" {
		fmt.Fprintf(w, "alias:         %s → version %s\n", st.Alias, v.Aliases[st.Alias])
	}
	steps := make([]string, len(st.Steps))
	for i, s := range st.Steps {
		steps[i] = strconv.Itoa(s)
	}
	fmt.Fprintf(w, "weight:        %d%% (step %d of %d: %s), shadow %d%%\n", st.Weight, st.Step+1, len(st.Steps), strings.Join(steps, ","), st.Shadow)
	owner := st.Owner
	if owner == "" {
		owner = "no controller yet"
	}
	fmt.Fprintf(w, "controller:    %s (heartbeat %s), last change %s\n", owner, ago(st.Heartbeat), ago(st.Updated))
	if s := v.Spec; s != nil {
		settle := ""
		if s.SettleMs > 0 {
			settle = fmt.Sprintf(" (the first %s after a change not judged)", s.Settle())
		}
		fmt.Fprintf(w, "analysis:      every %s%s from experiment %q: %s\n", s.Interval(), settle, s.Experiment, s.Thresholds)
	}
	if r := v.Report; r != nil {
		fmt.Fprintf(w, "last analysis: %s at weight %d%%, %s: %s\n", ago(r.Time), r.Weight, r.Verdict, r.Reason)
		fmt.Fprintf(w, "  candidate:   %s\n  stable:      %s\n  runs read:   %d\n", r.Candidate, r.Stable, r.Runs)
	}
}

// String is the figures on one line.
func (f Figures) String() string {
	s := fmt.Sprintf("%v requests, %v 5xx, %v 4xx, p50 %.1f ms, p99 %.1f ms", f.Requests, f.Errors5xx, f.Errors4xx, f.P50Ms, f.P99Ms)
	if f.ShadowRequests > 0 || f.ShadowDropped > 0 {
		s += fmt.Sprintf(", shadow %v (%v disagreed, %v dropped)", f.ShadowRequests, f.ShadowDisagreements, f.ShadowDropped)
	}
	return s
}

// String is the thresholds on one line.
func (t Thresholds) String() string {
	kind := "5xx"
	if t.Count4xx {
		kind = "4xx+5xx"
	}
	s := fmt.Sprintf("error rate (%s) ≤ %v", kind, t.MaxErrorRate)
	if t.MaxP99Ms > 0 {
		s += fmt.Sprintf(", p99 ≤ %v ms", t.MaxP99Ms)
	}
	if t.MaxP99Ratio > 0 {
		s += fmt.Sprintf(", p99 ≤ %v × stable", t.MaxP99Ratio)
	}
	if t.MaxDisagreement >= 0 {
		s += fmt.Sprintf(", disagreement ≤ %v", t.MaxDisagreement)
	}
	return s + fmt.Sprintf(", at least %d requests per interval", t.MinRequests)
}
