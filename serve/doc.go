// Package serve is the scoring HTTP server (gin): MLflow's /invocations
// protocol, the Open Inference Protocol (KServe v2), health, version and
// Prometheus metrics, batching, backpressure and hot model swaps. It takes
// models through its ModelSource interface and flavors.Predictor; it must not
// import registry, tracking or onnxruntime_go.
package serve
