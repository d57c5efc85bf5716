package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/mlgate/mlgate/internal/app"
	"github.com/mlgate/mlgate/rollout"
	"github.com/mlgate/mlgate/tracking"
)

// rolloutFlags are the flags every rollout command takes.
type rolloutFlags struct {
	model, trackingURI, registryURI, logLevel, owner string
}

func (f *rolloutFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.model, "model", "", "the registered model (required)")
	fs.StringVar(&f.trackingURI, "tracking-uri", "", "tracking server with the replicas' serving runs (default $MLFLOW_TRACKING_URI)")
	fs.StringVar(&f.registryURI, "registry-uri", "", "registry server holding the rollout (default $MLFLOW_REGISTRY_URI, else the tracking URI)")
	fs.StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	fs.StringVar(&f.owner, "owner", "", "this controller's name in the state (default host/pid/random): a restarted controller of the same name resumes its rollout at once")
}

// controller checks the common flags and builds the controller.
func (f *rolloutFlags) controller(env *cliEnv, name string) (*rollout.Controller, func(context.Context) error, error) {
	if f.model == "" {
		return nil, nil, usagef("rollout %s: --model is required", name)
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return nil, nil, usagef("rollout %s: bad --log-level %q", name, f.logLevel)
	}
	cfg := tracking.FromEnv(env.getenv)
	if f.trackingURI != "" {
		cfg.TrackingURI = f.trackingURI
	}
	reg := env.getenv("MLFLOW_REGISTRY_URI")
	if f.registryURI != "" {
		reg = f.registryURI
	}
	logger := slog.New(slog.NewTextHandler(env.stderr, &slog.HandlerOptions{Level: level}))
	return app.NewRolloutController(app.RolloutOptions{Tracking: cfg, RegistryURI: reg, Controller: rollout.Options{Owner: f.owner, Logger: logger}})
}

// parseSteps reads "5,25,50,100".
func parseSteps(s string) ([]int, error) {
	var out []int
	for _, p := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil {
			return nil, fmt.Errorf("--steps %q: %q is not a whole number", s, p)
		}
		out = append(out, n)
	}
	return out, nil
}

// rolloutCommand parses the common flags and the command's own (added by
// flags, whose returned check runs after parsing), builds the controller
// and runs body with it and the model's name.
func rolloutCommand(ctx context.Context, env *cliEnv, args []string, name, usage string,
	flags func(fs *flag.FlagSet) (check func() error), body func(c *rollout.Controller, model string) error) error {
	fs := newFlagSet(env, "rollout "+name, usage)
	var f rolloutFlags
	f.register(fs)
	var check func() error
	if flags != nil {
		check = flags(fs)
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if check != nil {
		if err := check(); err != nil {
			return err
		}
	}
	c, closeFn, err := f.controller(env, name)
	if err != nil {
		return err
	}
	defer func() { _ = closeFn(context.WithoutCancel(ctx)) }()
	if err := body(c, f.model); err != nil {
		return fmt.Errorf("rollout %s: %w", name, err)
	}
	return nil
}

func runRolloutStart(ctx context.Context, env *cliEnv, args []string) error {
	o := rollout.StartOptions{Thresholds: rollout.DefaultThresholds()}
	flags := func(fs *flag.FlagSet) func() error {
		var steps string
		fs.StringVar(&o.Candidate, "candidate", "", "the version to roll out: a version number or an alias naming one (required)")
		fs.StringVar(&o.Alias, "alias", "champion", "the stable alias: the stable version is the one it names now; it moves to the candidate on promotion")
		fs.StringVar(&steps, "steps", "5,25,50,100", "the candidate's traffic weights in percent, increasing, each 1-100")
		fs.IntVar(&o.Shadow, "shadow", 0, "percent of the stable version's requests mirrored to the candidate (answers dropped, disagreement recorded), 0-100")
		fs.DurationVar(&o.Interval, "interval", time.Minute, "analysis interval: the figures of each interval decide whether a step holds")
		fs.DurationVar(&o.Settle, "settle", 10*time.Second, "after each weight change, figures of this long are not judged: set it to the replicas' --watch-interval, within which they apply the change")
		fs.StringVar(&o.Experiment, "experiment", "", "the replicas' --log-experiment, where their serving runs log the per-version figures (required unless --prometheus-url)")
		fs.StringVar(&o.Prometheus, "prometheus-url", "", "read the figures from this Prometheus server, which scrapes the replicas' /metrics, instead of their serving runs (e.g. http://prometheus:9090)")
		fs.Float64Var(&o.Thresholds.MaxErrorRate, "max-error-rate", o.Thresholds.MaxErrorRate, "largest share (0-1) of the candidate's requests answered with 5xx in an interval")
		fs.BoolVar(&o.Thresholds.Count4xx, "count-4xx", false, "count 4xx answers as errors too")
		fs.Float64Var(&o.Thresholds.MaxP99Ms, "max-p99-ms", 0, "largest p99 latency of the candidate in milliseconds (0: off)")
		fs.Float64Var(&o.Thresholds.MaxP99Ratio, "max-p99-ratio", 0, "largest p99 latency of the candidate relative to the stable version's, e.g. 1.2 (0: off)")
		fs.Float64Var(&o.Thresholds.MaxDisagreement, "max-disagreement", -1, "largest share (0-1) of shadow requests answered differently from the stable version (negative: off; needs --shadow)")
		fs.IntVar(&o.Thresholds.MinRequests, "min-requests", o.Thresholds.MinRequests, "fewest candidate requests in an interval to judge it; with fewer the step waits")
		fs.BoolVar(&o.Force, "force", false, "replace a RUNNING rollout whose controller's heartbeat is stale (3 intervals)")
		return func() error {
			if o.Candidate == "" || (o.Experiment == "" && o.Prometheus == "") {
				return usagef("rollout start: --candidate and --experiment (or --prometheus-url) are required")
			}
			if o.Prometheus != "" {
				if err := rollout.CheckPrometheusURL(o.Prometheus); err != nil {
					return usagef("rollout start: %s", err.Error())
				}
			}
			var err error
			if o.Steps, err = parseSteps(steps); err != nil {
				return usagef("rollout start: %s", err.Error())
			}
			return nil
		}
	}
	return rolloutCommand(ctx, env, args, "start", "mlgate rollout start --model NAME --candidate VERSION|ALIAS --experiment EXP|--prometheus-url URL [flags]", flags,
		func(c *rollout.Controller, model string) error {
			o.Model = model
			st, err := c.Start(ctx, o)
			if err != nil {
				return err
			}
			fmt.Fprintf(env.stdout, "rollout %s started: version %s → %s at %d%% (alias %s stays on %s until promotion)\n",
				st.ID, st.Stable, st.Candidate, st.Weight, st.Alias, st.Stable)
			return nil
		})
}

func runRolloutStatus(ctx context.Context, env *cliEnv, args []string) error {
	var asJSON bool
	flags := func(fs *flag.FlagSet) func() error {
		fs.BoolVar(&asJSON, "json", false, "print the state, the analysis settings and the last analysis as JSON")
		return nil
	}
	return rolloutCommand(ctx, env, args, "status", "mlgate rollout status --model NAME [--json]", flags,
		func(c *rollout.Controller, model string) error {
			v, err := c.Status(ctx, model)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(env.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(v)
			}
			v.Describe(env.stdout, time.Now())
			return nil
		})
}

func runRolloutPromote(ctx context.Context, env *cliEnv, args []string) error {
	return rolloutCommand(ctx, env, args, "promote", "mlgate rollout promote --model NAME", nil,
		func(c *rollout.Controller, model string) error {
			st, err := c.Promote(ctx, model)
			if err != nil {
				return err
			}
			fmt.Fprintf(env.stdout, "rollout %s promoted: alias %s → version %s\n", st.ID, st.Alias, st.Candidate)
			return nil
		})
}

func runRolloutAbort(ctx context.Context, env *cliEnv, args []string) error {
	var reason string
	flags := func(fs *flag.FlagSet) func() error {
		fs.StringVar(&reason, "reason", "", "why, recorded in the state (default: aborted by this host/pid)")
		return nil
	}
	return rolloutCommand(ctx, env, args, "abort", "mlgate rollout abort --model NAME [--reason TEXT]", flags,
		func(c *rollout.Controller, model string) error {
			st, err := c.Abort(ctx, model, reason)
			if err != nil {
				return err
			}
			fmt.Fprintf(env.stdout, "rollout %s aborted: weight 0, alias %s stays on version %s\n", st.ID, st.Alias, st.Stable)
			return nil
		})
}

func runRolloutRun(ctx context.Context, env *cliEnv, args []string) error {
	var force bool
	flags := func(fs *flag.FlagSet) func() error {
		fs.BoolVar(&force, "force", false, "take the rollout over even when another controller's heartbeat is fresh")
		return nil
	}
	return rolloutCommand(ctx, env, args, "run", "mlgate rollout run --model NAME [--force]", flags,
		func(c *rollout.Controller, model string) error {
			st, err := c.Run(ctx, model, force)
			switch {
			case err != nil && ctx.Err() != nil:
				return fmt.Errorf("interrupted; the rollout stays RUNNING and `mlgate rollout run --model %s` resumes it", model)
			case err != nil:
				return err
			case st == nil || st.Status != rollout.Promoted:
				return errors.New("the rollout ended without promotion")
			}
			fmt.Fprintf(env.stdout, "rollout %s promoted: alias %s → version %s\n", st.ID, st.Alias, st.Candidate)
			return nil
		})
}
