package store

import (
	"os"
	"regexp"
	"strings"
)

// uriScheme matches the scheme of a URI as Python's urlparse reads one.
var uriScheme = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.-]*):`)

// ResolveLocal is MLflow's rule for an experiment's artifact location: a
// relative local path ("my_location", "./a") becomes the absolute path
// under the server's working directory, a relative file: URI ("file:a")
// the file:/// URI of that path; absolute paths and URIs of other schemes
// are kept as given.
func ResolveLocal(loc string) string {
	if loc == "" {
		return loc
	}
	scheme := ""
	if m := uriScheme.FindStringSubmatch(loc); m != nil {
		scheme = strings.ToLower(m[1])
	}
	rel := loc
	switch scheme {
	case "":
	case "file":
		rel = strings.TrimPrefix(loc[len("file:"):], "//")
		if strings.HasPrefix(loc, "file://") {
			return loc // file://host/path or file:///path: absolute
		}
	default:
		return loc
	}
	if strings.HasPrefix(rel, "/") {
		return loc
	}
	cwd, err := os.Getwd()
	if err != nil {
		return loc
	}
	abs := joinPosix(cwd, rel)
	if scheme == "file" {
		return "file://" + abs
	}
	return abs
}

// joinPosix joins a directory and a relative path as pathlib does: "."
// components and repeated slashes are dropped, ".." is kept.
func joinPosix(dir, rel string) string {
	parts := []string{strings.TrimRight(dir, "/")}
	for _, p := range strings.Split(rel, "/") {
		if p != "" && p != "." {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, "/")
}
