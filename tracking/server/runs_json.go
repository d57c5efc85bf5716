package server

import (
	"encoding/json"
	"net/http"
	"strconv"
	"sync"

	"github.com/gin-gonic/gin"

	"github.com/mlgate/mlgate/internal/wire"
	"github.com/mlgate/mlgate/tracking/store"
)

// The runs/search answer is written by hand: a page of 100 runs of 50
// metrics is about 5,000 metric objects and 440 kB, and encoding/json's
// reflection (with a MarshalJSON call and a compaction of its output per
// metric value) cost more CPU than reading the page from SQLite. The bytes
// are exactly those json.Marshal writes for the same answer built from
// wRun (runOut), the shape runs/get still marshals: field order, omitted
// empty fields, HTML-safe string escaping and number formats
// (TestSearchAnswerBytes and FuzzAppendJSONString hold them equal).

// maxPooledAnswer is the largest answer buffer kept for reuse: a bigger
// one (a page of thousands of runs) is left to the garbage collector, not
// pinned in the pool.
const maxPooledAnswer = 4 << 20

var answerPool = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

// writeSearchRuns writes the runs/search answer.
func writeSearchRuns(c *gin.Context, runs []*store.Run, next string) {
	writeAnswer(c, func(b []byte) []byte { return appendSearchRuns(b, runs, next) })
}

// writeMetrics writes the answer of the metric history endpoints as
// json.Marshal(metricsAnswer(ms, next, withRun)) would: a chart's
// get-history-bulk-interval call is up to 250,000 metric objects.
func writeMetrics(c *gin.Context, ms []store.Metric, next string, withRun bool) {
	writeAnswer(c, func(b []byte) []byte { return appendMetrics(b, ms, next, withRun) })
}

// writeAnswer writes the JSON answer fill appends to a pooled buffer.
func writeAnswer(c *gin.Context, fill func([]byte) []byte) {
	bp := answerPool.Get().(*[]byte)
	b := fill((*bp)[:0])
	c.Data(http.StatusOK, "application/json", b)
	if cap(b) <= maxPooledAnswer {
		*bp = b[:0]
		answerPool.Put(bp)
	}
}

// appendSearchRuns appends {"runs":[…],"next_page_token":"…"}, each
// member omitted when empty.
func appendSearchRuns(b []byte, runs []*store.Run, next string) []byte {
	return appendPage(b, "runs", len(runs), func(b []byte, i int) []byte { return appendRun(b, runs[i]) }, next)
}

// appendMetrics appends {"metrics":[…],"next_page_token":"…"}, each
// member omitted when empty, each metric with its run_id when withRun
// (and the run_id not empty).
func appendMetrics(b []byte, ms []store.Metric, next string, withRun bool) []byte {
	return appendPage(b, "metrics", len(ms), func(b []byte, i int) []byte {
		b = appendMetricFields(b, &ms[i])
		if withRun && ms[i].RunID != "" {
			b = appendJSONString(append(b, `,"run_id":`...), ms[i].RunID)
		}
		return append(b, '}')
	}, next)
}

// appendPage appends {"<name>":[…],"next_page_token":"…"} with n items
// (item appends the i-th), each member omitted when empty.
func appendPage(b []byte, name string, n int, item func([]byte, int) []byte, next string) []byte {
	b = append(b, '{')
	if n > 0 {
		b = append(append(append(b, '"'), name...), `":[`...)
		for i := range n {
			if i > 0 {
				b = append(b, ',')
			}
			b = item(b, i)
		}
		b = append(b, ']')
	}
	if next != "" {
		if n > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(append(b, `"next_page_token":`...), next)
	}
	return append(b, '}')
}

// appendRun appends a run as json.Marshal(runOut(r)) writes it.
func appendRun(b []byte, r *store.Run) []byte {
	in := &r.Info
	b = appendJSONString(append(b, `{"info":{"run_id":`...), in.RunID)
	b = appendJSONString(append(b, `,"run_uuid":`...), in.RunID)
	b = appendJSONString(append(b, `,"run_name":`...), in.RunName)
	b = appendJSONString(append(b, `,"experiment_id":`...), in.ExperimentID)
	b = appendJSONString(append(b, `,"user_id":`...), in.UserID)
	b = appendJSONString(append(b, `,"status":`...), in.Status)
	b = strconv.AppendInt(append(b, `,"start_time":`...), in.StartTime, 10)
	if in.EndTime != 0 {
		b = strconv.AppendInt(append(b, `,"end_time":`...), in.EndTime, 10)
	}
	b = appendJSONString(append(b, `,"artifact_uri":`...), in.ArtifactURI)
	b = appendJSONString(append(b, `,"lifecycle_stage":`...), in.LifecycleStage)
	b = append(b, `},"data":{`...)
	sep := false
	if len(r.Data.Metrics) > 0 {
		b = append(b, `"metrics":[`...)
		for i := range r.Data.Metrics {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendMetric(b, &r.Data.Metrics[i])
		}
		b = append(b, ']')
		sep = true
	}
	if len(r.Data.Params) > 0 {
		b = appendSep(b, sep)
		b = append(b, `"params":[`...)
		for i, p := range r.Data.Params {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendKeyValue(b, p.Key, p.Value)
		}
		b = append(b, ']')
		sep = true
	}
	if len(r.Data.Tags) > 0 {
		b = appendSep(b, sep)
		b = appendTags(append(b, `"tags":`...), r.Data.Tags)
	}
	b = append(b, `},"inputs":{`...)
	sep = false
	if len(r.Inputs) > 0 {
		b = append(b, `"dataset_inputs":[`...)
		for i := range r.Inputs {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendDatasetInput(b, &r.Inputs[i])
		}
		b = append(b, ']')
		sep = true
	}
	if len(r.Models) > 0 {
		b = appendSep(b, sep)
		b = append(b, `"model_inputs":[`...)
		for i, m := range r.Models {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(append(b, `{"model_id":`...), m.ModelID)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = append(b, '}')
	if len(r.Outputs) > 0 {
		b = append(b, `,"outputs":{"model_outputs":[`...)
		for i, m := range r.Outputs {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(append(b, `{"model_id":`...), m.ModelID)
			b = strconv.AppendInt(append(b, `,"step":`...), m.Step, 10)
			b = append(b, '}')
		}
		b = append(b, "]}"...)
	}
	return append(b, '}')
}

func appendSep(b []byte, sep bool) []byte {
	if sep {
		return append(b, ',')
	}
	return b
}

// appendMetric appends a run's metric as wMetric (without run_id).
func appendMetric(b []byte, m *store.Metric) []byte {
	return append(appendMetricFields(b, m), '}')
}

// appendMetricFields appends a metric as wMetric without run_id and
// without its closing brace.
func appendMetricFields(b []byte, m *store.Metric) []byte {
	b = appendJSONString(append(b, `{"key":`...), m.Key)
	b = wire.Double(m.Value).AppendJSON(append(b, `,"value":`...))
	b = strconv.AppendInt(append(b, `,"timestamp":`...), m.Timestamp, 10)
	b = strconv.AppendInt(append(b, `,"step":`...), m.Step, 10)
	if m.DatasetName != "" {
		b = appendJSONString(append(b, `,"dataset_name":`...), m.DatasetName)
	}
	if m.DatasetDigest != "" {
		b = appendJSONString(append(b, `,"dataset_digest":`...), m.DatasetDigest)
	}
	if m.ModelID != "" {
		b = appendJSONString(append(b, `,"model_id":`...), m.ModelID)
	}
	return b
}

func appendKeyValue(b []byte, k, v string) []byte {
	b = appendJSONString(append(b, `{"key":`...), k)
	b = appendJSONString(append(b, `,"value":`...), v)
	return append(b, '}')
}

func appendTags(b []byte, ts []store.Tag) []byte {
	b = append(b, '[')
	for i, t := range ts {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendKeyValue(b, t.Key, t.Value)
	}
	return append(b, ']')
}

func appendDatasetInput(b []byte, d *store.DatasetInput) []byte {
	b = append(b, '{')
	if len(d.Tags) > 0 {
		b = append(appendTags(append(b, `"tags":`...), d.Tags), ',')
	}
	ds := &d.Dataset
	b = appendJSONString(append(b, `"dataset":{"name":`...), ds.Name)
	b = appendJSONString(append(b, `,"digest":`...), ds.Digest)
	b = appendJSONString(append(b, `,"source_type":`...), ds.SourceType)
	b = appendJSONString(append(b, `,"source":`...), ds.Source)
	if ds.Schema != "" {
		b = appendJSONString(append(b, `,"schema":`...), ds.Schema)
	}
	if ds.Profile != "" {
		b = appendJSONString(append(b, `,"profile":`...), ds.Profile)
	}
	return append(b, "}}"...)
}

// appendJSONString appends s as encoding/json writes a string: printable
// ASCII other than the characters it escapes goes as it is; a string with
// anything else (quotes, backslashes, <, >, &, control characters, non-ASCII)
// is handed to encoding/json.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			out, _ := json.Marshal(s) // a string always marshals
			return append(b, out...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
