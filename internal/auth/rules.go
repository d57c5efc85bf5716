package auth

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strings"

	"github.com/mlgate/mlgate/internal/apierr"
)

// check decides whether a non-admin may make a request.
type check func(r *request) (bool, error)

// need is one of a permission's abilities.
type need func(Permission) bool

func canRead(p Permission) bool   { return p.Read }
func canUpdate(p Permission) bool { return p.Update }
func canDelete(p Permission) bool { return p.Delete }
func canManage(p Permission) bool { return p.Manage }

// experiment checks the experiment named by the experiment_id parameter.
func experiment(n need) check {
	return func(r *request) (bool, error) {
		id, err := r.need("experiment_id")
		if err != nil {
			return false, err
		}
		p, err := r.perm(Experiment, id)
		return n(p), err
	}
}

// experimentByName checks the experiment named by experiment_name; a
// missing one is MLflow's 404.
func experimentByName(n need) check {
	return func(r *request) (bool, error) {
		name, err := r.need("experiment_name")
		if err != nil {
			return false, err
		}
		missing := apierr.New(apierr.ResourceDoesNotExist, "Could not find experiment with name %s", name)
		return r.viaExperiment(r.a.look.ExperimentByName, name, n, missing)
	}
}

// viaExperiment checks the experiment lookup finds for id; a missing
// resource is the missing error, or a denial when that is nil (so the
// answer tells nothing about which ids exist).
func (r *request) viaExperiment(lookup func(context.Context, string) (string, error), id string, n need, missing error) (bool, error) {
	exp, err := lookup(r.c.Request.Context(), id)
	if errors.Is(err, ErrNoResource) {
		return false, missing
	}
	if err != nil {
		return false, err
	}
	p, err := r.perm(Experiment, exp)
	return p.Read && n(p), err
}

// runID checks a run's experiment; a missing run is denied.
func (r *request) runID(id string, n need) (bool, error) {
	return r.viaExperiment(r.a.runExperiment, id, n, nil)
}

// run checks the run named by run_id (or run_uuid).
func run(n need) check {
	return func(r *request) (bool, error) {
		id, err := r.need("run_id")
		if err != nil {
			return false, err
		}
		return r.runID(id, n)
	}
}

// runQuery checks the run of the artifact routes' run_id or run_uuid query.
func runQuery(n need) check {
	return func(r *request) (bool, error) {
		id := r.c.Query("run_id")
		if id == "" {
			id = r.c.Query("run_uuid")
		}
		if id == "" {
			return false, apierr.New(apierr.InvalidParameterValue, "Request must specify run_id or run_uuid parameter")
		}
		return r.runID(id, n)
	}
}

// runsQuery checks every run of the bulk metric-history routes.
func runsQuery(key string) check {
	return func(r *request) (bool, error) {
		ids := r.c.QueryArray(key)
		if len(ids) == 0 {
			return false, apierr.New(apierr.InvalidParameterValue, "GetMetricHistoryBulk request must specify at least one run_id.")
		}
		for _, id := range ids {
			if ok, err := r.runID(id, canRead); !ok || err != nil {
				return ok, err
			}
		}
		return true, nil
	}
}

// loggedModel checks the experiment of the logged model in the path.
func loggedModel(n need) check {
	return func(r *request) (bool, error) {
		id, err := r.need("model_id")
		if err != nil {
			return false, err
		}
		return r.viaExperiment(r.a.look.LoggedModelExperiment, id, n, nil)
	}
}

// model checks the registered model named by name; when exists is set a
// missing model is denied (the version routes), else it gets the default
// permission and the handler answers 404.
func model(n need, exists bool) check {
	return func(r *request) (bool, error) {
		name, err := r.need("name")
		if err != nil {
			return false, err
		}
		if exists {
			err := r.a.look.RegisteredModelExists(r.c.Request.Context(), name)
			if errors.Is(err, ErrNoResource) {
				return false, nil
			}
			if err != nil {
				return false, err
			}
		}
		p, err := r.perm(RegisteredModel, name)
		return p.Read && n(p), err
	}
}

// modelQuery checks the model-version artifact route's name query.
func modelQuery(r *request) (bool, error) {
	name := r.c.Query("name")
	if name == "" {
		return false, apierr.New(apierr.InvalidParameterValue, "Request must specify name parameter")
	}
	p, err := r.perm(RegisteredModel, name)
	return p.Read, err
}

// createVersion needs EDIT on the model and READ on the source run.
func createVersion(r *request) (bool, error) {
	ok, err := model(canUpdate, true)(r)
	if !ok || err != nil {
		return ok, err
	}
	id, has, err := r.param("run_id")
	if err != nil {
		return false, err
	}
	if has {
		if id == "" {
			return false, nil
		}
		return r.runID(id, canRead)
	}
	return true, nil
}

var artifactExperiment = regexp.MustCompile(`^(\d+)/`)

// artifactProxy checks the experiment an mlflow-artifacts path starts with;
// a path naming none gets the default permission.
func artifactProxy(n need) check {
	return func(r *request) (bool, error) {
		path := strings.TrimPrefix(r.c.Param("path"), "/")
		if path == "" {
			path = r.c.Query("path")
		}
		m := artifactExperiment.FindStringSubmatch(strings.TrimPrefix(path, "/") + "/")
		if m == nil {
			return n(r.a.def), nil
		}
		p, err := r.perm(Experiment, m[1])
		return n(p), err
	}
}

func allow(*request) (bool, error) { return true, nil }
func deny(*request) (bool, error)  { return false, nil }

// self passes when the username parameter is the signed-in user.
func self(r *request) (bool, error) {
	name, err := r.need("username")
	return err == nil && name == r.u.Username, err
}

// resourceManager passes grant and revoke for a MANAGE holder of the resource.
func resourceManager(r *request) (bool, error) {
	typ, err := r.need("resource_type")
	if err != nil {
		return false, err
	}
	id, err := r.need("resource_id")
	if err != nil {
		return false, err
	}
	if err := checkResourceType(typ); err != nil {
		return false, err
	}
	if id == "*" {
		return false, nil
	}
	p, err := r.perm(typ, id)
	return p.Manage, err
}

// checks is MLflow's table of what a non-admin needs per route (method and
// path below the API prefix). Routes not listed need only a signed-in
// user, as in MLflow; the search routes filter their answers instead.
var checks = map[route]check{}

func init() {
	g, p, pa, d, pu := http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete, http.MethodPut
	add := func(method, path string, c check) { checks[route{method, path}] = c }
	m := "/mlflow/"
	add(p, m+"experiments/create", allow)
	add(g, m+"experiments/get", experiment(canRead))
	add(g, m+"experiments/get-by-name", experimentByName(canRead))
	add(p, m+"experiments/delete", experiment(canDelete))
	add(p, m+"experiments/restore", experiment(canDelete))
	add(p, m+"experiments/update", experiment(canUpdate))
	add(p, m+"experiments/set-experiment-tag", experiment(canUpdate))
	add(p, m+"experiments/delete-experiment-tag", experiment(canUpdate))
	add(p, m+"runs/create", experiment(canUpdate))
	add(g, m+"runs/get", run(canRead))
	add(p, m+"runs/delete", run(canDelete))
	add(p, m+"runs/restore", run(canDelete))
	for _, w := range []string{"update", "log-metric", "log-batch", "log-inputs", "log-model", "outputs", "set-tag", "delete-tag", "log-parameter"} {
		add(p, m+"runs/"+w, run(canUpdate))
	}
	add(g, m+"metrics/get-history", run(canRead))
	add(g, m+"artifacts/list", run(canRead))
	add(g, m+"metrics/get-history-bulk", runsQuery("run_id"))
	add(g, m+"metrics/get-history-bulk-interval", runsQuery("run_ids"))
	add(p, m+"logged-models", experiment(canUpdate))
	add(g, m+"logged-models/:model_id", loggedModel(canRead))
	add(pa, m+"logged-models/:model_id", loggedModel(canUpdate))
	add(d, m+"logged-models/:model_id", loggedModel(canDelete))
	add(pa, m+"logged-models/:model_id/tags", loggedModel(canUpdate))
	add(d, m+"logged-models/:model_id/tags/:tag_key", loggedModel(canDelete))
	add(p, m+"logged-models/:model_id/params", loggedModel(canUpdate))
	add(g, m+"logged-models/:model_id/artifacts/directories", loggedModel(canRead))

	add(p, m+"registered-models/create", allow)
	for _, method := range []string{g, p} {
		add(method, m+"registered-models/get", model(canRead, false))
		add(method, m+"registered-models/get-latest-versions", model(canRead, true))
		add(method, m+"model-versions/get", model(canRead, true))
		add(method, m+"model-versions/get-download-uri", model(canRead, true))
		add(method, m+"registered-models/alias", model(canRead, true))
	}
	add(pa, m+"registered-models/update", model(canUpdate, false))
	add(p, m+"registered-models/rename", model(canUpdate, false))
	add(p, m+"registered-models/set-tag", model(canUpdate, false))
	add(d, m+"registered-models/delete-tag", model(canUpdate, false))
	add(d, m+"registered-models/delete", model(canDelete, true))
	add(p, m+"registered-models/alias", model(canUpdate, true))
	add(d, m+"registered-models/alias", model(canDelete, true))
	add(p, m+"model-versions/create", createVersion)
	add(pa, m+"model-versions/update", model(canUpdate, true))
	add(p, m+"model-versions/transition-stage", model(canUpdate, true))
	add(p, m+"model-versions/set-tag", model(canUpdate, true))
	add(d, m+"model-versions/delete-tag", model(canDelete, true))
	add(d, m+"model-versions/delete", model(canDelete, true))
	for _, method := range []string{g, p, pa, d} {
		add(method, m+"webhooks", deny)
		add(method, m+"webhooks/:webhook_id", deny)
		add(method, m+"webhooks/:webhook_id/test", deny)
	}

	add(g, "/get-artifact", runQuery(canRead))
	add(g, "/model-versions/get-artifact", modelQuery)
	add(g, "/mlflow-artifacts/artifacts", artifactProxy(canRead))
	add(g, "/mlflow-artifacts/artifacts/*path", artifactProxy(canRead))
	add(pu, "/mlflow-artifacts/artifacts/*path", artifactProxy(canUpdate))
	add(d, "/mlflow-artifacts/artifacts/*path", artifactProxy(canManage))
	for _, op := range []string{"create", "complete", "abort"} {
		add(p, "/mlflow-artifacts/mpu/"+op+"/*path", artifactProxy(canUpdate))
	}

	add(p, m+"users/create", deny)
	add(g, m+"users/get", self)
	add(pa, m+"users/update-password", self)
	add(pa, m+"users/update-admin", deny)
	add(d, m+"users/delete", deny)
	add(p, m+"users/permissions/grant", resourceManager)
	add(p, m+"users/permissions/revoke", resourceManager)
	add(g, m+"users/permissions/get", self)
}
