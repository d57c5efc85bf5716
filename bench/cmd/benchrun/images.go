package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/mlgate/mlgate/bench"
	"github.com/mlgate/mlgate/internal/oci/ocitest"
)

// runImages measures the images issue's targets on the example ONNX model:
// the image's size against a venv holding what mlflow's build-docker
// installs, the build time, and container start to first prediction under
// runc against the same server started as a host process.
func runImages(ctx context.Context, log *slog.Logger, cfg *config, rep *bench.Report, fail func(string, error)) {
	im := &bench.ImageRun{Base: cfg.baseImage}
	rep.Images = im
	model := filepath.Join(cfg.repo, "examples", "models", "linear")
	out := filepath.Join(cfg.work, "image-linear")
	runs := 4
	if cfg.quick {
		runs = 2
	}
	for i := range runs {
		start := time.Now()
		cmd := exec.CommandContext(ctx, cfg.mlgate, "models", "build-docker", "-m", model, "-n", "linear:bench", "--base", cfg.baseImage, "-o", out)
		if b, err := cmd.CombinedOutput(); err != nil {
			fail("images: build-docker", fmt.Errorf("%w: %s", err, b))
			return
		}
		d := time.Since(start)
		if i == 0 {
			im.BuildFirst = d
		} else {
			im.BuildWarm = append(im.BuildWarm, d)
		}
	}
	var err error
	if im.Compressed, im.Uncompressed, err = layoutSizes(out); err != nil {
		fail("images: size", err)
		return
	}
	if im.BaseCompressed, im.BaseUncompressed, err = layoutSizes(cfg.baseImage); err != nil {
		fail("images: base size", err)
		return
	}
	request, err := os.ReadFile(filepath.Join(model, "serving_input_example.json"))
	if err != nil {
		fail("images: request", err)
		return
	}
	if err := ocitest.Check(); err != nil {
		fail("images: runc", err)
		return
	}
	for range runs - 1 {
		d, err := containerFirstPrediction(ctx, cfg, out, request)
		if err != nil {
			fail("images: runc run", err)
			return
		}
		im.ContainerFirst = append(im.ContainerFirst, d)
		d, err = hostFirstPrediction(ctx, cfg, model, request)
		if err != nil {
			fail("images: models serve", err)
			return
		}
		im.HostFirst = append(im.HostFirst, d)
	}
	if !cfg.quick {
		if im.VenvBytes, err = mlflowVenvSize(ctx, cfg, model); err != nil {
			log.Warn("images: mlflow venv baseline not measured", "err", err)
		}
	}
}

// layoutSizes sums the layer sizes of the only image in an OCI layout,
// compressed as stored and uncompressed.
func layoutSizes(dir string) (compressed, uncompressed int64, err error) {
	blob := func(digest string) string {
		return filepath.Join(dir, "blobs", strings.Replace(digest, ":", string(filepath.Separator), 1))
	}
	var index struct{ Manifests []struct{ Digest string } }
	if err := readJSON(filepath.Join(dir, "index.json"), &index); err != nil {
		return 0, 0, fmt.Errorf("%s: %w", dir, err)
	}
	if len(index.Manifests) != 1 {
		return 0, 0, fmt.Errorf("%s: %d images in the layout, want 1", dir, len(index.Manifests))
	}
	var manifest struct {
		Layers []struct {
			Digest string
			Size   int64
		}
	}
	if err := readJSON(blob(index.Manifests[0].Digest), &manifest); err != nil {
		return 0, 0, err
	}
	for _, l := range manifest.Layers {
		compressed += l.Size
		n, err := gunzippedSize(blob(l.Digest))
		if err != nil {
			return 0, 0, err
		}
		uncompressed += n
	}
	return compressed, uncompressed, nil
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

func gunzippedSize(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer func() { _ = f.Close() }()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	return io.Copy(io.Discard, zr)
}

// firstPrediction polls /invocations every 2 ms from start until it
// answers 200, or the deadline passes, or exited says the server ended.
func firstPrediction(ctx context.Context, addr string, request []byte, start time.Time, exited func() bool) (time.Duration, error) {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := start.Add(30 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil && !exited() {
		resp, err := client.Post("http://"+addr+"/invocations", "application/json", bytes.NewReader(request))
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Since(start), nil
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	return 0, fmt.Errorf("no prediction from %s within 30 s", addr)
}

// containerFirstPrediction unpacks the image (not timed), starts it with
// runc and times the first successful prediction.
func containerFirstPrediction(ctx context.Context, cfg *config, layout string, request []byte) (time.Duration, error) {
	port, err := bench.FreePort()
	if err != nil {
		return 0, err
	}
	tmp, err := os.MkdirTemp(cfg.work, "runc-")
	if err != nil {
		return 0, err
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	bundle := filepath.Join(tmp, "bundle")
	if err := ocitest.Unpack(layout, "bench", bundle, "--port", fmt.Sprint(port)); err != nil {
		return 0, err
	}
	start := time.Now()
	c, err := ocitest.Run(bundle, filepath.Join(tmp, "state"))
	if err != nil {
		return 0, err
	}
	defer c.Remove()
	exited := func() bool { return len(c.Done) > 0 }
	d, err := firstPrediction(ctx, fmt.Sprintf("127.0.0.1:%d", port), request, start, exited)
	if err != nil {
		return 0, fmt.Errorf("%w\n%s", err, c.Output())
	}
	return d, nil
}

// hostFirstPrediction times the same from `mlgate models serve` started
// as a process on the host.
func hostFirstPrediction(ctx context.Context, cfg *config, model string, request []byte) (time.Duration, error) {
	port, err := bench.FreePort()
	if err != nil {
		return 0, err
	}
	p, err := bench.Start("image-host-serve", cfg.work, nil, cfg.repo, cfg.mlgate, "models", "serve", "-m", model, "--port", fmt.Sprint(port))
	if err != nil {
		return 0, err
	}
	defer p.Stop(5 * time.Second)
	d, err := firstPrediction(ctx, fmt.Sprintf("127.0.0.1:%d", port), request, p.Started, p.Exited)
	if err != nil {
		return 0, fmt.Errorf("%w\n%s", err, p.LogTail(2000))
	}
	return d, nil
}

// mlflowVenvSize is the lower bound of what `mlflow models build-docker`
// puts in an image beyond its Python base: a venv with the pinned mlflow
// and the model's requirements, installed with uv from the interop venv.
func mlflowVenvSize(ctx context.Context, cfg *config, model string) (int64, error) {
	venv := filepath.Join(cfg.work, "mlflow-image-venv")
	uv := filepath.Join(filepath.Dir(cfg.python), "uv")
	if b, err := exec.CommandContext(ctx, uv, "venv", "-q", "--python", cfg.python, venv).CombinedOutput(); err != nil {
		return 0, fmt.Errorf("uv venv: %w: %s", err, b)
	}
	args := []string{"pip", "install", "-q", "--link-mode", "copy", "--python", filepath.Join(venv, "bin", "python"),
		"mlflow==3.17.2", "-r", filepath.Join(model, "requirements.txt")}
	if b, err := exec.CommandContext(ctx, uv, args...).CombinedOutput(); err != nil {
		return 0, fmt.Errorf("uv pip install: %w: %s", err, b)
	}
	var total int64
	err := filepath.WalkDir(venv, func(_ string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		info, err := d.Info()
		if err == nil {
			total += info.Size()
		}
		return err
	})
	return total, err
}
