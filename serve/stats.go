package serve

import (
	"math"
	"sort"
	"strconv"
	"strings"

	dto "github.com/prometheus/client_model/go"
)

// Stats are the server's cumulative prediction figures, read from its
// Prometheus metrics: what a caller logs elsewhere (mlgate logs them to a
// tracking run). Subtract two snapshots for an interval.
type Stats struct {
	// Requests to the prediction routes (/invocations and the Open
	// Inference Protocol's infer), and those answered 4xx and 5xx.
	Requests, ClientErrors, ServerErrors uint64
	// Latency is the total time of those requests: cumulative counts of
	// requests at or under each bound, in seconds.
	Latency []Bucket
	// Predictor calls (a batch is one), with their total time in seconds;
	// waits for a slot or a batch; rows per call.
	Calls            uint64
	InferenceSeconds float64
	Waits            uint64
	QueueSeconds     float64
	Batches          uint64
	Rows             float64
	// Versions splits the figures by the version that answered ("" for
	// an unversioned model), with the shadow traffic mirrored to each.
	Versions map[string]VersionStats
}

// VersionStats are the figures of one version.
type VersionStats struct {
	// Requests to the prediction routes it answered, of which 4xx and 5xx.
	Requests, ClientErrors, ServerErrors uint64
	// Latency of those requests, as Stats.Latency.
	Latency []Bucket
	// Predictions of the main model mirrored to it and compared, those it
	// answered differently (or failed), and those dropped on a full queue.
	ShadowRequests, ShadowDisagreements, ShadowDropped uint64
}

// LatencyQuantile is Stats.LatencyQuantile for the version's requests.
func (v VersionStats) LatencyQuantile(q float64) float64 { return quantile(v.Latency, q) }

// Active reports whether the version answered or was mirrored anything.
func (v VersionStats) Active() bool {
	return v.Requests > 0 || v.ShadowRequests > 0 || v.ShadowDisagreements > 0 || v.ShadowDropped > 0
}

// Bucket is a histogram bucket: Count observations at or under Le.
type Bucket struct {
	Le    float64
	Count uint64
}

// predictionRoute reports whether a route label is a prediction endpoint.
func predictionRoute(r string) bool {
	return r == "/invocations" || strings.HasSuffix(r, "/infer")
}

// Stats reads the current figures from the server's metrics.
func (s *Server) Stats() (Stats, error) {
	fams, err := s.opts.Gatherer.Gather()
	if err != nil {
		return Stats{}, err
	}
	var st Stats
	lat := map[float64]uint64{}
	type acc struct {
		VersionStats
		lat map[float64]uint64
	}
	vs := map[string]*acc{}
	version := func(v string) *acc {
		a := vs[v]
		if a == nil {
			a = &acc{lat: map[float64]uint64{}}
			vs[v] = a
		}
		return a
	}
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			switch f.GetName() {
			case "mlgate_serve_requests_total":
				if !predictionRoute(labels["route"]) {
					continue
				}
				n := uint64(m.GetCounter().GetValue())
				v := version(labels["version"])
				st.Requests += n
				v.Requests += n
				code, _ := strconv.Atoi(labels["status"])
				switch {
				case code >= 500:
					st.ServerErrors += n
					v.ServerErrors += n
				case code >= 400:
					st.ClientErrors += n
					v.ClientErrors += n
				}
			case "mlgate_serve_request_duration_seconds":
				if predictionRoute(labels["route"]) {
					addBuckets(lat, m.GetHistogram().GetBucket(), m.GetHistogram().GetSampleCount())
					addBuckets(version(labels["version"]).lat, m.GetHistogram().GetBucket(), m.GetHistogram().GetSampleCount())
				}
			case "mlgate_serve_shadow_requests_total":
				version(labels["version"]).ShadowRequests += uint64(m.GetCounter().GetValue())
			case "mlgate_serve_shadow_disagreements_total":
				version(labels["version"]).ShadowDisagreements += uint64(m.GetCounter().GetValue())
			case "mlgate_serve_shadow_dropped_total":
				version(labels["version"]).ShadowDropped += uint64(m.GetCounter().GetValue())
			case "mlgate_serve_inference_duration_seconds":
				st.Calls += m.GetHistogram().GetSampleCount()
				st.InferenceSeconds += m.GetHistogram().GetSampleSum()
			case "mlgate_serve_queue_duration_seconds":
				st.Waits += m.GetHistogram().GetSampleCount()
				st.QueueSeconds += m.GetHistogram().GetSampleSum()
			case "mlgate_serve_batch_size":
				st.Batches += m.GetHistogram().GetSampleCount()
				st.Rows += m.GetHistogram().GetSampleSum()
			}
		}
	}
	st.Latency = sortedBuckets(lat)
	st.Versions = make(map[string]VersionStats, len(vs))
	for v, a := range vs {
		a.Latency = sortedBuckets(a.lat)
		st.Versions[v] = a.VersionStats
	}
	return st, nil
}

// addBuckets adds a histogram's cumulative buckets (and its count as the
// +Inf bucket) to lat.
func addBuckets(lat map[float64]uint64, bs []*dto.Bucket, count uint64) {
	for _, b := range bs {
		lat[b.GetUpperBound()] += b.GetCumulativeCount()
	}
	lat[math.Inf(1)] += count
}

func sortedBuckets(lat map[float64]uint64) []Bucket {
	var out []Bucket
	for le, n := range lat {
		out = append(out, Bucket{Le: le, Count: n})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Le < out[j].Le })
	return out
}

// Sub is s minus an earlier snapshot of the same server.
func (s Stats) Sub(prev Stats) Stats {
	d := Stats{
		Requests: s.Requests - prev.Requests, ClientErrors: s.ClientErrors - prev.ClientErrors,
		ServerErrors: s.ServerErrors - prev.ServerErrors,
		Calls:        s.Calls - prev.Calls, InferenceSeconds: s.InferenceSeconds - prev.InferenceSeconds,
		Waits: s.Waits - prev.Waits, QueueSeconds: s.QueueSeconds - prev.QueueSeconds,
		Batches: s.Batches - prev.Batches, Rows: s.Rows - prev.Rows,
		Latency: subBuckets(s.Latency, prev.Latency),
	}
	if s.Versions != nil {
		d.Versions = make(map[string]VersionStats, len(s.Versions))
	}
	for v, cur := range s.Versions {
		p := prev.Versions[v]
		d.Versions[v] = VersionStats{
			Requests: cur.Requests - p.Requests, ClientErrors: cur.ClientErrors - p.ClientErrors,
			ServerErrors: cur.ServerErrors - p.ServerErrors, Latency: subBuckets(cur.Latency, p.Latency),
			ShadowRequests: cur.ShadowRequests - p.ShadowRequests, ShadowDisagreements: cur.ShadowDisagreements - p.ShadowDisagreements,
			ShadowDropped: cur.ShadowDropped - p.ShadowDropped,
		}
	}
	return d
}

// subBuckets is cur minus the earlier cumulative buckets prev.
func subBuckets(cur, prev []Bucket) []Bucket {
	before := map[float64]uint64{}
	for _, b := range prev {
		before[b.Le] = b.Count
	}
	var d []Bucket
	for _, b := range cur {
		d = append(d, Bucket{Le: b.Le, Count: b.Count - before[b.Le]})
	}
	return d
}

// LatencyQuantile estimates the q-quantile of request latency in seconds
// as Prometheus' histogram_quantile does: linear within the bucket that
// holds it, the highest finite bound when it falls in the +Inf bucket.
// It is NaN without requests.
func (s Stats) LatencyQuantile(q float64) float64 { return quantile(s.Latency, q) }

func quantile(buckets []Bucket, q float64) float64 {
	if len(buckets) == 0 {
		return math.NaN()
	}
	total := buckets[len(buckets)-1].Count
	if total == 0 || q < 0 || q > 1 {
		return math.NaN()
	}
	rank := q * float64(total)
	lowerLe, lowerCount := 0.0, uint64(0)
	for _, b := range buckets {
		if float64(b.Count) >= rank {
			if math.IsInf(b.Le, 1) {
				return lowerLe
			}
			in := b.Count - lowerCount
			if in == 0 {
				return b.Le
			}
			return lowerLe + (b.Le-lowerLe)*(rank-float64(lowerCount))/float64(in)
		}
		lowerLe, lowerCount = b.Le, b.Count
	}
	return lowerLe
}
