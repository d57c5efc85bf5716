package rollout

import (
	"fmt"
	"math"
	"strconv"
)

// Figures are one version's figures in an analysis window, summed across
// the replicas' serving runs.
type Figures struct {
	Requests  float64 `json:"requests"`
	Errors4xx float64 `json:"errors_4xx"`
	Errors5xx float64 `json:"errors_5xx"`
	// P99Ms is the request-weighted mean of the replicas' interval p99s
	// (quantiles of separate replicas cannot be merged exactly); P50Ms
	// likewise.
	P50Ms float64 `json:"latency_p50_ms"`
	P99Ms float64 `json:"latency_p99_ms"`
	// Shadow figures, for the candidate while shadowing.
	ShadowRequests      float64 `json:"shadow_requests,omitempty"`
	ShadowDisagreements float64 `json:"shadow_disagreements,omitempty"`
	ShadowDropped       float64 `json:"shadow_dropped,omitempty"`

	// latency weights: requests of the intervals that logged a quantile
	p50Weight, p99Weight float64
}

// AddInterval adds one replica interval's figures to f; the quantiles are
// weighted by the interval's requests.
func (f *Figures) AddInterval(g Figures) {
	g.p50Weight, g.p99Weight = 0, 0
	w := math.Max(g.Requests, 1)
	if g.P50Ms > 0 {
		g.p50Weight = w
	}
	if g.P99Ms > 0 {
		g.p99Weight = w
	}
	f.add(g)
}

// ErrorRate is the share of requests that failed with 5xx, and with 4xx
// too when with4xx is set (0 without requests).
func (f Figures) ErrorRate(with4xx bool) float64 {
	if f.Requests <= 0 {
		return 0
	}
	e := f.Errors5xx
	if with4xx {
		e += f.Errors4xx
	}
	return e / f.Requests
}

// Disagreement is the share of the shadow requests whose answer differed
// from the stable version's (0 without shadow requests).
func (f Figures) Disagreement() float64 {
	if f.ShadowRequests <= 0 {
		return 0
	}
	return f.ShadowDisagreements / f.ShadowRequests
}

// Thresholds are what a candidate's figures must hold in each interval.
type Thresholds struct {
	// MaxErrorRate is the largest share (0-1) of the candidate's requests
	// that may fail with 5xx (and 4xx with Count4xx).
	MaxErrorRate float64 `json:"max_error_rate"`
	Count4xx     bool    `json:"count_4xx,omitempty"`
	// MaxP99Ms bounds the candidate's p99 latency (0: off).
	MaxP99Ms float64 `json:"max_p99_ms,omitempty"`
	// MaxP99Ratio bounds the candidate's p99 relative to the stable
	// version's in the same window (0: off; not judged when the stable
	// version served nothing, as at a 100% step).
	MaxP99Ratio float64 `json:"max_p99_ratio,omitempty"`
	// MaxDisagreement is the largest share (0-1) of shadow requests
	// answered differently from the stable version (negative: off). It is
	// judged once the window holds MinRequests shadow requests.
	MaxDisagreement float64 `json:"max_disagreement"`
	// MinRequests is the least number of candidate requests a window must
	// hold to be judged; below it the step waits.
	MinRequests int `json:"min_requests"`
}

// DefaultThresholds are the defaults of `mlgate rollout start`.
func DefaultThresholds() Thresholds {
	return Thresholds{MaxErrorRate: 0.01, MaxDisagreement: -1, MinRequests: 100}
}

// Validate reports the first threshold out of range.
func (t Thresholds) Validate() error {
	switch {
	case !(t.MaxErrorRate >= 0 && t.MaxErrorRate <= 1):
		return fmt.Errorf("max error rate %v is not between 0 and 1", t.MaxErrorRate)
	case !(t.MaxP99Ms >= 0):
		return fmt.Errorf("max p99 %v ms is negative", t.MaxP99Ms)
	case !(t.MaxP99Ratio >= 0):
		return fmt.Errorf("max p99 ratio %v is negative", t.MaxP99Ratio)
	case t.MaxDisagreement > 1 || math.IsNaN(t.MaxDisagreement):
		return fmt.Errorf("max disagreement %v is above 1", t.MaxDisagreement)
	case t.MinRequests < 1:
		return fmt.Errorf("min requests %d must be at least 1", t.MinRequests)
	}
	return nil
}

// Verdict is the outcome of judging one window.
type Verdict string

// The verdicts.
const (
	Pass   Verdict = "PASS"   // every threshold held: the rollout may advance
	Wait   Verdict = "WAIT"   // too little traffic to judge: the step waits
	Breach Verdict = "BREACH" // a threshold failed: roll back
)

// Decision is a verdict and why.
type Decision struct {
	Verdict Verdict `json:"verdict"`
	Reason  string  `json:"reason"`
}

// Analyze judges the candidate's figures of one window against t, with
// the stable version's figures of the same window for relative bounds.
// The comparisons are written so that a NaN figure (MLflow metrics may
// hold NaN) never passes: too few requests wait, anything else breaches.
func Analyze(stable, candidate Figures, t Thresholds) Decision {
	if !(candidate.Requests >= float64(t.MinRequests)) { // NaN-safe: garbage is not traffic
		return Decision{Wait, fmt.Sprintf("the candidate served %s requests, fewer than the %d needed to judge", count(candidate.Requests), t.MinRequests)}
	}
	if r := candidate.ErrorRate(t.Count4xx); !(r <= t.MaxErrorRate) {
		kind := "5xx"
		if t.Count4xx {
			kind = "4xx+5xx"
		}
		return Decision{Breach, fmt.Sprintf("error rate %.4f (%s, %s of %s requests) is above %v", r, kind,
			count(candidate.Errors5xx+boolF(t.Count4xx)*candidate.Errors4xx), count(candidate.Requests), t.MaxErrorRate)}
	}
	if t.MaxP99Ms > 0 && !(candidate.P99Ms <= t.MaxP99Ms) {
		return Decision{Breach, fmt.Sprintf("p99 latency %.1f ms is above %v ms", candidate.P99Ms, t.MaxP99Ms)}
	}
	notes := ""
	if t.MaxP99Ratio > 0 {
		if stable.Requests > 0 && stable.P99Ms > 0 {
			if !(candidate.P99Ms <= t.MaxP99Ratio*stable.P99Ms) {
				return Decision{Breach, fmt.Sprintf("p99 latency %.1f ms is above %v × the stable version's %.1f ms",
					candidate.P99Ms, t.MaxP99Ratio, stable.P99Ms)}
			}
		} else {
			notes += "; p99 ratio not judged (the stable version served nothing)"
		}
	}
	if t.MaxDisagreement >= 0 {
		if candidate.ShadowRequests >= float64(t.MinRequests) {
			if d := candidate.Disagreement(); !(d <= t.MaxDisagreement) {
				return Decision{Breach, fmt.Sprintf("disagreement with the stable version %.4f (%s of %s shadow requests) is above %v",
					d, count(candidate.ShadowDisagreements), count(candidate.ShadowRequests), t.MaxDisagreement)}
			}
		} else {
			notes += fmt.Sprintf("; disagreement not judged (%s shadow requests)", count(candidate.ShadowRequests))
		}
	}
	return Decision{Pass, fmt.Sprintf("%s requests, error rate %.4f, p99 %.1f ms%s",
		count(candidate.Requests), candidate.ErrorRate(t.Count4xx), candidate.P99Ms, notes)}
}

// count prints a count of requests: whole from tracking, estimated (an
// increase Prometheus extrapolated over the window) to one decimal.
func count(v float64) string {
	if v == math.Trunc(v) {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

func boolF(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
