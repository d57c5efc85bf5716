// Package builtin registers mlgate's flavors, one line each, in one place.
// The ONNX flavor is compiled in only with cgo (build-tagged files); without
// it a stand-in explains that the binary was built without ONNX Runtime.
package builtin
