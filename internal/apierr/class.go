package apierr

// Class is MLflow's error_class: a finer classification than the code
// that MLflow 3.x adds to every serialised MlflowException, together with
// a five-character sqlstate derived from it (mlflow/error_classification.py).
type Class string

// The error classes MLflow derives from client error codes, plus the ones
// its raise sites name explicitly.
const (
	ClassAttributeNotFound        Class = "ATTRIBUTE_NOT_FOUND"
	ClassClientInternalError      Class = "CLIENT_INTERNAL_ERROR"
	ClassFeatureDisabled          Class = "FEATURE_DISABLED"
	ClassInvalidParameterValue    Class = "INVALID_PARAMETER_VALUE"
	ClassModelSerializationFailed Class = "MODEL_SERIALIZATION_FAILED"
	ClassPermissionDenied         Class = "PERMISSION_DENIED"
	ClassPredictionFunctionFailed Class = "PREDICTION_FUNCTION_FAILED"
	ClassResourceAlreadyExists    Class = "RESOURCE_ALREADY_EXISTS"
	ClassResourceNotFound         Class = "RESOURCE_NOT_FOUND"
	ClassSchemaEnforcementFailed  Class = "SCHEMA_ENFORCEMENT_FAILED"
)

// Class returns the error_class MLflow derives from the code, or "" when
// MLflow derives none (the code is then sent without error_class and
// sqlstate).
func (c Code) Class() Class {
	switch c {
	case BadRequest, InvalidParameterValue:
		return ClassInvalidParameterValue
	case CustomerUnauthorized, PermissionDenied:
		return ClassPermissionDenied
	case EndpointNotFound, NotFound, ResourceDoesNotExist:
		return ClassResourceNotFound
	case "FEATURE_DISABLED":
		return ClassFeatureDisabled
	case InternalError, InvalidState, TemporarilyUnavailable:
		return ClassClientInternalError
	case ResourceAlreadyExists:
		return ClassResourceAlreadyExists
	}
	return ""
}

// sqlState derives the sqlstate as MLflow does: from the class when it has
// a specific one, else from the code.
func sqlState(cl Class, c Code) string {
	switch cl {
	case ClassAttributeNotFound:
		return "KAM04"
	case ClassModelSerializationFailed:
		return "KAM03"
	case ClassPredictionFunctionFailed:
		return "KAM02"
	case ClassSchemaEnforcementFailed:
		return "KAM01"
	}
	switch c {
	case BadRequest, CustomerUnauthorized, EndpointNotFound, "FEATURE_DISABLED", InvalidParameterValue,
		NotFound, PermissionDenied, ResourceAlreadyExists, ResourceDoesNotExist:
		return "KAM00"
	case InternalError, InvalidState, TemporarilyUnavailable:
		return "XXM00"
	}
	return ""
}
