package main

import (
	"context"
	"log/slog"
	"runtime"
	"strings"

	"github.com/mlgate/mlgate/artifacts"
	"github.com/mlgate/mlgate/internal/app"
	"github.com/mlgate/mlgate/internal/auth"
)

func runServer(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet(env, "server", "mlgate server [flags]")
	var o app.ServerOptions
	fs.StringVar(&o.BackendStoreURI, "backend-store-uri", "sqlite:///mlgate.db", "tracking and registry store: sqlite:///path.db or postgresql://user:pass@host:port/db")
	fs.StringVar(&o.DefaultArtifactRoot, "default-artifact-root", "", "artifact root of new experiments (default mlflow-artifacts:/ with --serve-artifacts, else ./mlruns)")
	fs.StringVar(&o.ArtifactsDestination, "artifacts-destination", "./mlartifacts", "where proxied artifacts are stored: a folder or s3://, gs://, wasbs:// or abfss:// URI")
	fs.BoolVar(&o.ServeArtifacts, "serve-artifacts", true, "serve the mlflow-artifacts proxy API")
	noServe := fs.Bool("no-serve-artifacts", false, "disable the mlflow-artifacts proxy API")
	fs.StringVar(&o.Host, "host", "127.0.0.1", "address to listen on")
	fs.StringVar(&o.Host, "h", "127.0.0.1", "shorthand for --host")
	fs.IntVar(&o.Port, "port", 5000, "port to listen on")
	fs.IntVar(&o.Port, "p", 5000, "shorthand for --port")
	fs.IntVar(&o.MaxWriteTransactions, "max-write-transactions", max(2, runtime.GOMAXPROCS(0)), "PostgreSQL store: write transactions run at once, the others wait (leaves CPU to searches; default: the CPUs this process may use, at least 2); 0: no bound")
	fs.StringVar(&o.Auth, "auth", "none", "authentication: none or basic")
	fs.StringVar(&o.AuthUsersFile, "auth-users", "", "users file for --auth basic (name:bcrypt-hash[:read|write] per line)")
	fs.StringVar(&o.AppName, "app-name", "", "basic-auth: MLflow's basic-auth app (users, admins, per-experiment and per-model permissions), configured by the ini file MLFLOW_AUTH_CONFIG_PATH names")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn, error")
	security := securityFlags(fs, env, true)
	_ = fs.Int("workers", 1, "N: accepted for mlflow server compatibility; mlgate serves every request from one process")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *noServe {
		o.ServeArtifacts = false
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return usagef("server: bad --log-level %q", *logLevel)
	}
	o.Security = security()
	o.Logger = slog.New(slog.NewTextHandler(env.stderr, &slog.HandlerOptions{Level: level}))
	o.Artifacts = artifacts.FromEnv(env.getenv)
	o.ModelVersionSourceRegex = env.getenv("MLFLOW_CREATE_MODEL_VERSION_SOURCE_VALIDATION_REGEX")
	if v := env.getenv("MLFLOW_WEBHOOK_ALLOWED_SCHEMES"); v != "" {
		for _, s := range strings.Split(v, ",") {
			o.WebhookAllowedSchemes = append(o.WebhookAllowedSchemes, strings.TrimSpace(s))
		}
	}
	switch strings.ToLower(env.getenv("MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS")) {
	case "true", "1":
		o.WebhookAllowPrivateIPs = true
	}
	if o.AppName == "basic-auth" {
		cfg, err := auth.LoadConfig(env.getenv)
		if err != nil {
			return err
		}
		o.BasicAuth = cfg
	}
	return app.RunServer(ctx, o)
}
