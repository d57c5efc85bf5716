"""mlgate python_function worker (protocol 1).

mlgate starts this script as `python worker.py MODEL_DIR`, with the
environment variable MLGATE_WORKER_PROTOCOL set to the protocol version it
speaks. The script loads the model with mlflow.pyfunc.load_model and answers
predictions over its stdin/stdout (see docs/workers.md):

  handshake   one line on stdout: "mlgate-worker 1 {json info}\n", or on a
              load failure "mlgate-worker-error 1 {error_code, message}\n"
              and a non-zero exit;
  frames      then, both ways, a 4-byte big-endian length N and N bytes:
              a type byte and a body. Host -> worker: b"P" + an MLflow
              /invocations JSON body. Worker -> host: b"O" + the JSON value
              of "predictions", b"U" + a whole unwrapped JSON response (LLM
              inputs), or b"E" + {"error_code", "message", "stack_trace"}.

Predictions go through mlflow's own scoring server code
(mlflow.pyfunc.scoring_server.invocations), so they are those of
`mlflow models serve`. Anything the model prints goes to stderr: stdout is
kept for the protocol.
"""

import json
import os
import struct
import sys
import traceback

PROTOCOL = 1
MAGIC = "mlgate-worker"


def _protocol_streams():
    out = os.fdopen(os.dup(1), "wb", buffering=0)
    inp = os.fdopen(os.dup(0), "rb")
    os.dup2(2, 1)  # prints from the model land on stderr
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    return inp, out


def _fail(out, code, message):
    line = json.dumps({"error_code": code, "message": message})
    out.write(f"{MAGIC}-error {PROTOCOL} {line}\n".encode())
    sys.stderr.write(message + "\n")
    sys.stderr.flush()
    sys.exit(3)


def _read_exact(inp, n):
    buf = inp.read(n)
    if buf is None or len(buf) < n:
        return None
    return buf


def main():
    inp, out = _protocol_streams()
    want = os.environ.get("MLGATE_WORKER_PROTOCOL", str(PROTOCOL))
    if want != str(PROTOCOL):
        _fail(out, "INVALID_STATE",
              f"mlgate wants worker protocol {want}, this worker speaks {PROTOCOL}")
    if len(sys.argv) != 2:
        _fail(out, "INVALID_PARAMETER_VALUE", "usage: worker.py MODEL_DIR")
    model_dir = sys.argv[1]
    try:
        import mlflow
        from mlflow.exceptions import MlflowException
        from mlflow.pyfunc import scoring_server
    except ImportError as e:
        _fail(out, "INVALID_STATE",
              f"Python package '{e.name or 'mlflow'}' is not installed in {sys.executable}: {e}")

    try:
        model = scoring_server.load_model_with_mlflow_config(model_dir)
    except ModuleNotFoundError as e:
        traceback.print_exc()
        _fail(out, "INVALID_STATE",
              f"the model needs Python package '{e.name}', which is not installed in "
              f"{sys.executable}: {e}")
    except Exception as e:  # noqa: BLE001 - any load failure is reported
        traceback.print_exc()
        _fail(out, "INVALID_STATE", f"failed to load the model: {type(e).__name__}: {e}")

    input_schema = model.metadata.get_input_schema()
    os.environ["_MLFLOW_IS_IN_SERVING_ENVIRONMENT"] = "true"
    from mlflow.pyfunc.utils.serving_data_parser import is_unified_llm_input

    info = {
        "pid": os.getpid(),
        "runtime": "python " + sys.version.split()[0],
        "mlflow": mlflow.__version__,
        "python": sys.executable,
    }
    out.write(f"{MAGIC} {PROTOCOL} {json.dumps(info)}\n".encode())

    prefix, suffix = '{"predictions": ', "}"
    llm_keys = (b'"messages"', b'"prompt"', b'"input"')
    header = struct.Struct(">I")

    def reply(kind, body):
        out.write(header.pack(len(body) + 1) + kind + body)

    while True:
        h = _read_exact(inp, 4)
        if h is None:
            return  # mlgate closed our stdin: exit quietly
        (n,) = header.unpack(h)
        frame = _read_exact(inp, n)
        if frame is None or n < 1:
            return
        kind, payload = frame[:1], frame[1:]
        if kind != b"P":
            reply(b"E", json.dumps({"error_code": "INVALID_STATE",
                                    "message": f"unknown frame type {kind!r}"}).encode())
            continue
        try:
            res = scoring_server.invocations(payload, "application/json", model, input_schema)
        except MlflowException as e:
            reply(b"E", e.serialize_as_json().encode())
            continue
        except Exception as e:  # noqa: BLE001
            reply(b"E", json.dumps({"error_code": "INTERNAL_ERROR",
                                    "message": f"{type(e).__name__}: {e}",
                                    "stack_trace": traceback.format_exc()}).encode())
            continue
        body = res.response
        if res.status != 200:
            reply(b"E", json.dumps({"error_code": "BAD_REQUEST", "message": body}).encode())
            continue
        unwrapped = any(k in payload for k in llm_keys) and is_unified_llm_input(json.loads(payload))
        if not unwrapped and body.startswith(prefix) and body.endswith(suffix):
            reply(b"O", body[len(prefix):-len(suffix)].encode())
        else:
            reply(b"U", body.encode())


if __name__ == "__main__":
    main()
