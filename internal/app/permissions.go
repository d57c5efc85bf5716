package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/mlgate/mlgate/internal/auth"
	"github.com/mlgate/mlgate/internal/db"
	regstore "github.com/mlgate/mlgate/registry/store"
	"github.com/mlgate/mlgate/tracking/store"
)

// basicAuth opens MLflow's basic-auth app (`--app-name basic-auth`): its
// users and grants live in the database its config names, which may be
// the backend store itself.
func (s *Server) basicAuth(ctx context.Context) (*auth.App, error) {
	cfg := s.opts.BasicAuth
	d := s.db
	if cfg.DatabaseURI != "" && cfg.DatabaseURI != s.opts.BackendStoreURI {
		var err error
		if d, err = db.Open(ctx, cfg.DatabaseURI); err != nil {
			return nil, fmt.Errorf("basic-auth database_uri: %w", err)
		}
		s.authDB = d
	}
	st, err := auth.OpenStore(ctx, d)
	if err != nil {
		return nil, err
	}
	tr, reg := s.tracking, s.registry
	missing := func(err error, notFound error) error {
		if errors.Is(err, notFound) {
			return auth.ErrNoResource
		}
		return err
	}
	return auth.NewApp(ctx, st, cfg, auth.Lookups{
		RunExperiment: func(ctx context.Context, id string) (string, error) {
			r, err := tr.GetRunInfo(ctx, id)
			if err != nil {
				return "", missing(err, store.ErrNotFound)
			}
			return r.ExperimentID, nil
		},
		LoggedModelExperiment: func(ctx context.Context, id string) (string, error) {
			m, err := tr.GetLoggedModel(ctx, id)
			if err != nil {
				return "", missing(err, store.ErrNotFound)
			}
			return m.ExperimentID, nil
		},
		ExperimentByName: func(ctx context.Context, name string) (string, error) {
			e, err := tr.GetExperimentByName(ctx, name)
			if err != nil {
				return "", missing(err, store.ErrNotFound)
			}
			return e.ID, nil
		},
		RegisteredModelExists: func(ctx context.Context, name string) error {
			_, err := reg.GetRegisteredModel(ctx, name)
			return missing(err, regstore.ErrNotFound)
		},
	}, s.opts.Logger)
}
