package main

import (
	"fmt"
	"path/filepath"

	"github.com/mlgate/mlgate/bench"
)

// keyMlgatePayloads is mlgate with payload logging of every request.
const keyMlgatePayloads = "mlgate onnx payloads=100%"

// payloadServers is the payload logging section: the onnx server with
// every request and its answer logged (files uploaded to a serving run
// in an embedded SQLite tracking store in the server's scratch folder),
// compared with the same server without, in the same run.
func payloadServers() []server {
	return []server{{
		key: keyMlgatePayloads, system: "mlgate", baseline: keyMlgate,
		variant:  "onnx flavor, batching off, --payload-log-sample 1 (every request and answer logged and uploaded to a serving run)",
		protocol: "MLflow /invocations", models: []string{"linear"}, request: invocations,
		args: func(cfg *config, m *model, port int, dir string) (string, []string, error) {
			bin, argv, err := mlgateServe()(cfg, m, port, dir)
			return bin, append(argv, "--tracking-uri", "sqlite:///"+filepath.Join(dir, "tracking.db"),
				"--log-experiment", "bench", "--payload-log-sample", "1", "--payload-log-dir", filepath.Join(dir, "payloads")), err
		},
	}}
}

// payloadTargets is issue 16's goal for payload logging at 100%, next to
// the same server without it in the same run.
func payloadTargets(rep *bench.Report, add func(ok, known bool, name, detail string)) {
	name := "issue 16: payload logging at 100% ≥ 90% of the throughput without, p99 ≤ 1.1× (linear, c=16)"
	a, b := rep.Find(keyMlgatePayloads, "linear").At(16), rep.Find(keyMlgate, "linear").At(16)
	if a == nil || b == nil || b.Throughput == 0 || b.Latency.P99 == 0 {
		add(false, false, name, "not measured in this run")
		return
	}
	add(a.Throughput >= 0.9*b.Throughput && a.Latency.P99 <= b.Latency.P99*11/10, true, name,
		fmt.Sprintf("%.0f vs %.0f req/s = %.0f%%; p99 %s vs %s ms = ×%.2f", a.Throughput, b.Throughput, 100*a.Throughput/b.Throughput,
			bench.Ms(a.Latency.P99), bench.Ms(b.Latency.P99), float64(a.Latency.P99)/float64(b.Latency.P99)))
}
