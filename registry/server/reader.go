package server

import (
	"net/http"

	"github.com/mlgate/mlgate/internal/wire"
	"github.com/mlgate/mlgate/registry/store"
)

// reader reads registry requests with MLflow's rules: GET parameters from
// the query string, a JSON body otherwise (an unparsable one reads as
// empty, as Flask's get_json(silent=True) does); registry requests are
// small.
var reader = &wire.Reader{
	MaxBody:            8 << 20,
	QueryMethods:       []string{http.MethodGet},
	JSONMethods:        []string{http.MethodPost, http.MethodPut},
	RequireContentType: true,
	BadContentType:     "Bad Request. Content-Type must be one of ['application/json'].",
	Lenient:            true,
}

// tags reads the repeated {key, value} parameter "tags" of a JSON body
// (an error is recorded on r).
func tags(r *wire.Request) []store.Tag {
	var items []struct {
		Key   *string `json:"key"`
		Value *string `json:"value"`
	}
	if !r.Decode("tags", &items) {
		return nil
	}
	out := make([]store.Tag, 0, len(items))
	for _, it := range items {
		var t store.Tag // an absent key is "", which the store refuses in MLflow's words
		if it.Key != nil {
			t.Key = *it.Key
		}
		if it.Value != nil {
			t.Value = *it.Value
		}
		out = append(out, t)
	}
	return out
}
