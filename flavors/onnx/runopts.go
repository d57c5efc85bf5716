//go:build cgo

package onnx

import (
	"context"

	ort "github.com/yalue/onnxruntime_go"
)

// runOptsPool keeps ORT run options for reuse. A run that can be cancelled
// needs options of its own (terminating one run must not stop another),
// and creating and releasing them costs two cgo calls per run.
type runOptsPool struct {
	free chan *ort.RunOptions
}

// runOptsKept is how many idle run options a predictor keeps.
const runOptsKept = 16

func newRunOptsPool() runOptsPool {
	return runOptsPool{free: make(chan *ort.RunOptions, runOptsKept)}
}

func (p runOptsPool) get() (*ort.RunOptions, error) {
	select {
	case o := <-p.free:
		return o, nil
	default:
		return ort.NewRunOptions()
	}
}

// put returns o to the pool (reset first when it was told to terminate),
// or frees it.
func (p runOptsPool) put(o *ort.RunOptions, terminated bool) {
	if terminated && o.UnsetTerminate() != nil {
		_ = o.Destroy()
		return
	}
	select {
	case p.free <- o:
	default:
		_ = o.Destroy()
	}
}

// drain frees the idle run options.
func (p runOptsPool) drain() {
	for {
		select {
		case o := <-p.free:
			_ = o.Destroy()
		default:
			return
		}
	}
}

// cancellable runs f with run options that ctx's end terminates (nil
// options when ctx cannot end).
func (p runOptsPool) cancellable(ctx context.Context, f func(*ort.RunOptions) error) error {
	if ctx.Done() == nil {
		return f(nil)
	}
	opts, err := p.get()
	if err != nil {
		return err
	}
	terminated := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		_ = opts.Terminate()
		close(terminated)
	})
	err = f(opts)
	if stop() {
		p.put(opts, false)
		return err
	}
	<-terminated // never reuse or free the options under a running Terminate
	p.put(opts, true)
	return err
}
