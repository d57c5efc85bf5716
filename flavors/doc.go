// Package flavors turns a model folder into a Predictor. It defines the
// Flavor and Predictor interfaces, the data that crosses them (Input and
// Output: data frames and typed tensors, already parsed and checked against
// the signature by the caller), and the Registry that maps MLmodel flavor
// keys to implementations.
//
// Lifecycle: a Flavor is registered once (flavors/builtin), chosen by
// Registry.Select for a model, then Load returns a Predictor; Predict may be
// called from many goroutines at once; Close is called once, after the last
// Predict has returned.
//
// flavors knows nothing of HTTP. It may import pkgformat; it must not import
// serve, registry, tracking or onnxruntime_go (only flavors/onnx does).
package flavors
