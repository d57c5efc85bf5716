package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
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

// runFloors measures the HTTP floors (a constant answer from net/http and
// from gin, in this process, on loopback) and the compute floor (the onnx
// flavor's predictor called in-process, no HTTP).
func runFloors(ctx context.Context, log *slog.Logger, cfg *config, models map[string]*model, rep *bench.Report, fail func(string, error)) {
	lin := models["linear"]
	if lin != nil && (cfg.want(keyFloorHTTP) || cfg.want("linear")) {
		mux := http.NewServeMux()
		mux.HandleFunc("POST /invocations", func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(constBody)
		})
		rep.Serving = append(rep.Serving, floorHTTP(ctx, log, cfg, keyFloorHTTP, "net/http ServeMux handler writing a constant", mux, lin, fail))
	}
	if lin != nil && (cfg.want(keyFloorGin) || cfg.want("linear")) {
		gin.SetMode(gin.ReleaseMode)
		g := gin.New()
		g.POST("/invocations", func(c *gin.Context) {
			_, _ = io.Copy(io.Discard, c.Request.Body)
			c.Data(http.StatusOK, "application/json", constBody)
		})
		rep.Serving = append(rep.Serving, floorHTTP(ctx, log, cfg, keyFloorGin, "gin (release mode, no middleware) handler writing a constant", g, lin, fail))
	}
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

// floorHTTP serves h on a loopback port in this process and measures it
// with the linear model's request body.
func floorHTTP(ctx context.Context, log *slog.Logger, cfg *config, key, variant string, h http.Handler, m *model, fail func(string, error)) bench.ServingRun {
	run := bench.ServingRun{Key: key, System: "floor", Model: m.Kind, Variant: variant, Protocol: "POST /invocations"}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		run.Err = err.Error()
		fail(key, err)
		return run
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	log.Info("http floor", "system", key)
	req := &bench.Request{URL: "http://" + ln.Addr().String() + "/invocations", ContentType: "application/json", Body: m.Body,
		Check: hasKey("predictions")}
	measureHTTP(ctx, cfg, &run, req, 0)
	if msg := noSuccess(&run); msg != "" {
		run.Err = msg
		fail(key, errors.New(msg))
	}
	return run
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
