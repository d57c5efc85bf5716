package projects

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// ErrSource means the project could not be found or fetched.
var ErrSource = errors.New("project source")

// Source is a project folder ready to run and what git says about it.
type Source struct {
	// Dir is the project folder (the #subdirectory applied).
	Dir string
	// Name is the mlflow.source.name tag as MLflow writes it.
	Name string
	// Commit, RepoURL and Branch are the git tags ("" when not known).
	Commit, RepoURL, Branch string
	// tmp is the clone to remove after the run ("" for a local folder).
	tmp string
}

// Close removes a cloned project.
func (s *Source) Close() error {
	if s.tmp == "" {
		return nil
	}
	return os.RemoveAll(s.tmp)
}

// Fetch makes a local folder of the project at uri: a local folder runs
// in place; a git repository (a local one with version, file://, https://,
// ssh) is cloned into a new folder under tmpRoot ("" = the system's) and
// version (a commit, branch or tag) checked out. "#sub" selects a
// subdirectory, as in MLflow.
func Fetch(ctx context.Context, uri, version, tmpRoot string) (*Source, error) {
	base, sub, err := splitSubdir(uri)
	if err != nil {
		return nil, err
	}
	if local, ok := localPath(base); ok {
		abs, err := filepath.Abs(local)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrSource, err)
		}
		if version == "" {
			s := &Source{Dir: filepath.Join(abs, sub)}
			if err := s.checkDir(sub, abs); err != nil {
				return nil, err
			}
			s.Name = uri
			if sub == "" {
				s.Name = gitSourceName(ctx, abs)
			}
			s.gitTags(ctx, "")
			return s, nil
		}
		if !isGitRepo(ctx, abs) {
			return nil, fmt.Errorf("%w: setting a version is only supported for git project URIs, and %s is not a git repository", ErrSource, abs)
		}
		s, err := clone(ctx, abs, version, sub, tmpRoot)
		if err != nil {
			return nil, err
		}
		s.Name = uri
		if sub == "" {
			s.Name = gitSourceName(ctx, abs)
		}
		// MLflow checks the version out in the user's repository: its
		// remote is the repository URL, else the path itself.
		if u := firstRemote(ctx, abs); u != "" {
			s.RepoURL = u
		}
		return s, nil
	}
	s, err := clone(ctx, base, version, sub, tmpRoot)
	if err != nil {
		return nil, err
	}
	s.Name = uri
	return s, nil
}

func (s *Source) checkDir(sub, root string) error {
	st, err := os.Stat(s.Dir)
	if err != nil || !st.IsDir() {
		if sub == "" {
			return fmt.Errorf("%w: %s is not a folder", ErrSource, s.Dir)
		}
		return fmt.Errorf("%w: could not find subdirectory %s of %s", ErrSource, sub, root)
	}
	return nil
}

// splitSubdir splits "uri#sub"; a subdirectory may not hold '.' (MLflow's
// rule, which also keeps it inside the project).
func splitSubdir(uri string) (string, string, error) {
	uri = strings.Trim(uri, `'"`)
	if uri == "" {
		return "", "", fmt.Errorf("%w: empty project URI", ErrSource)
	}
	base, sub, _ := strings.Cut(uri, "#")
	if strings.Contains(sub, ".") {
		return "", "", fmt.Errorf("%w: '.' is not allowed in project subdirectory paths (%q)", ErrSource, sub)
	}
	sub = strings.Trim(sub, "/")
	return base, sub, nil
}

// localPath returns the local folder a URI names, when it exists.
func localPath(uri string) (string, bool) {
	p := uri
	if strings.HasPrefix(uri, "file://") {
		u, err := url.Parse(uri)
		if err != nil {
			return "", false
		}
		p = filepath.Join(u.Host, u.Path)
		if u.Host != "" {
			p = "/" + p
		}
	}
	if _, err := os.Stat(p); err != nil {
		return "", false
	}
	return p, true
}

// clone clones repo into a new folder and checks version out (the remote
// HEAD when empty).
func clone(ctx context.Context, repo, version, sub, tmpRoot string) (_ *Source, rerr error) {
	if _, err := exec.LookPath("git"); err != nil {
		return nil, fmt.Errorf("%w: fetching %s needs the git program, which is not on PATH", ErrSource, repo)
	}
	tmp, err := os.MkdirTemp(tmpRoot, "mlgate-project-")
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSource, err)
	}
	defer func() {
		if rerr != nil {
			_ = os.RemoveAll(tmp)
		}
	}()
	if version == "" {
		if _, err := git(ctx, "", "clone", "-q", "--depth", "1", "--", repo, tmp); err != nil {
			return nil, fmt.Errorf("%w: cloning %s: %w", ErrSource, repo, err)
		}
	} else {
		steps := [][]string{{"init", "-q"}, {"remote", "add", "origin", repo}, {"fetch", "-q", "--tags", "origin"}}
		for _, st := range steps {
			if _, err := git(ctx, tmp, st...); err != nil {
				return nil, fmt.Errorf("%w: fetching %s: %w", ErrSource, repo, err)
			}
		}
		if strings.HasPrefix(version, "-") {
			return nil, fmt.Errorf("%w: invalid version %q", ErrSource, version)
		}
		if _, err := git(ctx, tmp, "checkout", "-q", version); err != nil {
			return nil, fmt.Errorf("%w: unable to check out version %q of git repository %s; please ensure that the version exists in the repository: %w", ErrSource, version, repo, err)
		}
	}
	if _, err := git(ctx, tmp, "submodule", "update", "-q", "--init", "--recursive"); err != nil {
		return nil, fmt.Errorf("%w: %s: submodules: %w", ErrSource, repo, err)
	}
	s := &Source{Dir: filepath.Join(tmp, sub), tmp: tmp}
	if err := s.checkDir(sub, repo); err != nil {
		return nil, err
	}
	s.gitTags(ctx, version)
	return s, nil
}

// gitTags fills the commit, repository URL and branch tags from the
// project folder's repository, as MLflow reads them.
func (s *Source) gitTags(ctx context.Context, version string) {
	if _, err := exec.LookPath("git"); err != nil {
		return
	}
	if out, err := git(ctx, s.Dir, "rev-parse", "HEAD"); err == nil {
		s.Commit = out
	}
	s.RepoURL = firstRemote(ctx, s.Dir)
	if version != "" {
		if _, err := git(ctx, s.Dir, "rev-parse", "-q", "--verify", "refs/heads/"+version); err == nil {
			s.Branch = version
		}
	}
}

func isGitRepo(ctx context.Context, dir string) bool {
	if _, err := exec.LookPath("git"); err != nil {
		return false
	}
	_, err := git(ctx, dir, "rev-parse", "--git-dir")
	return err == nil
}

// gitSourceName is MLflow's source name of a local folder: file://<work
// tree>#<folder inside it> when it is in a git repository, else the path.
func gitSourceName(ctx context.Context, dir string) string {
	if _, err := exec.LookPath("git"); err != nil {
		return dir
	}
	top, err := git(ctx, dir, "rev-parse", "--show-toplevel")
	if err != nil {
		return dir
	}
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real // git names the work tree by its real path
	}
	rel, err := filepath.Rel(top, dir)
	if err != nil || strings.HasPrefix(rel, "..") {
		return dir
	}
	if rel == "." {
		return "file://" + top
	}
	return "file://" + top + "#" + rel
}

// firstRemote is the URL of the repository's first remote without
// credentials ("" when none).
func firstRemote(ctx context.Context, dir string) string {
	out, err := git(ctx, dir, "remote")
	if err != nil || out == "" {
		return ""
	}
	name, _, _ := strings.Cut(out, "\n")
	u, err := git(ctx, dir, "remote", "get-url", name)
	if err != nil {
		return ""
	}
	return stripCredentials(u)
}

func stripCredentials(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.User == nil {
		return s
	}
	u.User = nil
	return u.String()
}

// git runs git in dir and returns its trimmed output; an error carries
// git's message. No prompt for credentials: a repository that needs them
// fails instead of waiting.
func git(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "LC_ALL=C")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(errb.String())
		if msg == "" {
			return "", err
		}
		return "", fmt.Errorf("git %s: %s", args[0], msg)
	}
	return strings.TrimSpace(out.String()), nil
}
