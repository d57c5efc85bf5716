package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/mlgate/mlgate/bench"
)

// constBody is what the HTTP floors answer: a prediction-shaped constant.
var constBody = []byte(`{"predictions": [{"variable": 0.0}]}`)

// runFloors measures the compute floor: the onnx flavor's predictor called
// in-process, no HTTP. The HTTP floors are servers of their own (see
// floorServe), measured like every other server.
func runFloors(ctx context.Context, log *slog.Logger, cfg *config, models map[string]*model, rep *bench.Report, fail func(string, error)) {
	kinds := []string{"linear", "iris_rf", "mlp"}
	for _, k := range kinds {
		m := models[k]
		if m == nil || (!cfg.want(keyFloorORT) && !cfg.want(k)) || ctx.Err() != nil {
			continue
		}
		run := bench.ServingRun{Key: keyFloorORT, System: "floor", Model: k,
			Variant: "flavors/onnx Predictor.Predict on a prebuilt float32 tensor, no HTTP, no JSON"}
		op, closeFn, err := computeFloor(ctx, m)
		if err != nil {
			run.Err = err.Error()
			fail(keyFloorORT+" on "+k, err)
			rep.Serving = append(rep.Serving, run)
			continue
		}
		log.Info("compute floor", "model", k)
		op(ctx) //nolint:errcheck // warm-up
		for _, c := range cfg.concs {
			run.Closed = append(run.Closed, bench.Closed(ctx, op, c, bench.Bounds{Duration: cfg.point, MaxRequests: cfg.maxReqPerPoint}))
		}
		closeFn()
		if k == "mlp" {
			for _, b := range []int{1, 32} {
				d, err := rowCost(ctx, m, b)
				if err != nil {
					rep.Notes = append(rep.Notes, fmt.Sprintf("ORT row cost of mlp at batch %d: %v", b, err))
					continue
				}
				if rep.RowCost == nil {
					rep.RowCost = map[string]map[int]float64{}
				}
				if rep.RowCost[k] == nil {
					rep.RowCost[k] = map[int]float64{}
				}
				rep.RowCost[k][b] = float64(d.Nanoseconds())
			}
		}
		if msg := noSuccess(&run); msg != "" {
			run.Err = msg
			fail(keyFloorORT+" on "+k, errors.New(msg))
		}
		rep.Serving = append(rep.Serving, run)
	}
}

// floorHandler is the trivial handler of an HTTP floor: it reads the body
// and answers a constant.
func floorHandler(kind string) (http.Handler, error) {
	switch kind {
	case "nethttp":
		mux := http.NewServeMux()
		mux.HandleFunc("POST /invocations", func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(constBody)
		})
		return mux, nil
	case "gin":
		gin.SetMode(gin.ReleaseMode)
		g := gin.New()
		g.POST("/invocations", func(c *gin.Context) {
			_, _ = io.Copy(io.Discard, c.Request.Body)
			c.Data(http.StatusOK, "application/json", constBody)
		})
		return g, nil
	}
	return nil, fmt.Errorf("unknown floor %q (gin, nethttp)", kind)
}

// serveFloor is benchrun started as an HTTP floor (-floor-serve): it
// serves the floor on addr until it is killed, so that the floor runs in a
// process of its own as the servers it is compared with do.
func serveFloor(kind, addr string) int {
	h, err := floorHandler(kind)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	srv := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintln(os.Stderr, srv.ListenAndServe())
	return 1
}

// floorServe starts this program as an HTTP floor of kind.
func floorServe(kind string) func(*config, *model, int, string) (string, []string, error) {
	return func(_ *config, _ *model, port int, _ string) (string, []string, error) {
		self, err := os.Executable()
		if err != nil {
			return "", nil, err
		}
		return self, []string{"-floor-serve", kind, "-floor-addr", fmt.Sprintf("127.0.0.1:%d", port)}, nil
	}
}

// ensureMLServer creates MLServer's own venv when -mlserver was not given,
// and records why when that fails.
func ensureMLServer(ctx context.Context, log *slog.Logger, cfg *config, rep *bench.Report) {
	if cfg.mlserver != "" {
		return
	}
	req := filepath.Join("bench", "requirements-mlserver.txt")
	log.Info("creating the MLServer venv (cached after the first run)", "requirements", req)
	cctx, cancel := context.WithTimeout(ctx, 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(cctx, filepath.Join(cfg.repo, "scripts", "venv.sh"), req)
	cmd.Dir = cfg.repo
	var stderr limitedBuffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		rep.Notes = append(rep.Notes, "MLServer could not be installed with `scripts/venv.sh bench/requirements-mlserver.txt`: "+
			err.Error()+": "+oneLineTail(stderr.b, 600))
		return
	}
	bin := filepath.Join(string(trimNL(out)), "bin", "mlserver")
	if _, err := os.Stat(bin); err != nil {
		rep.Notes = append(rep.Notes, "MLServer venv has no bin/mlserver: "+err.Error())
		return
	}
	cfg.mlserver = bin
}

// limitedBuffer keeps the last 64 KiB written to it.
type limitedBuffer struct{ b []byte }

func (l *limitedBuffer) Write(p []byte) (int, error) {
	l.b = append(l.b, p...)
	if len(l.b) > 64<<10 {
		l.b = l.b[len(l.b)-64<<10:]
	}
	return len(p), nil
}

func trimNL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

func oneLineTail(b []byte, n int) string {
	s := tail(b, n)
	out := make([]rune, 0, len(s))
	for _, r := range s {
		if r == '\n' || r == '\r' {
			r = ' '
		}
		out = append(out, r)
	}
	return string(out)
}
