package main

import (
	"flag"
	"strings"

	"github.com/mlgate/mlgate/internal/app"
)

// securityFlags adds the security middleware's flags to fs. On `mlgate
// server` (server true) their defaults come from MLflow's variables
// MLFLOW_SERVER_ALLOWED_HOSTS, MLFLOW_SERVER_CORS_ALLOWED_ORIGINS,
// MLFLOW_SERVER_X_FRAME_OPTIONS and MLFLOW_SERVER_DISABLE_SECURITY_MIDDLEWARE;
// `models serve` has no variables (its protections are off unless asked
// for). The returned function reads the parsed flags.
func securityFlags(fs *flag.FlagSet, env *cliEnv, server bool) func() app.Security {
	getenv := func(k string) string {
		if !server {
			return ""
		}
		return env.getenv(k)
	}
	hosts := fs.String("allowed-hosts", getenv("MLFLOW_SERVER_ALLOWED_HOSTS"),
		"comma-separated Host headers accepted, * patterns allowed (env MLFLOW_SERVER_ALLOWED_HOSTS; default: localhost, loopback and private addresses"+
			map[bool]string{true: ")", false: "; setting it or --cors-allowed-origins turns the protections on)"}[server])
	origins := fs.String("cors-allowed-origins", getenv("MLFLOW_SERVER_CORS_ALLOWED_ORIGINS"),
		"comma-separated origins besides localhost allowed to make cross-origin requests, * patterns allowed; * allows all (env MLFLOW_SERVER_CORS_ALLOWED_ORIGINS)")
	defFrame := "SAMEORIGIN"
	if v := getenv("MLFLOW_SERVER_X_FRAME_OPTIONS"); v != "" {
		defFrame = v
	}
	frame := fs.String("x-frame-options", defFrame, "X-Frame-Options header: SAMEORIGIN, DENY or NONE (env MLFLOW_SERVER_X_FRAME_OPTIONS)")
	disabled := fs.Bool("disable-security-middleware", strings.EqualFold(getenv("MLFLOW_SERVER_DISABLE_SECURITY_MIDDLEWARE"), "true"),
		"turn off Host validation, CORS protection and security headers (env MLFLOW_SERVER_DISABLE_SECURITY_MIDDLEWARE=true)")
	return func() app.Security {
		return app.Security{Disabled: *disabled, AllowedHosts: splitList(*hosts), AllowedOrigins: splitList(*origins),
			XFrameOptions: *frame}
	}
}

// splitList splits a comma-separated list, trimming blanks and dropping
// empty items.
func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}
