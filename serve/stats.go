package serve

import (
	"math"
	"sort"
	"strconv"
	"strings"
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
				st.Requests += n
				code, _ := strconv.Atoi(labels["status"])
				switch {
				case code >= 500:
					st.ServerErrors += n
				case code >= 400:
					st.ClientErrors += n
				}
			case "mlgate_serve_request_duration_seconds":
				if predictionRoute(labels["route"]) {
					for _, b := range m.GetHistogram().GetBucket() {
						lat[b.GetUpperBound()] += b.GetCumulativeCount()
					}
					lat[math.Inf(1)] += m.GetHistogram().GetSampleCount()
				}
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
	for le, n := range lat {
		st.Latency = append(st.Latency, Bucket{Le: le, Count: n})
	}
	sort.Slice(st.Latency, func(i, j int) bool { return st.Latency[i].Le < st.Latency[j].Le })
	return st, nil
}

// Sub is s minus an earlier snapshot of the same server.
func (s Stats) Sub(prev Stats) Stats {
	d := Stats{
		Requests: s.Requests - prev.Requests, ClientErrors: s.ClientErrors - prev.ClientErrors,
		ServerErrors: s.ServerErrors - prev.ServerErrors,
		Calls:        s.Calls - prev.Calls, InferenceSeconds: s.InferenceSeconds - prev.InferenceSeconds,
		Waits: s.Waits - prev.Waits, QueueSeconds: s.QueueSeconds - prev.QueueSeconds,
		Batches: s.Batches - prev.Batches, Rows: s.Rows - prev.Rows,
	}
	before := map[float64]uint64{}
	for _, b := range prev.Latency {
		before[b.Le] = b.Count
	}
	for _, b := range s.Latency {
		d.Latency = append(d.Latency, Bucket{Le: b.Le, Count: b.Count - before[b.Le]})
	}
	return d
}

// LatencyQuantile estimates the q-quantile of request latency in seconds
// as Prometheus' histogram_quantile does: linear within the bucket that
// holds it, the highest finite bound when it falls in the +Inf bucket.
// It is NaN without requests.
func (s Stats) LatencyQuantile(q float64) float64 {
	if len(s.Latency) == 0 {
		return math.NaN()
	}
	total := s.Latency[len(s.Latency)-1].Count
	if total == 0 || q < 0 || q > 1 {
		return math.NaN()
	}
	rank := q * float64(total)
	lowerLe, lowerCount := 0.0, uint64(0)
	for _, b := range s.Latency {
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
