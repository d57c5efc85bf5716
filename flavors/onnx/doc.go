// Package onnx is the in-process ONNX flavor: it loads model.onnx through
// ONNX Runtime (onnxruntime_go) and maps inputs and outputs exactly as
// mlflow.onnx's pyfunc wrapper does. It is the only package that imports
// onnxruntime_go.
package onnx
