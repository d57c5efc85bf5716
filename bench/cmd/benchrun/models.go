package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// model is one benchmark model folder and the request bodies sent to it.
type model struct {
	Kind string
	Dir  string
	// Body is the MLflow scoring request (JSON).
	Body []byte
	// V2 is the same data as an Open Inference Protocol request (MLServer).
	V2 []byte
}

// modelKinds lists the models a run needs.
func modelKinds(cfg *config) []string {
	if cfg.quick {
		return []string{"linear", "sklearn_pipeline"}
	}
	return []string{"linear", "iris_rf", "mlp", "sklearn_pipeline"}
}

// cacheRoot is mlgate's cache folder (as the Makefile computes it).
func cacheRoot() string {
	if c := os.Getenv("MLGATE_CACHE"); c != "" {
		return c
	}
	if c, err := os.UserCacheDir(); err == nil {
		return filepath.Join(c, "mlgate")
	}
	return filepath.Join(os.TempDir(), "mlgate-cache")
}

// buildModels writes each kind with interop/models.py, in one Python
// process, into a cache folder keyed by the hash of models.py (generation is
// deterministic), and reads their request bodies.
func buildModels(ctx context.Context, log *slog.Logger, cfg *config, kinds []string) (map[string]*model, error) {
	script := filepath.Join(cfg.repo, "interop", "models.py")
	src, err := os.ReadFile(script)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(src)
	dir := filepath.Join(cacheRoot(), "bench-models-"+hex.EncodeToString(sum[:8]))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var missing []string
	for _, k := range kinds {
		if _, err := os.Stat(filepath.Join(dir, k+".complete")); err != nil {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		t0 := time.Now()
		code := `import os, shutil, sys
sys.path.insert(0, sys.argv[1])
import models
for kind in sys.argv[3:]:
    out = os.path.join(sys.argv[2], kind)
    shutil.rmtree(out, ignore_errors=True)
    models.build(kind, out)
    open(out + ".complete", "w").close()
`
		args := append([]string{"-c", code, filepath.Dir(script), dir}, missing...)
		cctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(cctx, cfg.python, args...)
		cmd.Env = append(os.Environ(), "MLFLOW_DISABLE_TELEMETRY=true", "DO_NOT_TRACK=true")
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("interop/models.py %v: %w\n%s", missing, err, tail(out, 2000))
		}
		log.Info("models built", "kinds", missing, "took", time.Since(t0).Round(time.Millisecond))
	}
	ms := map[string]*model{}
	for _, k := range kinds {
		m := &model{Kind: k, Dir: filepath.Join(dir, k)}
		if err := m.readRequests(); err != nil {
			return nil, fmt.Errorf("model %s: %w", k, err)
		}
		ms[k] = m
	}
	return ms, nil
}

// readRequests picks the first valid JSON request of <dir>.requests.json
// and derives its Open Inference Protocol form.
func (m *model) readRequests() error {
	raw, err := os.ReadFile(m.Dir + ".requests.json")
	if err != nil {
		return err
	}
	var reqs []struct {
		Name        string          `json:"name"`
		ContentType string          `json:"content_type"`
		Body        json.RawMessage `json:"body"`
		ExpectOK    bool            `json:"expect_ok"`
	}
	if err := json.Unmarshal(raw, &reqs); err != nil {
		return err
	}
	for _, r := range reqs {
		if r.ExpectOK && r.ContentType == "application/json" {
			m.Body = r.Body
			m.V2, err = toV2(r.Body)
			return err
		}
	}
	return fmt.Errorf("no valid JSON request in %s.requests.json", m.Dir)
}

// toV2 converts an MLflow scoring body to an Open Inference Protocol
// request: a dataframe_split becomes one input per column with the pandas
// content type; {"inputs": {name: nested list}} becomes FP32 tensors.
func toV2(body []byte) ([]byte, error) {
	var b struct {
		Split *struct {
			Columns []string `json:"columns"`
			Data    [][]any  `json:"data"`
		} `json:"dataframe_split"`
		Inputs map[string]any `json:"inputs"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		return nil, err
	}
	type input struct {
		Name     string `json:"name"`
		Shape    []int  `json:"shape"`
		Datatype string `json:"datatype"`
		Data     []any  `json:"data"`
		Params   any    `json:"parameters,omitempty"`
	}
	var req struct {
		Params any     `json:"parameters,omitempty"`
		Inputs []input `json:"inputs"`
	}
	switch {
	case b.Split != nil:
		req.Params = map[string]string{"content_type": "pd"}
		for c, name := range b.Split.Columns {
			in := input{Name: name, Shape: []int{len(b.Split.Data)}, Datatype: "FP64"}
			for _, row := range b.Split.Data {
				if c >= len(row) {
					return nil, fmt.Errorf("row shorter than columns")
				}
				if s, ok := row[c].(string); ok {
					in.Datatype = "BYTES"
					in.Params = map[string]string{"content_type": "str"}
					in.Data = append(in.Data, s)
					continue
				}
				in.Data = append(in.Data, row[c])
			}
			req.Inputs = append(req.Inputs, in)
		}
	case len(b.Inputs) > 0:
		for name, v := range b.Inputs {
			in := input{Name: name, Datatype: "FP32"}
			shape, flat := flatten(v)
			in.Shape, in.Data = shape, flat
			req.Inputs = append(req.Inputs, in)
		}
	default:
		return nil, fmt.Errorf("unsupported request body for the v2 protocol: %.80s", body)
	}
	return json.Marshal(req)
}

// flatten returns the shape and row-major values of a nested JSON list.
func flatten(v any) ([]int, []any) {
	var shape []int
	for cur := v; ; {
		l, ok := cur.([]any)
		if !ok {
			break
		}
		shape = append(shape, len(l))
		if len(l) == 0 {
			break
		}
		cur = l[0]
	}
	var flat []any
	var walk func(any)
	walk = func(x any) {
		if l, ok := x.([]any); ok {
			for _, e := range l {
				walk(e)
			}
			return
		}
		flat = append(flat, x)
	}
	walk(v)
	return shape, flat
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return strings.TrimSpace(string(b))
}
