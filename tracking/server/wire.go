package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/mlgate/mlgate/internal/apierr"
)

// maxBody bounds a JSON request body (MLflow documents 1 MB for log-batch;
// we allow more for logged-model params and dataset profiles).
const maxBody = 32 << 20

// Int64 is an int64 that accepts a JSON number or a decimal string.
type Int64 struct {
	V   int64
	Set bool
}

// UnmarshalJSON implements json.Unmarshaler.
func (i *Int64) UnmarshalJSON(b []byte) error {
	s := string(bytes.TrimSpace(b))
	if s == "null" {
		return nil
	}
	if len(s) > 0 && s[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || f != math.Trunc(f) || math.Abs(f) > 1<<62 {
			return fmt.Errorf("expected an integer, got %s", s)
		}
		n = int64(f)
	}
	i.V, i.Set = n, true
	return nil
}

// Float is a float64 that accepts a JSON number, a numeric string or
// "NaN", "Infinity", "-Infinity", and is written the same way.
type Float struct {
	V   float64
	Set bool
}

// UnmarshalJSON implements json.Unmarshaler.
func (f *Float) UnmarshalJSON(b []byte) error {
	s := string(bytes.TrimSpace(b))
	switch s {
	case "null":
		return nil
	case "true", "false":
		return fmt.Errorf("expected a number, got %s", s)
	}
	if len(s) > 0 && s[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	var v float64
	switch strings.ToLower(s) {
	case "nan":
		v = math.NaN()
	case "infinity", "inf", "+infinity":
		v = math.Inf(1)
	case "-infinity", "-inf":
		v = math.Inf(-1)
	default:
		var err error
		if v, err = strconv.ParseFloat(s, 64); err != nil {
			return fmt.Errorf("expected a number, got %s", s)
		}
	}
	f.V, f.Set = v, true
	return nil
}

// wfloat is a float64 written as MLflow writes doubles.
type wfloat float64

// MarshalJSON implements json.Marshaler.
func (f wfloat) MarshalJSON() ([]byte, error) {
	v := float64(f)
	switch {
	case math.IsNaN(v):
		return []byte(`"NaN"`), nil
	case math.IsInf(v, 1):
		return []byte(`"Infinity"`), nil
	case math.IsInf(v, -1):
		return []byte(`"-Infinity"`), nil
	}
	return json.Marshal(v)
}

// Bool accepts a JSON bool or "true"/"false" (any case).
type Bool struct {
	V   bool
	Set bool
}

// UnmarshalJSON implements json.Unmarshaler.
func (v *Bool) UnmarshalJSON(b []byte) error {
	s := strings.ToLower(strings.Trim(string(bytes.TrimSpace(b)), `"`))
	switch s {
	case "null":
		return nil
	case "true", "1":
		v.V, v.Set = true, true
	case "false", "0":
		v.V, v.Set = false, true
	default:
		return fmt.Errorf("expected a boolean, got %s", s)
	}
	return nil
}

// bind decodes the request into v: from the query string for GET (names in
// lists are repeated keys) or a JSON body otherwise.
func bind(c *gin.Context, v any, lists ...string) error {
	r := c.Request
	if (r.Method == http.MethodGet || r.Method == http.MethodDelete) && r.URL.RawQuery != "" {
		q := r.URL.Query()
		m := make(map[string]any, len(q))
		for k, vals := range q {
			isList := false
			for _, l := range lists {
				if l == k {
					isList = true
				}
			}
			if isList {
				m[k] = vals
			} else if len(vals) > 0 {
				m[k] = vals[0]
			}
		}
		b, err := json.Marshal(m)
		if err != nil {
			return err
		}
		return decodeJSON(b, v)
	}
	if r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodPatch {
		if ct := r.Header.Get("Content-Type"); ct != "" {
			mt, _, _ := mime.ParseMediaType(ct)
			if mt != "application/json" {
				return apierr.New(apierr.InvalidParameterValue, "Bad Request. Content-Type must be 'application/json', got '%s'.", ct)
			}
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, r.Body, maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errorsAs(err, &mbe) {
			return &apierr.Error{Code: apierr.InvalidParameterValue, Message: "request body too large", Status: http.StatusRequestEntityTooLarge}
		}
		return apierr.New(apierr.BadRequest, "reading request body: %v", err)
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil
	}
	if body[0] == '"' { // a JSON document encoded as a JSON string
		var inner string
		if err := json.Unmarshal(body, &inner); err != nil {
			return apierr.New(apierr.InvalidParameterValue, "Malformed request body: %v", err)
		}
		body = []byte(inner)
	}
	return decodeJSON(body, v)
}

func decodeJSON(b []byte, v any) error {
	if err := json.Unmarshal(b, v); err != nil {
		var te *json.UnmarshalTypeError
		if errorsAs(err, &te) {
			return apierr.New(apierr.InvalidParameterValue, "Invalid value for parameter '%s': expected %s", te.Field, te.Type)
		}
		return apierr.New(apierr.InvalidParameterValue, "Malformed request: %v", err)
	}
	return nil
}

// missing is MLflow's error for an absent required parameter.
func missing(name string) error {
	return apierr.New(apierr.InvalidParameterValue, "Missing value for required parameter '%s'. See the API docs for more information about request parameters.", name)
}

// ok writes v (or {} when nil) as a 200 JSON answer.
func ok(c *gin.Context, v any) error {
	if v == nil {
		c.Data(http.StatusOK, "application/json", []byte("{}"))
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	c.Data(http.StatusOK, "application/json", b)
	return nil
}
