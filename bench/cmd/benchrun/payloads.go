package main

import "path/filepath"

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
