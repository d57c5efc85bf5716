package server

import (
	"testing"

	"github.com/mlgate/mlgate/internal/wire"
)

// FuzzDecodeLogBatch feeds arbitrary bodies to the log-batch decoder: it
// must never panic, and what it accepts must convert or fail cleanly.
func FuzzDecodeLogBatch(f *testing.F) {
	for _, s := range []string{
		`{"run_id":"r","metrics":[{"key":"a","value":"NaN","timestamp":"1","step":2}],"params":[{"key":"p","value":"v"}]}`,
		`"{\"run_id\":\"r\"}"`, `{"metrics":[{"value":1e400}]}`, `[]`, `{"run_id":5}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var req struct {
			runIDReq
			Metrics []wMetricIn `json:"metrics"`
			Params  []wTag      `json:"params"`
			Tags    []wTag      `json:"tags"`
		}
		if err := wire.DecodeJSON(body, &req); err != nil {
			return
		}
		for _, m := range req.Metrics {
			_, _ = m.toStore("metrics.")
		}
		_, _ = req.id()
	})
}
