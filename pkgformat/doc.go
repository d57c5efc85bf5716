// Package pkgformat owns the MLflow model format on disk: the MLmodel file,
// signatures and params schemas, input examples, environment files
// (python_env.yaml, conda.yaml, requirements.txt), model URIs, and safe
// packing and unpacking of model archives. It also reads the inputs and
// outputs of an ONNX graph (without ONNX Runtime) and writes a complete
// model folder for an .onnx file the way mlflow.onnx.save_model does.
//
// Files are written as MLflow writes them: MLmodel keys sorted as by
// yaml.safe_dump, signature parts as JSON strings byte-identical to
// Python's json.dumps output, environment files in MLflow's layout.
// Parsers of untrusted input (MLmodel, signatures, URIs, archives, ONNX
// protobuf, input examples) return errors wrapping this package's
// sentinels and never panic; they are fuzzed.
//
// It is a leaf: it imports only the standard library and third-party
// modules, never another mlgate package.
package pkgformat
