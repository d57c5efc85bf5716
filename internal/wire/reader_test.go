package wire

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/mlgate/mlgate/internal/apierr"
)

func ctx(method, target, body, ct string) (*gin.Context, *httptest.ResponseRecorder) {
	gin.SetMode(gin.TestMode)
	w := httptest.NewRecorder()
	c, _ := gin.CreateTestContext(w)
	c.Request = httptest.NewRequest(method, target, strings.NewReader(body))
	if ct != "" {
		c.Request.Header.Set("Content-Type", ct)
	}
	return c, w
}

var (
	strict = &Reader{MaxBody: 64, QueryMethods: []string{http.MethodGet, http.MethodDelete},
		JSONMethods: []string{http.MethodPost, http.MethodPatch}, BadContentType: "want JSON, got '{ct}'."}
	lenient = &Reader{MaxBody: 64, QueryMethods: []string{http.MethodGet}, JSONMethods: []string{http.MethodPost},
		RequireContentType: true, BadContentType: "Bad Request. Content-Type must be one of ['application/json'].", Lenient: true}
)

// failsWith checks an error's MLflow code, status and exact message.
func failsWith(t *testing.T, err error, status int, msg string) {
	t.Helper()
	e := apierr.From(err)
	if err == nil || e.Code != apierr.InvalidParameterValue || e.HTTPStatus() != status || e.Message != msg {
		t.Fatalf("got %v (%+v), want %d %q", err, e, status, msg)
	}
}

type idReq struct {
	RunID string `json:"run_id"`
}

type metricIn struct {
	Key   string `json:"key"`
	Value Float  `json:"value"`
}

// The request shapes whose Go names once leaked into messages: an
// embedded unexported struct and a list of unexported structs.
type batchReq struct {
	idReq
	Metrics []metricIn `json:"metrics"`
	Step    Int64      `json:"step"`
}

func TestBindNamesParametersNotGoTypes(t *testing.T) {
	const hint = " See the API docs for more information about request parameters."
	for body, want := range map[string]string{
		`{"run_id": 123}`:                   "Invalid value 123 for parameter 'run_id' supplied:  Hint: Value was of type 'int'." + hint,
		`{"run_id": "r", "metrics": 5}`:     "Invalid value 5 for parameter 'metrics' supplied:  Hint: Value was of type 'int'." + hint,
		`{"metrics": [{"key":["a"]}]}`:      `Invalid value [{"key":["a"]}] for parameter 'metrics' supplied:  Hint: Value was of type 'list'.` + hint,
		`{"metrics": [{"value":"much"}]}`:   `Invalid value [{"value":"much"}] for parameter 'metrics' supplied:  Hint: Value was of type 'list'.` + hint,
		`{"step": "x"}`:                     `Invalid value "x" for parameter 'step' supplied:  Hint: Value was of type 'str'.` + hint,
		`{"RUN_ID": {"a":1}}`:               "", // names match exactly: RUN_ID is not run_id, and is ignored
		`"{\"run_id\": true}"`:              "Invalid value true for parameter 'run_id' supplied:  Hint: Value was of type 'bool'." + hint,
		`{"run_id": "r", "metrics": "m"} `:  `Invalid value "m" for parameter 'metrics' supplied:  Hint: Value was of type 'str'.` + hint,
		`{"run_id": "r", "metrics": null} `: "",
		`" {\"run_id\": \"r\"} "`:           "",
		`""`:                                "",
	} {
		var req batchReq
		err := DecodeJSON([]byte(body), &req)
		if want == "" {
			if err != nil {
				t.Errorf("%s: %v", body, err)
			}
			continue
		}
		var fe *FieldError
		if !errors.As(err, &fe) || err.Error() != want || apierr.From(err).HTTPStatus() != http.StatusBadRequest {
			t.Errorf("%s:\n got %v\nwant %s", body, err, want)
		}
	}
	var req batchReq
	if err := DecodeJSON([]byte(`{"run_id":"r","metrics":[{"key":"a","value":"NaN"}],"step":"3"}`), &req); err != nil ||
		req.RunID != "r" || len(req.Metrics) != 1 || req.Step.V != 3 {
		t.Fatalf("%+v %v", req, err)
	}
}

func TestReadRules(t *testing.T) {
	c, _ := ctx(http.MethodPost, "/x", `{}`, "text/plain")
	_, err := strict.Read(c)
	failsWith(t, err, 400, "want JSON, got 'text/plain'.")
	c, _ = ctx(http.MethodPost, "/x", `{}`, "")
	if _, err := strict.Read(c); err != nil {
		t.Fatalf("strict reader without Content-Type: %v", err)
	}
	_, err = lenient.Read(c)
	failsWith(t, err, 400, "Bad Request. Content-Type header is missing.")
	c, _ = ctx(http.MethodPost, "/x", `{"run_id":`, "application/json; charset=utf-8")
	_, err = strict.Read(c)
	failsWith(t, err, 400, "Malformed request: unexpected end of JSON input")
	c, _ = ctx(http.MethodPost, "/x", `[1]`, "application/json")
	_, err = strict.Read(c)
	failsWith(t, err, 400, "Malformed request: the body must be a JSON object")
	c, _ = ctx(http.MethodPost, "/x", `{"run_id":`, "application/json")
	if r, err := lenient.Read(c); err != nil || r.FromQuery() {
		t.Fatalf("lenient reader refused a malformed body: %v", err)
	} else if s, has := r.Str("run_id"); s != "" || has || r.Err() != nil {
		t.Fatalf("malformed body read as %q %v %v", s, has, r.Err())
	}
	c, _ = ctx(http.MethodPost, "/x", `{"name":"`+strings.Repeat("a", 100)+`"}`, "application/json")
	_, err = lenient.Read(c)
	failsWith(t, err, 413, "Request body larger than 64 bytes.")
	c, _ = ctx(http.MethodPost, "/x", `"{\"name\":\"b\"`, "application/json")
	_, err = strict.Read(c)
	failsWith(t, err, 400, "Malformed request body: unexpected end of JSON input")
}

func TestBindQuery(t *testing.T) {
	var req struct {
		IDs   []string `json:"experiment_ids"`
		Max   Int64    `json:"max_results"`
		Token string   `json:"page_token"`
	}
	c, _ := ctx(http.MethodDelete, "/x?experiment_ids=1&experiment_ids=2&max_results=5&page_token=t", "", "")
	if err := strict.Bind(c, &req, "experiment_ids"); err != nil || len(req.IDs) != 2 || req.Max.V != 5 || req.Token != "t" {
		t.Fatalf("%+v %v", req, err)
	}
	c, _ = ctx(http.MethodGet, "/x?max_results=many", "", "")
	failsWith(t, strict.Bind(c, &req), 400,
		`Invalid value "many" for parameter 'max_results' supplied:  Hint: Value was of type 'str'. See the API docs for more information about request parameters.`)
	// DELETE reads its body when the reader does not read DELETE queries.
	c, _ = ctx(http.MethodDelete, "/x?name=q", `{"name":"b"}`, "application/json")
	r, err := lenient.Read(c)
	if n := r.Required("name"); err != nil || n != "b" {
		t.Fatalf("%q %v", n, err)
	}
}

func TestParams(t *testing.T) {
	c, _ := ctx(http.MethodGet, "/x?name=a&stages=None&stages=Staging&max_results=5&archive=TRUE&bad=x", "", "")
	read := func() *Request {
		t.Helper()
		r, err := lenient.Read(c)
		if err != nil || !r.FromQuery() {
			t.Fatal(err)
		}
		return r
	}
	r := read()
	if n := r.Required("name"); n != "a" {
		t.Fatalf("name %q", n)
	}
	if st := r.List("stages"); len(st) != 2 || st[1] != "Staging" {
		t.Fatalf("stages %v", st)
	}
	if m := r.Int("max_results", 1); m != 5 {
		t.Fatalf("max_results %d", m)
	}
	if m := r.Int("absent", 7); m != 7 {
		t.Fatalf("default %d", m)
	}
	if b := r.Bool("archive"); !b || r.Err() != nil {
		t.Fatalf("bool %v %v", b, r.Err())
	}
	// Each reader records its error; the first one recorded stays.
	for _, tc := range []struct {
		read func(r *Request)
		msg  string
	}{
		{func(r *Request) { r.Bool("bad") }, "Invalid boolean value: x, must be 'true' or 'false'."},
		{func(r *Request) { r.Int("bad", 0) }, `Invalid value "x" for parameter 'bad' supplied:  Hint: Value was of type 'str'. See the API docs for more information about request parameters.`},
		{func(r *Request) { r.Required("missing"); r.Int("bad", 0) }, "Missing value for required parameter 'missing'. See the API docs for more information about request parameters."},
	} {
		r := read()
		tc.read(r)
		failsWith(t, r.Err(), 400, tc.msg)
	}

	big := *lenient
	big.MaxBody = 1 << 10
	body := func() *Request {
		t.Helper()
		c, _ := ctx(http.MethodPost, "/x", `{"name": 3, "flag": "x", "n": "7", "f": 1.5, "l": "s", "d": {"a": [1]}}`, "application/json")
		r, err := big.Read(c)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	r = body()
	if n := r.Int("n", 0); n != 7 || r.Err() != nil {
		t.Fatalf("string int %d %v", n, r.Err())
	}
	var d map[string][]int
	if has := r.Decode("d", &d); !has || r.Err() != nil || d["a"][0] != 1 {
		t.Fatalf("decode %v %v %v", has, r.Err(), d)
	}
	if s, has := r.Str("absent"); s != "" || has || r.Err() != nil {
		t.Fatalf("absent %q %v %v", s, has, r.Err())
	}
	const hint = " See the API docs for more information about request parameters."
	for _, tc := range []struct {
		read func(r *Request)
		msg  string
	}{
		{func(r *Request) { r.Required("name") }, "Invalid value 3 for parameter 'name' supplied:  Hint: Value was of type 'int'." + hint},
		{func(r *Request) { r.Bool("flag") }, `Invalid value "x" for parameter 'flag' supplied:  Hint: Value was of type 'str'.` + hint},
		{func(r *Request) { r.Int("d", 0) }, `Invalid value {"a":[1]} for parameter 'd' supplied:  Hint: Value was of type 'dict'.` + hint},
		{func(r *Request) { r.List("l"); r.Required("name") }, `Invalid value "s" for parameter 'l' supplied:  Hint: Value was of type 'str'.` + hint},
	} {
		r := body()
		tc.read(r)
		failsWith(t, r.Err(), 400, tc.msg)
	}
}

func TestOK(t *testing.T) {
	c, w := ctx(http.MethodGet, "/x", "", "")
	if err := OK(c, nil); err != nil || w.Body.String() != "{}" || w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("%v %q %q", err, w.Body.String(), w.Header().Get("Content-Type"))
	}
	c, w = ctx(http.MethodGet, "/x", "", "")
	if err := OK(c, map[string]Double{"v": Double(1.5)}); err != nil || w.Body.String() != `{"v":1.5}` || w.Code != 200 {
		t.Fatalf("%v %q", err, w.Body.String())
	}
}

// FuzzRead feeds arbitrary bodies to both readers: a client's input is
// never a server error, and every failure is a 4xx in MLflow's format.
func FuzzRead(f *testing.F) {
	for _, s := range []string{`{"run_id":"r","metrics":[{"key":"a","value":"NaN"}],"step":2}`, `"{\"run_id\":1}"`, `[1,2]`, `{"metrics":"x"}`, ``, `null`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		for _, rd := range []*Reader{strict, lenient} {
			c, _ := ctx(http.MethodPost, "/x", body, "application/json")
			r, err := rd.Read(c)
			if err != nil {
				if s := apierr.From(err).HTTPStatus(); s != 400 && s != 413 {
					t.Fatalf("%q: status %d: %v", body, s, err)
				}
				continue
			}
			var req batchReq
			r.Int("step", 0)
			r.List("metrics")
			for _, e := range []error{r.Bind(&req), r.Err()} {
				if e != nil && (apierr.From(e).HTTPStatus() != 400 || strings.Contains(e.Error(), "wire.")) {
					t.Fatalf("%q: %v", body, e)
				}
			}
		}
	})
}

func TestHandle(t *testing.T) {
	h := lenient.Handle(func(c *gin.Context, r *Request) (any, error) {
		name := r.Required("name")
		if err := r.Err(); err != nil {
			return nil, err
		}
		if name == "self" {
			c.Data(http.StatusNotModified, "application/json", nil)
			return nil, nil
		}
		return map[string]string{"hello": name}, nil
	})
	for _, tc := range []struct {
		target, body string
		status       int
		want         string
	}{
		{"/x?name=a", `{"name":"b"}`, 200, `{"hello":"a"}`},
		{"/x", `{"name":"b"}`, 200, `{"hello":"b"}`},
		{"/x?name=self", "", 304, ""},
	} {
		c, w := ctx(http.MethodGet, tc.target, tc.body, "application/json")
		if err := h(c); err != nil || w.Code != tc.status || w.Body.String() != tc.want {
			t.Errorf("%s: %v %d %q", tc.target, err, w.Code, w.Body.String())
		}
	}
	c, w := ctx(http.MethodPost, "/x", `{}`, "text/plain")
	err := h(c)
	failsWith(t, err, 400, "Bad Request. Content-Type must be one of ['application/json'].")
	if w.Body.Len() != 0 {
		t.Fatalf("wrote %q before the error", w.Body.String())
	}
	c, _ = ctx(http.MethodPost, "/x", `{}`, "application/json")
	failsWith(t, h(c), 400, "Missing value for required parameter 'name'. See the API docs for more information about request parameters.")
}

// TestIntLikeMLflow checks Int takes what MLflow's int check takes: 1.5
// and true leave the parameter at its default (MLflow's proto parsing
// leaves it unset), 2.0 is 2.
func TestIntLikeMLflow(t *testing.T) {
	c, _ := ctx(http.MethodPost, "/x", `{"f": 1.5, "b": true, "g": 2.0}`, "application/json")
	r, err := (&Reader{MaxBody: 1 << 20}).Read(c)
	if err != nil {
		t.Fatal(err)
	}
	if f, b, g := r.Int("f", 7), r.Int("b", 7), r.Int("g", 7); f != 7 || b != 7 || g != 2 || r.Err() != nil {
		t.Fatalf("f=%d b=%d g=%d err=%v", f, b, g, r.Err())
	}
}
