// Package ocitest runs OCI images for tests and benchmarks with real tools:
// umoci unpacks an image from a layout into a bundle, and runc runs it on
// the host's network (so its port is reachable on 127.0.0.1), without the
// cgroup settings this machine's kernel refuses.
package ocitest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// Check reports which of the tools a container needs are missing.
func Check() error {
	for _, tool := range []string{"umoci", "runc"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s is not installed (.ci/run installs runc, umoci and skopeo from apt)", tool)
		}
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("running an image with runc needs root")
	}
	return nil
}

// Unpack writes the layout's image tagged tag into a runc bundle at
// bundle, with extra arguments appended to the image's entrypoint.
func Unpack(layout, tag, bundle string, extra ...string) error {
	if out, err := exec.Command("umoci", "unpack", "--image", layout+":"+tag, bundle).CombinedOutput(); err != nil {
		return fmt.Errorf("umoci unpack: %w\n%s", err, out)
	}
	path := filepath.Join(bundle, "config.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var spec map[string]any
	if err := json.Unmarshal(raw, &spec); err != nil {
		return err
	}
	process, _ := spec["process"].(map[string]any)
	linux, _ := spec["linux"].(map[string]any)
	if process == nil || linux == nil {
		return fmt.Errorf("%s has no process or linux section", path)
	}
	process["terminal"] = false
	args, _ := process["args"].([]any)
	for _, a := range extra {
		args = append(args, a)
	}
	process["args"] = args
	delete(linux, "resources")
	delete(linux, "cgroupsPath")
	var ns []any
	nsList, _ := linux["namespaces"].([]any)
	for _, n := range nsList {
		if m, ok := n.(map[string]any); !ok || m["type"] != "network" {
			ns = append(ns, n)
		}
	}
	linux["namespaces"] = ns
	raw, err = json.Marshal(spec)
	if err != nil {
		return err
	}
	return os.WriteFile(path, raw, 0o600)
}

var seq atomic.Int64

// Container is a running bundle.
type Container struct {
	root, id string
	cmd      *exec.Cmd
	mu       sync.Mutex
	out      bytes.Buffer
	// Done receives the runc process's exit once.
	Done chan error
}

// Run starts the bundle with runc, its state under state.
func Run(bundle, state string) (*Container, error) {
	c := &Container{root: state, id: fmt.Sprintf("mlgate-%d-%d", os.Getpid(), seq.Add(1)), Done: make(chan error, 1)}
	c.cmd = exec.Command("runc", "--root", c.root, "run", "--bundle", bundle, c.id)
	c.cmd.Stdout, c.cmd.Stderr = (*lockedWriter)(c), (*lockedWriter)(c)
	if err := c.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { c.Done <- c.cmd.Wait() }()
	return c, nil
}

type lockedWriter Container

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.out.Write(p)
}

// Output is what the container printed so far.
func (c *Container) Output() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.out.String()
}

// Signal sends sig (e.g. TERM) to the container's process.
func (c *Container) Signal(sig string) error {
	if out, err := exec.Command("runc", "--root", c.root, "kill", c.id, sig).CombinedOutput(); err != nil {
		return fmt.Errorf("runc kill %s: %w\n%s", sig, err, out)
	}
	return nil
}

// Remove kills the container if it still runs and deletes it.
func (c *Container) Remove() {
	_ = exec.Command("runc", "--root", c.root, "kill", c.id, "KILL").Run()
	select {
	case err := <-c.Done:
		c.Done <- err // for a waiter that has not read it yet
	case <-time.After(5 * time.Second):
	}
	_ = exec.Command("runc", "--root", c.root, "delete", "-f", c.id).Run()
}
