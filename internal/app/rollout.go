package app

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/mlgate/mlgate/registry"
	"github.com/mlgate/mlgate/rest"
	"github.com/mlgate/mlgate/rollout"
	"github.com/mlgate/mlgate/tracking"
)

// RolloutOptions configure the controller of `mlgate rollout`.
type RolloutOptions struct {
	// Tracking is where the replicas' serving runs are (tracking.FromEnv
	// plus flags).
	Tracking tracking.Config
	// RegistryURI is the registry server holding the rollout
	// (MLFLOW_REGISTRY_URI; default Tracking.TrackingURI). It must be
	// http(s).
	RegistryURI string
	// Controller sets the owner name, the logger and the clock.
	Controller rollout.Options
}

// NewRolloutController builds the rollout controller over a registry and a
// tracking client; close releases them.
func NewRolloutController(o RolloutOptions) (c *rollout.Controller, closeFn func(context.Context) error, err error) {
	regURI := o.RegistryURI
	if regURI == "" {
		regURI = o.Tracking.TrackingURI
	}
	if !strings.HasPrefix(regURI, "http://") && !strings.HasPrefix(regURI, "https://") {
		return nil, nil, fmt.Errorf("rollouts need an http(s) registry server; set MLFLOW_REGISTRY_URI, MLFLOW_TRACKING_URI or --tracking-uri (now %q)", regURI)
	}
	logger := o.Controller.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	hc := o.Tracking.HTTP
	hc.BaseURL = regURI
	if hc.Logger == nil {
		hc.Logger = logger
	}
	t, err := rest.New(hc)
	if err != nil {
		return nil, nil, err
	}
	cfg := o.Tracking
	if cfg.TrackingURI == "" {
		cfg.TrackingURI = regURI
	}
	if cfg.Logger == nil {
		cfg.Logger = logger
	}
	tc, err := tracking.NewClient(cfg)
	if err != nil {
		return nil, nil, err
	}
	return rollout.New(registry.NewClient(t), tc, o.Controller), tc.Close, nil
}
