// Command mlgate is an MLflow-compatible model packaging, tracking, registry
// and serving runtime in one binary. This package only wires: it parses
// flags into internal/app options, turns signals into a context, runs the
// command and maps the result to an exit code.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	"github.com/mlgate/mlgate/internal/app"
)

// Exit codes.
const (
	exitOK      = 0
	exitRuntime = 1
	exitUsage   = 2
)

// command is one (sub)command of the CLI.
type command struct {
	name  string
	short string
	// run parses args and runs; it returns a usageError for bad arguments.
	run func(ctx context.Context, env *cliEnv, args []string) error
	// hidden commands are not listed in help (internal helpers).
	hidden bool
}

// cliEnv is what commands read from the outside world: streams and the
// environment, so that tests can drive main without a process.
type cliEnv struct {
	stdout, stderr io.Writer
	getenv         func(string) string
}

// usageError is a bad command line: exit 2 with a one-line reason.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

func commands() map[string][]command {
	return map[string][]command{
		"": {
			{name: "server", short: "run the tracking and model registry server (drop-in for `mlflow server`)", run: runServer},
			{name: "models", short: "package, download and serve models", run: nil},
			{name: "rollout", short: "drive a registry-driven progressive rollout: start, status, promote, abort, run", run: nil},
			{name: "run", short: "run an MLflow project from a folder or git repository (drop-in for `mlflow run`)", run: runRun},
			{name: "quickstart", short: "embedded server + example model served from the registry (what `make run` runs)", run: runQuickstart},
			{name: "version", short: "print the mlgate version", run: runVersion},
			{name: "build-base", short: "write the runtime base image from staged parts (make image)", run: runBuildBase, hidden: true},
		},
		"rollout": {
			{name: "start", short: "start rolling a candidate version out in steps (writes the state replicas follow)", run: runRolloutStart},
			{name: "status", short: "print a model's rollout and its last analysis", run: runRolloutStatus},
			{name: "promote", short: "move the stable alias to the candidate now and end the rollout", run: runRolloutPromote},
			{name: "abort", short: "stop a rollout: weight 0, the alias untouched", run: runRolloutAbort},
			{name: "run", short: "drive a rollout to its end: analyse, advance, promote or roll back", run: runRolloutRun},
		},
		"models": {
			{name: "serve", short: "serve a model over HTTP (drop-in for `mlflow models serve`)", run: runModelsServe},
			{name: "package", short: "write an MLflow model folder from an ONNX file", run: runModelsPackage},
			{name: "download", short: "download a model or run artifact to a local folder", run: runModelsDownload},
			{name: "build-docker", short: "build an OCI image serving a model, without a Docker daemon (drop-in for `mlflow models build-docker`)", run: runModelsBuildDocker},
			{name: "generate-dockerfile", short: "write a Dockerfile and build context for a model image", run: runModelsGenerateDockerfile},
		},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	env := &cliEnv{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
	code := run(ctx, env, os.Args[1:])
	stop()
	os.Exit(code)
}

// run dispatches args to a command and returns the exit code.
func run(ctx context.Context, env *cliEnv, args []string) int {
	err := dispatch(ctx, env, "", args)
	var ue usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(env.stderr, "mlgate: %s\n", ue.msg)
		return exitUsage
	default:
		fmt.Fprintf(env.stderr, "mlgate: %s\n", oneLine(err.Error()))
		return exitRuntime
	}
}

func dispatch(ctx context.Context, env *cliEnv, group string, args []string) error {
	cmds := commands()[group]
	prefix := strings.TrimSpace("mlgate " + group)
	if len(args) == 0 {
		printHelp(env.stderr, prefix, cmds)
		return usagef("%s: missing command (see '%s --help')", prefix, prefix)
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printHelp(env.stdout, prefix, cmds)
		return nil
	}
	for _, c := range cmds {
		if c.name != args[0] {
			continue
		}
		if c.run == nil {
			return dispatch(ctx, env, c.name, args[1:])
		}
		return c.run(ctx, env, args[1:])
	}
	return usagef("%s: unknown command %q (see '%s --help')", prefix, args[0], prefix)
}

func printHelp(w io.Writer, prefix string, cmds []command) {
	fmt.Fprintf(w, "Usage: %s <command> [flags]\n\nCommands:\n", prefix)
	sorted := append([]command(nil), cmds...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].name < sorted[j].name })
	for _, c := range sorted {
		if !c.hidden {
			fmt.Fprintf(w, "  %-10s %s\n", c.name, c.short)
		}
	}
	fmt.Fprintf(w, "\nRun '%s <command> --help' for a command's flags.\n", prefix)
}

// newFlagSet returns a flag set that reports errors as usage errors.
func newFlagSet(env *cliEnv, name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.stdout, "Usage: %s\n\nFlags:\n", usage)
		fs.SetOutput(env.stdout)
		fs.PrintDefaults()
		fs.SetOutput(env.stderr)
	}
	return fs
}

// parseFlags parses args; a bad flag becomes a one-line usage error.
// Flags may come before or after positional arguments; there may be none.
func parseFlags(fs *flag.FlagSet, args []string) error {
	rest, err := parseFlagsArgs(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("%s: unexpected argument %q", fs.Name(), rest[0])
	}
	return nil
}

// parseFlagsArgs is parseFlags for commands with positional arguments: it
// returns them.
func parseFlagsArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	usage := fs.Usage
	fs.Usage = func() {}
	fs.SetOutput(io.Discard)
	defer func() { fs.Usage = usage }()
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				usage()
				return nil, flag.ErrHelp
			}
			return nil, usagef("%s: %s", fs.Name(), err.Error())
		}
		if fs.NArg() == 0 {
			break
		}
		rest = append(rest, fs.Arg(0))
		args = fs.Args()[1:]
	}
	return rest, nil
}

func oneLine(s string) string {
	return strings.ReplaceAll(strings.TrimSpace(s), "\n", "; ")
}

func runVersion(_ context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet(env, "version", "mlgate version")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	fmt.Fprintln(env.stdout, app.VersionString())
	return nil
}
