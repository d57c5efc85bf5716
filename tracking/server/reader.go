package server

import (
	"net/http"

	"github.com/mlgate/mlgate/internal/wire"
)

// reader reads tracking requests: GET and DELETE parameters from the query
// string, a JSON body otherwise (MLflow documents 1 MB for log-batch; we
// allow more for logged-model params and dataset profiles). A POST or PUT
// must say Content-Type: application/json, as MLflow requires (a request
// without it needs no CORS preflight).
var reader = &wire.Reader{
	MaxBody:            32 << 20,
	QueryMethods:       []string{http.MethodGet, http.MethodDelete},
	JSONMethods:        []string{http.MethodPost, http.MethodPut},
	RequireContentType: true,
	BadContentType:     "Bad Request. Content-Type must be one of ['application/json'].",
}
