package auth

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/mlgate/mlgate/internal/apierr"
)

// maxAuthBody bounds the body the permission check reads to find the
// resource a request names; larger bodies are read by the handler alone.
const maxAuthBody = 8 << 20

// request is one permission check: the signed-in user and MLflow's way of
// reading a request parameter (query for GET, JSON body for POST and
// PATCH, either for DELETE, then the path).
type request struct {
	a    *App
	c    *gin.Context
	u    User
	body []byte // the JSON body, when read and not over maxAuthBody
	read bool
}

// loadBody reads the body for the check and puts back a reader that
// serves it again to the handler, followed by anything left unread.
func (r *request) loadBody() {
	if r.read {
		return
	}
	r.read = true
	rest := r.c.Request.Body
	if rest == nil {
		return
	}
	var b []byte
	var err error
	if n := r.c.Request.ContentLength; n >= 0 && n <= maxAuthBody {
		b = make([]byte, n)
		var k int
		k, err = io.ReadFull(rest, b)
		b = b[:k]
	} else {
		var buf bytes.Buffer
		_, err = buf.ReadFrom(io.LimitReader(rest, maxAuthBody+1))
		b = buf.Bytes()
	}
	r.c.Request.Body = &replay{b: b, rest: rest}
	if err == nil && len(b) <= maxAuthBody {
		r.body = b
	}
}

// replay serves the bytes the check read, then the rest of the body.
type replay struct {
	b    []byte
	rest io.ReadCloser
}

func (p *replay) Read(q []byte) (int, error) {
	if len(p.b) == 0 {
		return p.rest.Read(q)
	}
	n := copy(q, p.b)
	p.b = p.b[n:]
	return n, nil
}

func (p *replay) Close() error { return p.rest.Close() }

// fold is how a decoder might match a field name: case and underscores
// ignored (run_id, runId, RUN_ID are one name).
func foldName(s string) string {
	plain := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			return strings.ToLower(strings.ReplaceAll(s, "_", ""))
		}
		plain = plain && c != '_' && (c < 'A' || c > 'Z')
	}
	if plain {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '_':
		case 'A' <= c && c <= 'Z':
			b.WriteByte(c + 'a' - 'A')
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// errAmbiguous refuses a request naming one parameter twice with different
// values: the check and the handler must not read different resources.
func errAmbiguous(name string) error {
	return apierr.New(apierr.InvalidParameterValue, "Parameter '%s' is given more than once with different values.", name)
}

// one returns the single value of a parameter among all spellings.
func one(vals []string, name string) (string, bool, error) {
	if len(vals) == 0 {
		return "", false, nil
	}
	for _, v := range vals[1:] {
		if v != vals[0] {
			return "", false, errAmbiguous(name)
		}
	}
	return vals[0], true, nil
}

// param returns a request parameter and whether it is present.
func (r *request) param(name string) (string, bool, error) {
	var buf [2]string // the common case, kept off the heap
	vals := buf[:0]
	switch r.c.Request.Method {
	case http.MethodGet:
		vals = r.queryVals(vals, name)
	case http.MethodDelete:
		if !strings.HasPrefix(r.c.ContentType(), "application/json") {
			vals = r.queryVals(vals, name)
			break
		}
		fallthrough
	default:
		r.loadBody()
		var raws [2]json.RawMessage
		for _, raw := range members(raws[:0], r.body, name) {
			vals = append(vals, rawString(raw))
		}
	}
	if len(vals) > 0 {
		return one(vals, name)
	}
	for _, p := range r.c.Params {
		if p.Key == name {
			return p.Value, true, nil
		}
	}
	return "", false, nil
}

// queryVals appends the query's values of every spelling of name to
// vals, read as url.ParseQuery reads them (pairs with a semicolon or a bad
// escape are skipped) without building the whole url.Values.
func (r *request) queryVals(vals []string, name string) []string {
	for q := r.c.Request.URL.RawQuery; q != ""; {
		var kv string
		kv, q, _ = strings.Cut(q, "&")
		if kv == "" || strings.Contains(kv, ";") {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		k, err := url.QueryUnescape(k)
		if err != nil || !sameFold(k, name) {
			continue
		}
		if v, err = url.QueryUnescape(v); err == nil {
			vals = append(vals, v)
		}
	}
	return vals
}

// sameFold reports whether foldName(a) == foldName(b), without allocating
// for the ASCII names requests use (a may be a JSON key's bytes).
func sameFold[T string | []byte](a T, b string) bool {
	i, j := 0, 0
	for {
		for i < len(a) && a[i] == '_' {
			i++
		}
		for j < len(b) && b[j] == '_' {
			j++
		}
		if i == len(a) || j == len(b) {
			return i == len(a) && j == len(b)
		}
		ca, cb := a[i], b[j]
		if ca >= utf8.RuneSelf || cb >= utf8.RuneSelf {
			return foldName(string(a)) == foldName(b)
		}
		if 'A' <= ca && ca <= 'Z' {
			ca += 'a' - 'A'
		}
		if 'A' <= cb && cb <= 'Z' {
			cb += 'a' - 'A'
		}
		if ca != cb {
			return false
		}
		i, j = i+1, j+1
	}
}

// rawString renders a JSON value as Python's str() of it would for the
// ids MLflow reads: strings as they are, numbers as written.
func rawString(raw json.RawMessage) string {
	if s, ok := plainString(raw); ok {
		return s
	}
	return decodeString(raw)
}

// decodeString is rawString of a value that is not a plain string literal.
func decodeString(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		return strconv.FormatBool(b)
	}
	return string(raw)
}

// need returns a required parameter or MLflow's error for a missing one.
func (r *request) need(name string) (string, error) {
	v, ok, err := r.param(name)
	if err != nil || ok {
		return v, err
	}
	if name == "run_id" {
		if v, ok, err := r.param("run_uuid"); err != nil || ok {
			return v, err
		}
	}
	return "", apierr.New(apierr.InvalidParameterValue,
		"Missing value for required parameter '%s'. See the API docs for more information about request parameters.", name)
}

// perm is the signed-in user's permission on a resource.
func (r *request) perm(typ, id string) (Permission, error) {
	return r.a.Permission(r.c.Request.Context(), r.u, typ, id)
}

// paramBool reads the admin flag, a JSON boolean or its text.
func paramBool(v string) (bool, error) {
	return strconv.ParseBool(strings.ToLower(v))
}
