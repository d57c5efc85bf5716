package auth

import "github.com/mlgate/mlgate/internal/apierr"

// Permission is a level on an experiment or a registered model, as in
// MLflow's basic-auth app: what a holder may read, use, update, delete and
// manage (grant to others).
type Permission struct {
	Name                              string
	rank                              int
	Read, Use, Update, Delete, Manage bool
}

// The permissions, from none to all. DENY is MLflow's explicit veto: it
// wins over the default permission.
var (
	NoPermissions = Permission{Name: "NO_PERMISSIONS", rank: 0}
	ReadPerm      = Permission{Name: "READ", rank: 1, Read: true}
	UsePerm       = Permission{Name: "USE", rank: 2, Read: true, Use: true}
	EditPerm      = Permission{Name: "EDIT", rank: 3, Read: true, Use: true, Update: true}
	ManagePerm    = Permission{Name: "MANAGE", rank: 4, Read: true, Use: true, Update: true, Delete: true, Manage: true}
	DenyPerm      = Permission{Name: "DENY", rank: -1}
)

var permissions = map[string]Permission{}

func init() {
	for _, p := range []Permission{NoPermissions, ReadPerm, UsePerm, EditPerm, ManagePerm, DenyPerm} {
		permissions[p.Name] = p
	}
}

// PermissionNamed returns the permission called name.
func PermissionNamed(name string) (Permission, bool) {
	p, ok := permissions[name]
	return p, ok
}

// validNames lists the permissions in MLflow's order, for its error text.
const validNames = "('READ', 'USE', 'EDIT', 'MANAGE', 'NO_PERMISSIONS', 'DENY')"

// Resource types a permission is granted on.
const (
	Experiment      = "experiment"
	RegisteredModel = "registered_model"
)

// grantable reports MLflow's check of a per-resource grant: READ, USE,
// EDIT, MANAGE or DENY (NO_PERMISSIONS is expressed by granting nothing).
func grantable(name, typ string) error {
	p, ok := permissions[name]
	if !ok {
		return apierr.New(apierr.InvalidParameterValue, "Invalid permission '%s'. Valid permissions are: %s", name, validNames)
	}
	if p == NoPermissions {
		return apierr.New(apierr.InvalidParameterValue,
			"Invalid permission '%s' for resource_type='%s'. Resource-level grants accept only: ('DENY', 'EDIT', 'MANAGE', 'READ', 'USE').", name, typ)
	}
	return nil
}

// effective folds a user's grant on a resource with the default permission
// as MLflow does: no grant means the default; a positive grant is raised to
// the default when lower; DENY stays DENY.
func effective(grant Permission, has bool, def Permission) Permission {
	if !has {
		return def
	}
	if grant == DenyPerm || grant == NoPermissions {
		return grant
	}
	if def.rank > grant.rank {
		return def
	}
	return grant
}

// fold combines a resource's own grant with a wildcard grant of its type:
// DENY wins, else the higher.
func fold(own Permission, has bool, wildcard Permission) Permission {
	if !has {
		return wildcard
	}
	if own == DenyPerm || wildcard == DenyPerm {
		return DenyPerm
	}
	if wildcard.rank > own.rank {
		return wildcard
	}
	return own
}

// grantSet is a user's grants as the check path reads them: resource type
// → resource id ("*" for all of the type) → permission (a name MLflow
// does not know reads as no ability at all).
type grantSet map[string]map[string]Permission

// grantSetOf lays out grants read from the store.
func grantSetOf(rows [][3]string) grantSet {
	g := grantSet{}
	for _, r := range rows {
		typ, id, name := r[0], r[1], r[2]
		if g[typ] == nil {
			g[typ] = map[string]Permission{}
		}
		g[typ][id] = permissions[name]
	}
	return g
}

// on is the grant on a resource, folded with the wildcard grant of its
// type, and whether there is any.
func (g grantSet) on(typ, id string) (Permission, bool) {
	byID := g[typ]
	p, has := byID[id]
	if w, ok := byID["*"]; ok {
		return fold(p, has, w), true
	}
	return p, has
}
