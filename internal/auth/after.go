package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"
)

// after is work done on a route's answer: the creator of an experiment or
// model gets MANAGE, a deleted or renamed model's grants follow it, and
// model-version search answers keep only what the user may read, as
// MLflow's do (the experiments and registered-models searches filter and
// refill their pages themselves, through FilterExperiments and
// FilterModels; runs and logged-models searches run over the readable
// experiments only). always marks the work admins need too (grants); filters
// apply to non-admins only.
type after struct {
	always bool
	fn     func(r *request, body []byte) []byte
}

var afters = map[route]*after{}

func init() {
	g, p, pa, d := http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete
	_ = pa
	m := "/mlflow/"
	afters[route{p, m + "experiments/create"}] = &after{always: true, fn: grantCreator(Experiment, "experiment_id")}
	afters[route{p, m + "registered-models/create"}] = &after{always: true, fn: grantCreator(RegisteredModel, "registered_model.name")}
	afters[route{d, m + "registered-models/delete"}] = &after{always: true, fn: dropGrants}
	afters[route{p, m + "registered-models/rename"}] = &after{always: true, fn: renameGrants}
	for _, method := range []string{g, p} {
		afters[route{method, m + "model-versions/search"}] = &after{fn: keep("model_versions", readable(RegisteredModel, "name"))}
	}
}

// capture buffers a handler's answer so it can be rewritten.
type capture struct {
	gin.ResponseWriter
	buf    bytes.Buffer
	status int
}

func (w *capture) WriteHeader(code int)              { w.status = code }
func (w *capture) WriteHeaderNow()                   {}
func (w *capture) Write(b []byte) (int, error)       { return w.buf.Write(b) }
func (w *capture) WriteString(s string) (int, error) { return w.buf.WriteString(s) }
func (w *capture) Status() int                       { return w.status }
func (w *capture) Written() bool                     { return w.buf.Len() > 0 }
func (w *capture) Size() int                         { return w.buf.Len() }
func (w *capture) Flush()                            {}

// runAfter runs the handler into a buffer, applies x on a 200 answer and
// sends the result.
func (a *App) runAfter(r *request, x *after) {
	c := r.c
	if c.Request.Method != http.MethodGet {
		r.loadBody() // kept for the after work: the handler drains the body
	}
	orig := c.Writer
	w := &capture{ResponseWriter: orig, status: http.StatusOK}
	c.Writer = w
	c.Next()
	c.Writer = orig
	body := w.buf.Bytes()
	if w.status == http.StatusOK {
		body = x.fn(r, body)
	}
	if orig.Header().Get("Content-Length") != "" {
		orig.Header().Set("Content-Length", strconv.Itoa(len(body)))
	}
	orig.WriteHeader(w.status)
	_, _ = orig.Write(body)
}

// field digs a dotted path out of a JSON object as a string.
func field(raw json.RawMessage, path string) (string, bool) {
	for {
		var obj map[string]json.RawMessage
		if json.Unmarshal(raw, &obj) != nil {
			return "", false
		}
		key, rest, more := cut(path)
		v, ok := obj[key]
		if !ok {
			return "", false
		}
		if !more {
			return rawString(v), true
		}
		raw, path = v, rest
	}
}

func cut(path string) (string, string, bool) {
	for i := 0; i < len(path); i++ {
		if path[i] == '.' {
			return path[:i], path[i+1:], true
		}
	}
	return path, "", false
}

func grantCreator(typ, path string) func(*request, []byte) []byte {
	return func(r *request, body []byte) []byte {
		id, ok := field(body, path)
		if !ok {
			return body
		}
		ctx := context.WithoutCancel(r.c.Request.Context())
		if err := r.a.store.Grant(ctx, r.u, typ, id, ManagePerm.Name); err != nil && !isAlreadyExists(err) {
			r.a.log.Error("grant MANAGE to creator", "user", r.u.Username, "type", typ, "id", id, "err", err)
		}
		r.a.regrant()
		return body
	}
}

func dropGrants(r *request, body []byte) []byte {
	if name, ok, _ := r.param("name"); ok {
		if err := r.a.store.DropResource(context.WithoutCancel(r.c.Request.Context()), RegisteredModel, name); err != nil {
			r.a.log.Error("drop grants of deleted model", "name", name, "err", err)
		}
		r.a.regrant()
	}
	return body
}

func renameGrants(r *request, body []byte) []byte {
	from, ok1, _ := r.param("name")
	to, ok2, _ := r.param("new_name")
	if ok1 && ok2 {
		if err := r.a.store.RenameResource(context.WithoutCancel(r.c.Request.Context()), RegisteredModel, from, to); err != nil {
			r.a.log.Error("rename grants of renamed model", "name", from, "err", err)
		}
		r.a.regrant()
	}
	return body
}

// readable keeps an item when the user may read the resource its id path names.
func readable(typ, path string) func(*request, json.RawMessage) bool {
	return func(r *request, item json.RawMessage) bool {
		id, ok := field(item, path)
		if !ok {
			return false
		}
		p, err := r.perm(typ, id)
		return err == nil && p.Read
	}
}

// keep filters the list under key of a JSON answer.
func keep(key string, ok func(*request, json.RawMessage) bool) func(*request, []byte) []byte {
	return func(r *request, body []byte) []byte {
		var obj map[string]json.RawMessage
		if json.Unmarshal(body, &obj) != nil {
			return body
		}
		var items []json.RawMessage
		if json.Unmarshal(obj[key], &items) != nil {
			return body
		}
		kept := items[:0]
		for _, it := range items {
			if ok(r, it) {
				kept = append(kept, it)
			}
		}
		if len(kept) == 0 {
			delete(obj, key)
		} else {
			b, _ := json.Marshal(kept)
			obj[key] = b
		}
		out, err := json.Marshal(obj)
		if err != nil {
			return body
		}
		return out
	}
}

// FilterExperiments keeps the experiment ids the signed-in user of ctx may
// read: runs/search and logged-models/search ask it before searching,
// experiments/search after reading each page (and fills the page back
// up), as MLflow does.
func (a *App) FilterExperiments(ctx context.Context, ids []string) []string {
	return a.filter(ctx, Experiment, ids)
}

// FilterModels keeps the registered model names the signed-in user of ctx
// may read: registered-models/search asks it for each page it reads.
func (a *App) FilterModels(ctx context.Context, names []string) []string {
	return a.filter(ctx, RegisteredModel, names)
}

func (a *App) filter(ctx context.Context, typ string, ids []string) []string {
	u, ok := userFrom(ctx)
	if !ok || u.IsAdmin {
		return ids
	}
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if p, err := a.Permission(ctx, u, typ, id); err == nil && p.Read {
			out = append(out, id)
		}
	}
	return out
}
