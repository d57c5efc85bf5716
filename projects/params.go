package projects

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// KV is one name=value pair, in the order the user gave it. Flag marks a
// docker argument given without a value (-A t).
type KV struct {
	Name, Value string
	Flag        bool
}

// ParseKV splits "name=value" (-P, -A); a name without "=" is allowed
// only when flagOK (a docker flag such as -A t). Names may not repeat.
func ParseKV(args []string, flagOK bool, what string) ([]KV, error) {
	var out []KV
	seen := map[string]bool{}
	for _, a := range args {
		name, value, ok := strings.Cut(a, "=")
		if !ok && !flagOK {
			return nil, fmt.Errorf("invalid format for %s parameter: %q; use %s name=value", what, a, what)
		}
		if seen[name] {
			return nil, fmt.Errorf("repeated parameter: %q", name)
		}
		seen[name] = true
		out = append(out, KV{Name: name, Value: value, Flag: !ok})
	}
	return out, nil
}

// EntryPoint returns the named entry point or, as MLflow does, a script
// entry point for a name ending in .py (run with python) or .sh (with
// $SHELL, else bash).
func (p *Project) EntryPoint(name, shell string) (*EntryPoint, error) {
	for _, ep := range p.EntryPoints {
		if ep.Name == name {
			return ep, nil
		}
	}
	var prog string
	switch filepath.Ext(name) {
	case ".py":
		prog = "python"
	case ".sh":
		prog = shell
		if prog == "" {
			prog = "bash"
		}
	default:
		names := make([]string, len(p.EntryPoints))
		for i, ep := range p.EntryPoints {
			names[i] = ep.Name
		}
		return nil, fmt.Errorf("%w: could not find entry point %q among the project's entry points [%s], nor run it as a script (.py or .sh)", ErrSpec, name, strings.Join(names, ", "))
	}
	return &EntryPoint{Name: name, Command: prog + " " + Quote(name)}, nil
}

// Resolved is an entry point's parameters after validation: the values
// to log (as MLflow logs them) and the command to run.
type Resolved struct {
	// Params are logged with the run: the declared ones in declaration
	// order, then the extra ones in the user's order (MLflow logs the
	// shell-quoted forms).
	Params []KV
	// Command is the filled command line (a bash command).
	Command string
}

// Validate checks the user's values against the entry point: every
// parameter without a default has a value, float parameters parse as
// numbers and uri parameters have a scheme. It returns the values to log.
func (ep *EntryPoint) Validate(user []KV) ([]KV, error) {
	given := map[string]string{}
	for _, kv := range user {
		given[kv.Name] = kv.Value
	}
	var missing []string
	for _, p := range ep.Params {
		if _, ok := given[p.Name]; !ok && p.Default == nil {
			missing = append(missing, "'"+p.Name+"'")
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%w: no value given for missing parameters of entry point %q: %s", ErrSpec, ep.Name, strings.Join(missing, ", "))
	}
	var out []KV
	declared := map[string]bool{}
	for _, p := range ep.Params {
		declared[p.Name] = true
		v, ok := given[p.Name]
		if !ok {
			v = *p.Default
		}
		switch p.Type {
		case "float":
			if _, err := parseFloat(v); err != nil {
				return nil, fmt.Errorf("%w: parameter %q of entry point %q is a float, but %q is not a number", ErrSpec, p.Name, ep.Name, v)
			}
		case "uri":
			if u, err := url.Parse(v); err != nil || u.Scheme == "" {
				return nil, fmt.Errorf("%w: parameter %q of entry point %q is a uri, but %q has no scheme", ErrSpec, p.Name, ep.Name, v)
			}
		}
		out = append(out, KV{Name: p.Name, Value: Quote(v)})
	}
	for _, kv := range user {
		if !declared[kv.Name] {
			out = append(out, KV{Name: Quote(kv.Name), Value: Quote(kv.Value)})
		}
	}
	return out, nil
}

// Fetcher downloads a remote URI given to a path parameter into dir and
// returns the local path.
type Fetcher func(ctx context.Context, uri, dir string) (string, error)

// Resolve validates the user's values and fills the command: path
// parameters become absolute paths (a remote URI is fetched into a
// param_<i> folder of storageDir), every value is shell-quoted, and extra
// parameters are appended as --name value.
func (ep *EntryPoint) Resolve(ctx context.Context, user []KV, storageDir string, fetch Fetcher) (*Resolved, error) {
	logged, err := ep.Validate(user)
	if err != nil {
		return nil, err
	}
	given := map[string]string{}
	for _, kv := range user {
		given[kv.Name] = kv.Value
	}
	values := map[string]string{}
	for i, p := range ep.Params {
		v, ok := given[p.Name]
		if !ok {
			v = *p.Default
		}
		if p.Type == "path" {
			if v, err = pathValue(ctx, p.Name, v, storageDir, i, fetch); err != nil {
				return nil, err
			}
		}
		values[p.Name] = Quote(v)
	}
	cmd, err := fill(ep.Command, values)
	if err != nil {
		return nil, fmt.Errorf("%w: %sentry point %q: %w", ErrSpec, ep.where(), ep.Name, err)
	}
	parts := []string{cmd}
	for _, kv := range logged[len(ep.Params):] {
		parts = append(parts, "--"+kv.Name+" "+kv.Value)
	}
	return &Resolved{Params: logged, Command: strings.Join(parts, " ")}, nil
}

// pathValue makes a local path absolute (it must exist) and fetches a
// remote URI.
func pathValue(ctx context.Context, name, v, storageDir string, i int, fetch Fetcher) (string, error) {
	u, err := url.Parse(v)
	local := err != nil || u.Scheme == "" || len(u.Scheme) == 1 || u.Scheme == "file"
	if local {
		p := v
		if err == nil && u.Scheme == "file" {
			p = u.Path
		}
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%w: got value %q for parameter %q, but no such file or directory was found", ErrSpec, v, name)
		}
		return filepath.Abs(p)
	}
	if fetch == nil {
		return "", fmt.Errorf("%w: parameter %q: cannot download %q", ErrSpec, name, v)
	}
	dir := filepath.Join(storageDir, fmt.Sprintf("param_%d", i))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	return fetch(ctx, v, dir)
}

var safeShell = regexp.MustCompile(`^[A-Za-z0-9_@%+=:,./-]+$`)

// Quote quotes s for a POSIX shell as Python's shlex.quote does: unchanged
// when it holds only safe characters, else in single quotes.
func Quote(s string) string {
	if s == "" {
		return "''"
	}
	if safeShell.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'"
}

// fill fills a command template as Python's str.format does with named
// fields: {name} is the value, {{ and }} are literal braces.
func fill(tmpl string, values map[string]string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(tmpl); i++ {
		c := tmpl[i]
		switch c {
		case '{':
			if i+1 < len(tmpl) && tmpl[i+1] == '{' {
				b.WriteByte('{')
				i++
				continue
			}
			end := strings.IndexByte(tmpl[i+1:], '}')
			if end < 0 {
				return "", fmt.Errorf("command %q: unmatched '{'", tmpl)
			}
			name := tmpl[i+1 : i+1+end]
			v, ok := values[name]
			if !ok {
				return "", fmt.Errorf("command %q uses {%s}, which is not a parameter of the entry point", tmpl, name)
			}
			b.WriteString(v)
			i += end + 1
		case '}':
			if i+1 < len(tmpl) && tmpl[i+1] == '}' {
				b.WriteByte('}')
				i++
				continue
			}
			return "", fmt.Errorf("command %q: single '}' (write }} for a brace)", tmpl)
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

// where names the entry point's place in its MLproject ("MLproject:7: ").
func (ep *EntryPoint) where() string {
	if ep.File == "" {
		return ""
	}
	return fmt.Sprintf("%s:%d: ", ep.File, ep.Line)
}
