package projects

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"time"

	"github.com/mlgate/mlgate/artifacts"
	"github.com/mlgate/mlgate/internal/procutil"
	"github.com/mlgate/mlgate/tracking"
)

// Tags MLflow sets on a project run (besides tracking's user, source and
// run name tags).
const (
	TagGitCommit  = "mlflow.source.git.commit"
	TagGitRepoURL = "mlflow.source.git.repoURL"
	TagGitBranch  = "mlflow.source.git.branch"
	TagEntryPoint = "mlflow.project.entryPoint"
	TagEnv        = "mlflow.project.env"
	TagBackend    = "mlflow.project.backend"
	// SourceTypeProject is the mlflow.source.type of a project run.
	SourceTypeProject = "PROJECT"
)

// ErrFailed means the entry point exited with a non-zero status (the run
// is FAILED); ErrKilled that it was stopped by a signal to mlgate or the
// context's end (the run is KILLED).
var (
	ErrFailed = errors.New("run failed")
	ErrKilled = errors.New("run killed")
)

// Options configure Run. Tracking is required; the rest have defaults.
type Options struct {
	// Tracking is the client the run is created, tagged and ended with;
	// its URI is the child's MLFLOW_TRACKING_URI.
	Tracking *tracking.Client
	// EntryPoint is the entry point to run (default "main").
	EntryPoint string
	// Version is a git commit, branch or tag of a git project.
	Version string
	// Params are -P name=value; DockerArgs are -A name[=value].
	Params, DockerArgs []KV
	// ExperimentName or ExperimentID pick the experiment (default "0"); a
	// named experiment that does not exist is created.
	ExperimentName, ExperimentID string
	// RunName names a new run; RunID resumes an existing run instead.
	RunName, RunID string
	// EnvManager is local, virtualenv, uv or conda ("" = from the project).
	EnvManager string
	// BuildImage builds an image with the project's files for docker_env.
	BuildImage bool
	// Backend must be "local" (the default).
	Backend string
	// StorageDir receives remote URIs given to path parameters (default a
	// new temporary folder).
	StorageDir string
	// CacheDir holds the built environments (required for virtualenv and
	// conda) and TmpDir the clones ("" = the system's).
	CacheDir, TmpDir string
	// Python is the base interpreter of virtualenvs whose project names no
	// Python version (default "python3").
	Python string
	// User is the mlflow.user tag (default: the OS user, as getpass).
	User string
	// Env is the child's environment before the run's variables (default
	// os.Environ()).
	Env []string
	// Stdin, Stdout and Stderr are the child's (nil: /dev/null, discard).
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Fetch downloads remote URIs given to path parameters (default:
	// through the artifacts package with the environment's credentials).
	Fetch Fetcher
	// StopTimeout is how long a stopped child gets between SIGTERM and
	// SIGKILL (default 10s).
	StopTimeout time.Duration
	// Logger receives progress ("=== Running command ... ===").
	Logger *slog.Logger
}

// Result is a finished (or stopped) project run.
type Result struct {
	RunID, ExperimentID string
	// Status is FINISHED, FAILED or KILLED.
	Status tracking.RunStatus
	// ExitCode is the entry point's exit status (-1 when killed by a signal).
	ExitCode int
	// Command is the command line that ran; Dir where it ran.
	Command, Dir string
}

// Run runs the entry point of the project at uri as `mlflow run` does: it
// fetches the project, checks the parameters, prepares the environment,
// creates the run (or resumes Options.RunID) with MLflow's params and
// tags, runs the command in its own process group with MLFLOW_RUN_ID,
// MLFLOW_TRACKING_URI and MLFLOW_EXPERIMENT_ID, and ends the run FINISHED
// or FAILED by the exit status. When ctx ends (a signal to mlgate) the
// group gets SIGTERM, then SIGKILL after StopTimeout, and the run is
// KILLED. Every mistake in the input is found before a run exists; a run
// that was created is never left RUNNING. The error wraps ErrFailed,
// ErrKilled, ErrSpec, ErrSource, ErrEnv or ErrDocker.
func Run(ctx context.Context, uri string, o Options) (*Result, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	src, err := Fetch(ctx, uri, o.Version, o.TmpDir)
	if err != nil {
		return nil, err
	}
	defer func() { _ = src.Close() }()
	p, err := Load(src.Dir)
	if err != nil {
		return nil, err
	}
	manager, err := chooseManager(p, o.EnvManager)
	if err != nil {
		return nil, err
	}
	ep, err := p.EntryPoint(o.EntryPoint, getenv(o.Env, "SHELL"))
	if err != nil {
		return nil, err
	}
	logged, err := ep.Validate(o.Params)
	if err != nil {
		return nil, err
	}
	if err := precheckEnv(p, manager); err != nil {
		return nil, err
	}
	expID, err := o.experiment(ctx)
	if err != nil {
		return nil, err
	}
	storage, err := storageDir(o.StorageDir)
	if err != nil {
		return nil, err
	}
	defer func() {
		if o.StorageDir == "" {
			_ = os.RemoveAll(storage)
		}
	}()
	resolved, err := ep.Resolve(ctx, o.Params, storage, o.Fetch)
	if err != nil {
		return nil, err
	}
	tags := map[string]string{}
	var setup *envSetup
	var engine, image string
	if p.Docker != nil {
		if engine, err = containerEngine(ctx); err != nil {
			return nil, err
		}
		var imgTags map[string]string
		if image, imgTags, err = prepareImage(ctx, engine, p, src, o.BuildImage, o.TmpDir); err != nil {
			return nil, err
		}
		tags[TagEnv] = "docker"
		for k, v := range imgTags {
			tags[k] = v
		}
	} else {
		if setup, err = prepareEnv(ctx, p, manager, &o); err != nil {
			return nil, err
		}
		if setup.tag != "" {
			tags[TagEnv] = setup.tag
		}
	}
	run, err := o.startRun(ctx, src, ep.Name, expID, logged, tags)
	if err != nil {
		return nil, err
	}
	res := &Result{RunID: run.Info.RunID, ExperimentID: run.Info.ExperimentID, Dir: src.Dir}
	// From here on the run exists: every way out ends it.
	command := resolved.Command
	if p.Docker != nil {
		argv, err := dockerCommand(engine, image, p, o.DockerArgs, runInfo{
			RunID: res.RunID, ExperimentID: res.ExperimentID, ArtifactURI: run.Info.ArtifactURI, TrackingURI: childTrackingURI(o.Tracking.TrackingURI()),
		}, func(k string) string { return getenv(o.Env, k) })
		if err != nil {
			return res, o.end(ctx, res, tracking.StatusFailed, err)
		}
		quoted := make([]string, len(argv))
		for i, a := range argv {
			quoted[i] = Quote(a)
		}
		command = strings.Join(quoted, " ") + " " + command
	} else {
		command = setup.prefix + command
	}
	res.Command = command
	return res, o.execute(ctx, res)
}

func (o *Options) defaults() error {
	if o.Tracking == nil {
		return errors.New("projects: Options.Tracking is required")
	}
	switch o.EnvManager {
	case "", ManagerLocal, ManagerVirtualenv, ManagerUV, ManagerConda:
	default:
		return fmt.Errorf("%w: invalid env manager %q (want local, virtualenv, uv or conda)", ErrSpec, o.EnvManager)
	}
	if o.Backend != "" && o.Backend != "local" {
		return fmt.Errorf("%w: backend %q is not supported (mlgate runs projects on the local backend only)", ErrSpec, o.Backend)
	}
	if o.ExperimentName != "" && o.ExperimentID != "" {
		return fmt.Errorf("%w: specify only one of experiment name and experiment id", ErrSpec)
	}
	if o.EntryPoint == "" {
		o.EntryPoint = "main"
	}
	if o.Env == nil {
		o.Env = os.Environ()
	}
	if o.Python == "" {
		o.Python = "python3"
	}
	if o.CacheDir == "" {
		d, err := os.UserCacheDir()
		if err != nil {
			d = os.TempDir()
		}
		o.CacheDir = filepath.Join(d, "mlgate", "projects")
	}
	if o.StopTimeout <= 0 {
		o.StopTimeout = 10 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Stdout == nil {
		o.Stdout = io.Discard
	}
	if o.Stderr == nil {
		o.Stderr = io.Discard
	}
	if o.User == "" {
		o.User = osUser(o.Env)
	}
	if o.Fetch == nil {
		env := o.Env
		opts := artifacts.FromEnv(func(k string) string { return getenv(env, k) })
		opts.Tracking = o.Tracking.Transport()
		o.Fetch = func(ctx context.Context, uri, dir string) (string, error) {
			return fetchArtifact(ctx, uri, dir, opts)
		}
	}
	return nil
}

// experiment resolves the experiment id: the given id, the named
// experiment (created when absent), else the default "0".
func (o *Options) experiment(ctx context.Context) (string, error) {
	if o.RunID != "" && o.ExperimentID == "" && o.ExperimentName == "" {
		return "", nil // the resumed run's
	}
	if o.ExperimentID != "" {
		return o.ExperimentID, nil
	}
	if o.ExperimentName == "" {
		return "0", nil
	}
	exp, err := o.Tracking.GetExperimentByName(ctx, o.ExperimentName)
	if err == nil {
		return exp.ExperimentID, nil
	}
	if !errors.Is(err, tracking.ErrNotFound) {
		return "", err
	}
	o.Logger.Info("creating the experiment", slog.String("name", o.ExperimentName))
	return o.Tracking.CreateExperiment(ctx, o.ExperimentName)
}

// startRun creates the run with MLflow's tags and params, or fetches the
// run to resume (MLflow adds neither to a resumed run), then sets the
// backend, run name and environment tags.
func (o *Options) startRun(ctx context.Context, src *Source, entryPoint, expID string, params []KV, extra map[string]string) (*tracking.Run, error) {
	after := map[string]any{TagBackend: "local"}
	for k, v := range extra {
		after[k] = v
	}
	if o.RunName != "" {
		after[tracking.TagRunName] = o.RunName
	}
	if o.RunID != "" {
		run, err := o.Tracking.GetRun(ctx, o.RunID)
		if err != nil {
			return nil, err
		}
		if err := o.Tracking.SetTags(ctx, run.Info.RunID, after); err != nil {
			return nil, err
		}
		return run, nil
	}
	tags := map[string]string{
		tracking.TagUser:       o.User,
		tracking.TagSourceName: src.Name,
		tracking.TagSourceType: SourceTypeProject,
		TagEntryPoint:          entryPoint,
	}
	if src.Commit != "" {
		tags[TagGitCommit] = src.Commit
	}
	if src.RepoURL != "" {
		tags[TagGitRepoURL] = src.RepoURL
	}
	if src.Branch != "" {
		tags[TagGitBranch] = src.Branch
	}
	opts := []tracking.RunOption{tracking.WithRunTags(tags)}
	if o.RunName != "" {
		opts = append(opts, tracking.WithRunName(o.RunName))
	}
	run, err := o.Tracking.CreateRun(ctx, expID, opts...)
	if err != nil {
		return nil, err
	}
	ps := make([]tracking.Param, len(params))
	for i, kv := range params {
		ps[i] = tracking.Param{Key: kv.Name, Value: kv.Value}
	}
	err = o.Tracking.LogBatch(ctx, run.Info.RunID, nil, ps, nil)
	if err == nil {
		err = o.Tracking.SetTags(ctx, run.Info.RunID, after)
	}
	if err != nil {
		res := &Result{RunID: run.Info.RunID}
		return nil, o.end(ctx, res, tracking.StatusFailed, err)
	}
	return run, nil
}

// execute runs the command and ends the run by its outcome.
func (o *Options) execute(ctx context.Context, res *Result) error {
	o.Logger.Info("=== Running command ===", slog.String("command", res.Command), slog.String("run_id", res.RunID), slog.String("dir", res.Dir))
	env := append(append([]string(nil), o.Env...),
		"MLFLOW_RUN_ID="+res.RunID,
		"MLFLOW_TRACKING_URI="+childTrackingURI(o.Tracking.TrackingURI()),
		"MLFLOW_EXPERIMENT_ID="+res.ExperimentID,
	)
	p, err := procutil.Start(ctx, procutil.Config{
		Path: "/bin/bash", Args: []string{"-c", res.Command}, Dir: res.Dir, Env: env,
		Stdin: o.Stdin, Stdout: o.Stdout, Stderr: o.Stderr, StopTimeout: o.StopTimeout,
	})
	if err != nil {
		if ctx.Err() != nil {
			return o.end(ctx, res, tracking.StatusKilled, fmt.Errorf("%w: run %s stopped before its command started: %w", ErrKilled, res.RunID, context.Cause(ctx)))
		}
		return o.end(ctx, res, tracking.StatusFailed, fmt.Errorf("%w: %w", ErrFailed, err))
	}
	<-p.Done()
	werr := p.Err()
	res.ExitCode = exitCode(werr)
	switch {
	case ctx.Err() != nil:
		res.ExitCode = -1
		return o.end(ctx, res, tracking.StatusKilled, fmt.Errorf("%w: run %s stopped: %w", ErrKilled, res.RunID, context.Cause(ctx)))
	case werr != nil:
		return o.end(ctx, res, tracking.StatusFailed, fmt.Errorf("%w: run %s: the entry point's command failed (%w)", ErrFailed, res.RunID, werr))
	}
	return o.end(ctx, res, tracking.StatusFinished, nil)
}

// end marks the run terminated with status unless the entry point already
// ended it (as MLflow does), and returns cause joined with any error of
// doing so. It works after ctx has ended.
func (o *Options) end(ctx context.Context, res *Result, status tracking.RunStatus, cause error) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	res.Status = status
	run, err := o.Tracking.GetRun(ctx, res.RunID)
	if err == nil && run.Info.Status != tracking.StatusRunning && run.Info.Status != tracking.StatusScheduled {
		res.Status = run.Info.Status
		return cause
	}
	if err == nil {
		err = o.Tracking.SetTerminated(ctx, res.RunID, status)
	}
	if err != nil {
		return errors.Join(cause, fmt.Errorf("marking run %s %s: %w", res.RunID, status, err))
	}
	return cause
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee interface{ ExitCode() int }
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

func storageDir(dir string) (string, error) {
	if dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", err
		}
		return os.MkdirTemp(dir, "")
	}
	return os.MkdirTemp("", "mlgate-project-storage-")
}

// childTrackingURI makes a relative sqlite or file store URI absolute:
// the child runs in the project's folder, not in mlgate's.
func childTrackingURI(uri string) string {
	rel, ok := strings.CutPrefix(uri, "sqlite:///")
	if ok && rel != "" && !strings.HasPrefix(rel, "/") && rel != ":memory:" {
		if abs, err := filepath.Abs(rel); err == nil {
			return "sqlite:///" + abs
		}
	}
	if !strings.Contains(uri, ":") && uri != "" && !filepath.IsAbs(uri) {
		if abs, err := filepath.Abs(uri); err == nil {
			return abs
		}
	}
	return uri
}

// getenv reads a variable from an environment list (the last one wins).
func getenv(env []string, key string) string {
	v := ""
	for _, kv := range env {
		if k, val, ok := strings.Cut(kv, "="); ok && k == key {
			v = val
		}
	}
	return v
}

// osUser is the user name as Python's getpass.getuser finds it.
func osUser(env []string) string {
	for _, k := range []string{"LOGNAME", "USER", "LNAME", "USERNAME"} {
		if v := getenv(env, k); v != "" {
			return v
		}
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return "unknown"
}

// fetchArtifact downloads a remote file or folder into dir/<its name>,
// as MLflow downloads path parameters.
func fetchArtifact(ctx context.Context, uri, dir string, opts artifacts.Options) (string, error) {
	trimmed := strings.TrimRight(uri, "/")
	i := strings.LastIndex(trimmed, "/")
	if i < 0 || i == len(trimmed)-1 {
		return "", fmt.Errorf("%w: cannot download %q: no file or folder name in it", ErrSpec, uri)
	}
	parent, base := trimmed[:i], trimmed[i+1:]
	r, err := artifacts.Open(ctx, parent, opts)
	if err != nil {
		return "", fmt.Errorf("%w: %s: %w", ErrSpec, uri, err)
	}
	// A folder lands in dir/base; a file is written as dir/base.
	dst := dir
	if files, err := artifacts.Walk(ctx, r, base); err == nil && len(files) > 0 {
		dst = filepath.Join(dir, base)
	}
	if err := artifacts.Download(ctx, r, base, dst, artifacts.DownloadOptions{}); err != nil {
		return "", fmt.Errorf("downloading %s: %w", uri, err)
	}
	return filepath.Join(dir, base), nil
}
