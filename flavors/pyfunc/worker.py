"""mlgate python_function worker (protocol 2).

mlgate starts this script as `python worker.py MODEL_DIR`, with the
environment variable MLGATE_WORKER_PROTOCOL set to the protocol version it
speaks. The script loads the model with mlflow.pyfunc.load_model and answers
predictions over its stdin/stdout (see docs/workers.md):

  handshake   one line on stdout: "mlgate-worker 1 {json info}\n", or on a
              load failure "mlgate-worker-error 1 {error_code, message}\n"
              and a non-zero exit;
  frames      then, both ways, a 4-byte big-endian length N and N bytes:
              a type byte and a body. Host -> worker: b"P" + an MLflow
              /invocations JSON body, or b"B" + a batch of data frames that
              mlgate already decoded and cast (column-major JSON, see
              _batch). Worker -> host: b"O" + the JSON value of
              "predictions", b"U" + a whole unwrapped JSON response (LLM
              inputs), b"E" + {"error_code", "message", "stack_trace"}, or
              (for b"B") b"M" + one length-prefixed b"O"/b"E" sub-frame per
              input.

Predictions go through mlflow's own scoring server code
(mlflow.pyfunc.scoring_server.invocations) for b"P" frames, and through
the same model.predict call and predictions_to_json rendering for b"B"
frames, so they are those of `mlflow models serve`. Anything the model
prints goes to stderr: stdout is kept for the protocol.
"""

import json
import os
import struct
import sys
import traceback

PROTOCOL = 2
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
        "frames": ["B"],
    }
    out.write(f"{MAGIC} {PROTOCOL} {json.dumps(info)}\n".encode())

    prefix, suffix = '{"predictions": ', "}"
    batch = _batcher(model, MlflowException, prefix, suffix)
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
        if kind == b"B":
            try:
                reply(b"M", batch(payload))
            except Exception as e:  # noqa: BLE001 - a malformed frame
                reply(b"E", json.dumps({"error_code": "INTERNAL_ERROR",
                                        "message": f"bad batch frame: {type(e).__name__}: {e}",
                                        "stack_trace": traceback.format_exc()}).encode())
            continue
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


def _skip_enforcement_of_trusted_frames():
    """Lets model.predict skip MLflow's input schema enforcement for the
    DataFrames built from b"B" frames, and only for them.

    mlgate has already cast every column to the signature's type, and the
    frame has exactly the signature's columns in its order, with the dtypes
    that MLflow's enforcement returns unchanged (_enforce_mlflow_datatype
    returns a column as is when its dtype is the type's pandas dtype, or a
    str/object column for string). So enforcement would rebuild the same
    frame; params are still checked. Returns a one-item list: the frame to
    trust (set around each predict call). When this mlflow's
    _validate_prediction_input does not have the expected parameters,
    nothing is patched and enforcement runs as usual.
    """
    trusted = [None]
    try:
        import inspect

        import mlflow.pyfunc as pyfunc_module

        validate = pyfunc_module._validate_prediction_input
        names = list(inspect.signature(validate).parameters)
    except Exception:  # noqa: BLE001 - another mlflow: keep enforcement
        return trusted
    if names != ["data", "params", "input_schema", "params_schema", "flavor"]:
        return trusted

    def validate_trusted(data, params, input_schema, params_schema, flavor=None):
        if data is trusted[0]:
            input_schema = None  # only the params are enforced
        return validate(data, params, input_schema, params_schema, flavor)

    pyfunc_module._validate_prediction_input = validate_trusted
    return trusted


def _batcher(model, MlflowException, prefix, suffix):
    """Returns the handler of b"B" frames.

    The body is {"columns", "types", "data" (one list per column), "rows"
    (rows per input), "params"}. Each column becomes the numpy array of the
    dtype that MLflow's own parsing and casting give (double float64, float
    float32, long int64, integer int32, boolean bool; strings stay a list
    so that pandas infers their dtype as it does for a parsed request). The
    inputs are predicted at once and the predictions split per input; when
    that fails or the predictions cannot be split, each input is predicted
    alone, so an answer never depends on the other inputs of the batch.
    """
    import inspect
    from io import StringIO

    import numpy as np
    import pandas as pd
    from mlflow.protos.databricks_pb2 import BAD_REQUEST
    from mlflow.pyfunc.scoring_server import predictions_to_json

    dtypes = {"double": np.float64, "float": np.float32, "long": np.int64,
              "integer": np.int32, "boolean": np.bool_}
    takes_params = "params" in inspect.signature(model.predict).parameters
    header = struct.Struct(">I")
    trusted = _skip_enforcement_of_trusted_frames()

    def predict(data, params):
        # As mlflow.pyfunc.scoring_server.invocations, after parsing.
        trusted[0] = data
        try:
            if takes_params:
                return model.predict(data, params=params)
            return model.predict(data)
        finally:
            trusted[0] = None

    def render(raw):
        out = StringIO()
        predictions_to_json(raw, out)
        body = out.getvalue()
        if body.startswith(prefix) and body.endswith(suffix):
            return b"O", body[len(prefix):-len(suffix)].encode()
        return b"E", json.dumps({"error_code": "INTERNAL_ERROR",
                                 "message": "unexpected rendering of predictions"}).encode()

    def one(data, params):
        try:
            raw = predict(data, params)
        except MlflowException as e:
            e.message = f"Failed to predict data '{data}'. \nError: {e.message}"
            return b"E", e.serialize_as_json().encode()
        except Exception:  # noqa: BLE001 - as the scoring server answers
            e = MlflowException(
                message=("Encountered an unexpected error while evaluating the model. Verify"
                         " that the serialized input Dataframe is compatible with the model for"
                         " inference."),
                error_code=BAD_REQUEST,
                stack_trace=traceback.format_exc())
            return b"E", e.serialize_as_json().encode()
        try:
            return render(raw)
        except Exception as e:  # noqa: BLE001 - as the worker answers a failed 'P' frame
            return b"E", json.dumps({"error_code": "INTERNAL_ERROR",
                                     "message": f"{type(e).__name__}: {e}",
                                     "stack_trace": traceback.format_exc()}).encode()

    def split(raw, bounds, total):
        if isinstance(raw, (pd.DataFrame, pd.Series)):
            if len(raw) != total:
                return None
            return [raw.iloc[a:b] for a, b in bounds]
        if isinstance(raw, np.ndarray):
            if raw.ndim == 0 or raw.shape[0] != total:
                return None
            return [raw[a:b] for a, b in bounds]
        if isinstance(raw, list):
            if len(raw) != total:
                return None
            return [raw[a:b] for a, b in bounds]
        return None

    def pack(parts):
        return b"".join(header.pack(len(body) + 1) + kind + body for kind, body in parts)

    def handle(payload):
        req = json.loads(payload)
        cols = {}
        for name, kind, values in zip(req["columns"], req["types"], req["data"]):
            dt = dtypes.get(kind)
            cols[name] = np.array(values, dtype=dt) if dt is not None else values
        df = pd.DataFrame(cols)
        rows = req["rows"]
        params = req.get("params")
        if len(rows) == 1:
            return pack([one(df, params)])
        bounds, at = [], 0
        for n in rows:
            bounds.append((at, at + n))
            at += n
        if at != len(df):
            raise ValueError(f"rows add up to {at}, the columns have {len(df)}")
        try:
            parts = split(predict(df, params), bounds, at)
            if parts is not None:
                return pack([render(p) for p in parts])
        except Exception:  # noqa: BLE001 - predict each input alone below
            pass
        return pack([one(df.iloc[a:b].reset_index(drop=True), params) for a, b in bounds])

    return handle


if __name__ == "__main__":
    main()
