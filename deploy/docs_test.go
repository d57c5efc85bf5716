package deploy

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/strvals"
	"sigs.k8s.io/yaml"
)

// docSections splits docs/deploy.md by its "## " headings.
func docSections(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "docs", "deploy.md"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, part := range strings.Split("\n"+string(b), "\n## ")[1:] {
		title, body, _ := strings.Cut(part, "\n")
		out[title] = body
	}
	return out
}

// valueKeys returns the dotted paths of every value and map in
// values.yaml, true for leaves (values and empty maps).
func valueKeys(t *testing.T, chart string) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(chart, "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := yaml.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{}
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, x := range m {
			sub, ok := x.(map[string]any)
			keys[prefix+k] = !ok || len(sub) == 0
			if ok {
				walk(prefix+k+".", sub)
			}
		}
	}
	walk("", v)
	return keys
}

var tableKey = regexp.MustCompile("`([A-Za-z0-9.]+)`")

// TestDocsValuesTables: every value of each chart is in its table in
// docs/deploy.md (itself or a map above it), and the tables name no value
// the chart does not have.
func TestDocsValuesTables(t *testing.T) {
	sections := docSections(t)
	for title, chart := range map[string]string{"Helm chart (serving)": serveChart, "Helm chart (tracking server)": serverChart} {
		body, ok := sections[title]
		if !ok {
			t.Fatalf("docs/deploy.md has no section %q", title)
		}
		documented := map[string]bool{}
		for _, line := range strings.Split(body, "\n") {
			cells := strings.Split(line, "|")
			if len(cells) < 4 || !strings.HasPrefix(line, "| `") {
				continue
			}
			for _, m := range tableKey.FindAllStringSubmatch(cells[1], -1) {
				documented[m[1]] = true
			}
		}
		keys := valueKeys(t, chart)
		for k := range documented {
			if _, ok := keys[k]; !ok {
				t.Errorf("%s: the table documents %s, which %s/values.yaml does not have", title, k, chart)
			}
		}
		for k, leaf := range keys {
			if !leaf {
				continue
			}
			covered := false
			parts := strings.Split(k, ".")
			for i := 1; i <= len(parts); i++ {
				if documented[strings.Join(parts[:i], ".")] {
					covered = true
				}
			}
			if !covered {
				t.Errorf("%s: value %s is not in the table", title, k)
			}
		}
	}
}

var setFlag = regexp.MustCompile(`--set (\S+)`)

// TestDocsExamples renders every `helm install` of docs/deploy.md with
// its --set values (parsed by Helm's own strvals), strictly, and checks
// the files that `kubectl apply -f` names.
func TestDocsExamples(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot, "docs", "deploy.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(string(b), "\\\n", " ")
	installs, applies := 0, 0
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 4 && f[0] == "helm" && f[1] == "install":
			installs++
			chart, ok := strings.CutPrefix(f[3], "deploy/")
			if !ok {
				t.Errorf("%s: the chart is not under deploy/", line)
				continue
			}
			vals := map[string]any{}
			for _, m := range setFlag.FindAllStringSubmatch(line, -1) {
				if err := strvals.ParseInto(m[1], vals); err != nil {
					t.Fatalf("%s: %v", m[1], err)
				}
			}
			r := renderChart(t, chart, vals)
			if chart == serveChart {
				checkServeChart(t, r)
			} else {
				checkServerChart(t, r)
			}
		case len(f) >= 4 && f[0] == "kubectl" && f[1] == "apply" && f[2] == "-f":
			applies++
			if _, err := os.Stat(filepath.Join(repoRoot, f[3])); err != nil {
				t.Error(err)
			}
		}
	}
	if installs < 4 || applies < 2 {
		t.Errorf("found %d helm install and %d kubectl apply examples", installs, applies)
	}
}
