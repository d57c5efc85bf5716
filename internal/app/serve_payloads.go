package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mlgate/mlgate/payloads"
)

// payloadArtifactDir is where payload files go in the serving run.
const payloadArtifactDir = "inference"

// errNoServingRun fails uploads while the server has no serving run (the
// tracking server could not be reached when it started): the files stay
// in the payload folder up to its bound.
var errNoServingRun = errors.New("no serving run to upload payload files to")

// payloadLog is the scoring server's payload logger (see package
// payloads) and the serving run its files are uploaded to once that run
// exists.
type payloadLog struct {
	*payloads.Logger
	run     atomic.Pointer[servingRun]
	dir     string
	tempDir bool
	log     *slog.Logger
}

// newPayloadLog starts the payload logger of o (nil when payload logging
// is off).
func newPayloadLog(o ServeOptions, reg prometheus.Registerer) (*payloadLog, error) {
	if o.PayloadSample <= 0 {
		return nil, nil
	}
	p := &payloadLog{dir: o.PayloadDir, log: o.Logger}
	if p.dir == "" {
		d, err := os.MkdirTemp("", "mlgate-payloads-")
		if err != nil {
			return nil, fmt.Errorf("models serve: %w", err)
		}
		p.dir, p.tempDir = d, true
	}
	l, err := payloads.New(payloads.Options{
		Dir: p.dir, Sample: o.PayloadSample, Exclude: o.PayloadExclude, MaxBody: o.PayloadMaxBody,
		RotateBytes: o.PayloadRotateBytes, RotateInterval: o.PayloadInterval, MaxPending: o.PayloadMaxPending,
		Upload: p.upload, Registerer: reg, Logger: o.Logger,
	})
	if err != nil {
		if p.tempDir {
			_ = os.RemoveAll(p.dir)
		}
		return nil, fmt.Errorf("models serve: %w", err)
	}
	p.Logger = l
	return p, nil
}

// upload logs a closed payload file as an artifact of the serving run.
func (p *payloadLog) upload(ctx context.Context, path string) error {
	r := p.run.Load()
	if r == nil {
		return errNoServingRun
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	return r.c.LogArtifact(ctx, r.runID, path, payloadArtifactDir)
}

// close writes what is queued and uploads the files left, within ctx;
// a temporary folder is removed when nothing is left in it.
func (p *payloadLog) close(ctx context.Context) error {
	if p == nil {
		return nil
	}
	err := p.Close(ctx)
	if err != nil {
		p.log.Warn("payload files not uploaded", slog.String("dir", p.dir), slog.String("error", err.Error()))
	}
	if p.tempDir && len(p.Pending()) == 0 {
		_ = os.Remove(p.dir)
	}
	return err
}

// counts are the records logged and dropped so far (zero without payload
// logging).
func (p *payloadLog) counts() (logged, dropped uint64) {
	if p == nil {
		return 0, 0
	}
	return p.Logged(), p.Dropped()
}
