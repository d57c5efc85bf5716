//go:build integration

package apierr

import (
	"encoding/json"
	"os"
	"os/exec"
	"testing"
)

// mlflowBodies asks the real mlflow how MlflowException serialises each
// code (and the schema enforcement class) and returns the JSON bodies by
// code ("<code>/<class>" for an explicit class).
const mlflowBodies = `
import json, sys
from mlflow.exceptions import MlflowException
from mlflow.protos import databricks_pb2
out = {}
for code in json.loads(sys.argv[1]):
    e = MlflowException("m", error_code=databricks_pb2.ErrorCode.Value(code))
    out[code] = json.loads(e.serialize_as_json())
e = MlflowException("m", error_code=databricks_pb2.INVALID_PARAMETER_VALUE, error_class="SCHEMA_ENFORCEMENT_FAILED")
out["INVALID_PARAMETER_VALUE/SCHEMA_ENFORCEMENT_FAILED"] = json.loads(e.serialize_as_json())
print(json.dumps(out))
`

func TestSQLStateAndErrorClassMatchMLflow(t *testing.T) {
	py := os.Getenv("MLGATE_TEST_PYTHON")
	if py == "" {
		t.Fatal("MLGATE_TEST_PYTHON must name a python with mlflow installed")
	}
	codes := []Code{InternalError, TemporarilyUnavailable, BadRequest, NotFound, AlreadyExists,
		InvalidParameterValue, EndpointNotFound, InvalidState, PermissionDenied, ResourceAlreadyExists,
		ResourceDoesNotExist, ResourceConflict, ResourceExhausted, RequestLimitExceeded, Unauthenticated,
		NotImplemented, DeadlineExceeded, Cancelled, CustomerUnauthorized, Aborted, DataLoss}
	arg, _ := json.Marshal(codes)
	out, err := exec.Command(py, "-c", mlflowBodies, string(arg)).Output()
	if err != nil {
		t.Fatalf("python: %v", err)
	}
	var want map[string]map[string]string
	if err := json.Unmarshal(out, &want); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	check := func(key string, e *Error) {
		w, ok := want[key]
		if !ok {
			t.Errorf("%s: mlflow gave no body", key)
			return
		}
		b, _ := json.Marshal(e.Body())
		var got map[string]string
		_ = json.Unmarshal(b, &got)
		for _, k := range []string{"error_code", "sqlstate", "error_class"} {
			if got[k] != w[k] {
				t.Errorf("%s: %s mlgate %q, mlflow %q", key, k, got[k], w[k])
			}
		}
	}
	for _, c := range codes {
		check(string(c), New(c, "m"))
	}
	check("INVALID_PARAMETER_VALUE/SCHEMA_ENFORCEMENT_FAILED",
		&Error{Code: InvalidParameterValue, Message: "m", Class: ClassSchemaEnforcementFailed})
}
