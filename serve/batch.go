package serve

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/mlgate/mlgate/flavors"
)

// batcher merges concurrent requests for one model into larger predictor
// calls: up to MaxBatchSize rows, waiting at most MaxBatchDelay after the
// first request. Requests merge only when their inputs have the same
// names, element types and trailing dimensions and carry no params.
type batcher struct {
	s    *Server
	h    *handle
	jobs chan *job
	quit chan struct{}
	once sync.Once
}

// job is one request waiting in the batcher.
type job struct {
	in       *flavors.Input
	key      string
	rows     int
	enq      time.Time
	deadline time.Time
	gone     <-chan struct{} // the request's context is done
	done     chan result
}

func newBatcher(s *Server, h *handle) *batcher {
	b := &batcher{s: s, h: h, jobs: make(chan *job, s.opts.MaxQueue+s.opts.MaxConcurrency), quit: make(chan struct{})}
	go b.loop()
	return b
}

func (b *batcher) stop() { b.once.Do(func() { close(b.quit) }) }

// submit queues in and waits for its share of a batch.
func (b *batcher) submit(ctx context.Context, in *flavors.Input) (*flavors.Output, error) {
	key, rows, _ := batchKey(in)
	j := &job{in: in, key: key, rows: rows, enq: time.Now(), gone: ctx.Done(), done: make(chan result, 1)}
	j.deadline, _ = ctx.Deadline()
	b.s.metrics.queued.Inc()
	select {
	case b.jobs <- j:
	default:
		b.s.metrics.queued.Dec()
		return nil, errQueueFull
	}
	select {
	case r := <-j.done:
		return r.out, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (b *batcher) loop() {
	var pending *job
	max := b.s.opts.MaxBatchSize
	for {
		first := pending
		pending = nil
		if first == nil {
			select {
			case first = <-b.jobs:
			case <-b.quit:
				return
			}
		}
		batch, rows := []*job{first}, first.rows
		timer := time.NewTimer(b.s.opts.MaxBatchDelay)
	collect:
		for rows < max {
			select {
			case j := <-b.jobs:
				if j.key != first.key || rows+j.rows > max {
					pending = j
					break collect
				}
				batch = append(batch, j)
				rows += j.rows
			case <-timer.C:
				break collect
			}
		}
		timer.Stop()
		b.s.slots <- struct{}{}
		for range batch {
			b.s.metrics.queued.Dec()
		}
		go b.run(batch)
	}
}

// run predicts one batch; on any failure each member is retried alone, so
// one bad request never fails the others.
func (b *batcher) run(batch []*job) {
	defer func() { <-b.s.slots }()
	if !b.h.tryAcquire() {
		for _, j := range batch {
			j.done <- result{err: flavors.ErrUnavailable}
		}
		return
	}
	defer b.h.release()
	now := time.Now()
	live := batch[:0]
	for _, j := range batch {
		select {
		case <-j.gone:
			j.done <- result{err: context.DeadlineExceeded}
			continue
		default:
		}
		b.h.obs.queue.Observe(now.Sub(j.enq).Seconds())
		live = append(live, j)
	}
	if len(live) == 0 {
		return
	}
	ctx, cancel := b.context(live)
	defer cancel()
	if len(live) > 1 {
		if mp, ok := b.h.m.Predictor.(flavors.ManyPredictor); ok {
			if outs, errs, err := b.many(ctx, mp, live); err == nil {
				for i, j := range live {
					j.done <- result{out: outs[i], err: errs[i]}
				}
				return
			}
		} else if outs, err := b.together(ctx, live); err == nil {
			for i, j := range live {
				j.done <- result{out: outs[i]}
			}
			return
		}
	}
	for _, j := range live {
		out, err := b.s.call(ctx, b.h, j.in, j.rows)
		j.done <- result{out, err}
	}
}

// context bounds a batch by the latest deadline among its members.
func (b *batcher) context(jobs []*job) (context.Context, context.CancelFunc) {
	var latest time.Time
	for _, j := range jobs {
		if j.deadline.After(latest) {
			latest = j.deadline
		}
	}
	if latest.IsZero() {
		return context.WithTimeout(context.Background(), b.s.opts.Timeout)
	}
	return context.WithDeadline(context.Background(), latest)
}

// many hands the batch to a predictor that runs it itself; a failure of
// the whole call (or a malformed answer) is an error so that the members
// are retried one by one.
func (b *batcher) many(ctx context.Context, mp flavors.ManyPredictor, jobs []*job) (outs []*flavors.Output, errs []error, err error) {
	ins := make([]*flavors.Input, len(jobs))
	total := 0
	for i, j := range jobs {
		ins[i] = j.in
		total += j.rows
	}
	err = b.s.timed(b.h, total, func() error {
		outs, errs, err = mp.PredictMany(ctx, ins)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	if len(outs) != len(jobs) || len(errs) != len(jobs) {
		return nil, nil, fmt.Errorf("the predictor answered %d outputs and %d errors for %d inputs", len(outs), len(errs), len(jobs))
	}
	for i := range outs {
		if outs[i] == nil && errs[i] == nil {
			return nil, nil, fmt.Errorf("the predictor answered nothing for input %d", i)
		}
	}
	return outs, errs, nil
}

func (b *batcher) together(ctx context.Context, jobs []*job) ([]*flavors.Output, error) {
	ins := make([]*flavors.Input, len(jobs))
	rows := make([]int, len(jobs))
	total := 0
	for i, j := range jobs {
		ins[i], rows[i] = j.in, j.rows
		total += j.rows
	}
	merged, err := mergeInputs(ins)
	if err != nil {
		return nil, err
	}
	out, err := b.s.call(ctx, b.h, merged, total)
	if err != nil {
		return nil, err
	}
	return splitOutput(out, rows)
}

// rowsOf is the batch dimension of an input (0 when unknown).
func rowsOf(in *flavors.Input) int {
	_, rows, _ := batchKey(in)
	return rows
}

// batchKey describes what an input must share with others to be merged,
// and its row count; ok is false for inputs that cannot be batched.
func batchKey(in *flavors.Input) (key string, rows int, ok bool) {
	if len(in.Params) > 0 || in.Raw != nil {
		return "", 0, false
	}
	var sb strings.Builder
	switch {
	case in.Tensor != nil:
		if len(in.Tensor.Shape) == 0 {
			return "", 0, false
		}
		sb.WriteString("T|")
		writeTensorKey(&sb, in.Tensor)
		return sb.String(), int(in.Tensor.Shape[0]), true
	case in.Tensors != nil:
		names := make([]string, 0, len(in.Tensors))
		for n := range in.Tensors {
			names = append(names, n)
		}
		sort.Strings(names)
		rows = -1
		sb.WriteString("M|")
		for _, n := range names {
			t := in.Tensors[n]
			if len(t.Shape) == 0 || (rows >= 0 && int(t.Shape[0]) != rows) {
				return "", 0, false
			}
			rows = int(t.Shape[0])
			sb.WriteString(n)
			sb.WriteByte('=')
			writeTensorKey(&sb, t)
			sb.WriteByte(';')
		}
		return sb.String(), rows, rows >= 0
	case in.Frame != nil:
		sb.WriteString("F|")
		for i, c := range in.Frame.Columns {
			sb.WriteString(c)
			sb.WriteByte(':')
			if i < len(in.Frame.Types) {
				sb.WriteString(in.Frame.Types[i])
			}
			sb.WriteByte(';')
		}
		return sb.String(), in.Frame.Rows(), true
	}
	return "", 0, false
}

func writeTensorKey(sb *strings.Builder, t *flavors.Tensor) {
	sb.WriteString(string(t.DType))
	for _, d := range t.Shape[1:] {
		fmt.Fprintf(sb, ",%d", d)
	}
}

// mergeInputs concatenates inputs along the first axis.
func mergeInputs(ins []*flavors.Input) (*flavors.Input, error) {
	first := ins[0]
	switch {
	case first.Tensor != nil:
		ts := make([]*flavors.Tensor, len(ins))
		for i, in := range ins {
			ts[i] = in.Tensor
		}
		t, err := concatTensors(ts)
		return &flavors.Input{Tensor: t}, err
	case first.Tensors != nil:
		out := &flavors.Input{Tensors: map[string]*flavors.Tensor{}}
		for name := range first.Tensors {
			ts := make([]*flavors.Tensor, len(ins))
			for i, in := range ins {
				ts[i] = in.Tensors[name]
			}
			t, err := concatTensors(ts)
			if err != nil {
				return nil, err
			}
			out.Tensors[name] = t
		}
		return out, nil
	case first.Frame != nil:
		f := &flavors.Frame{Columns: first.Frame.Columns, Types: first.Frame.Types, Data: make([][]any, len(first.Frame.Columns))}
		for c := range f.Columns {
			for _, in := range ins {
				f.Data[c] = append(f.Data[c], in.Frame.Data[c]...)
			}
		}
		return &flavors.Input{Frame: f}, nil
	}
	return nil, errors.New("nothing to merge")
}

func concatTensors(ts []*flavors.Tensor) (*flavors.Tensor, error) {
	first := ts[0]
	data := reflect.ValueOf(first.Data)
	if data.Kind() != reflect.Slice {
		return nil, errors.New("tensor data is not a slice")
	}
	rows := int64(0)
	out := reflect.MakeSlice(data.Type(), 0, data.Len()*len(ts))
	for _, t := range ts {
		v := reflect.ValueOf(t.Data)
		if v.Type() != data.Type() {
			return nil, errors.New("tensor data types differ")
		}
		out = reflect.AppendSlice(out, v)
		rows += t.Shape[0]
	}
	shape := append([]int64{rows}, first.Shape[1:]...)
	return &flavors.Tensor{DType: first.DType, Shape: shape, Data: out.Interface()}, nil
}

// splitOutput cuts a batch's output back into per-request outputs. An
// output whose first axis is not a multiple of the total rows cannot be
// split (an error: the caller retries one by one).
func splitOutput(out *flavors.Output, rows []int) ([]*flavors.Output, error) {
	total := 0
	for _, r := range rows {
		total += r
	}
	outs := make([]*flavors.Output, len(rows))
	for i := range outs {
		outs[i] = &flavors.Output{Order: out.Order}
	}
	switch {
	case out.Tensor != nil:
		parts, err := splitTensor(out.Tensor, rows, total)
		if err != nil {
			return nil, err
		}
		for i := range outs {
			outs[i].Tensor = parts[i]
		}
	case out.Tensors != nil:
		for i := range outs {
			outs[i].Tensors = make(map[string]*flavors.Tensor, len(out.Tensors))
		}
		for name, t := range out.Tensors {
			parts, err := splitTensor(t, rows, total)
			if err != nil {
				return nil, err
			}
			for i := range outs {
				outs[i].Tensors[name] = parts[i]
			}
		}
	case out.Frame != nil:
		if out.Frame.Rows() != total {
			return nil, fmt.Errorf("output has %d rows for %d input rows", out.Frame.Rows(), total)
		}
		at := 0
		for i, r := range rows {
			f := &flavors.Frame{Columns: out.Frame.Columns, Types: out.Frame.Types, Data: make([][]any, len(out.Frame.Data))}
			for c := range out.Frame.Data {
				f.Data[c] = out.Frame.Data[c][at : at+r]
			}
			outs[i].Frame = f
			at += r
		}
	default:
		return nil, errors.New("output cannot be split")
	}
	return outs, nil
}

func splitTensor(t *flavors.Tensor, rows []int, total int) ([]*flavors.Tensor, error) {
	if len(t.Shape) == 0 || total == 0 || int(t.Shape[0])%total != 0 {
		return nil, fmt.Errorf("output %v cannot be split into %d rows", t.Shape, total)
	}
	per := int(t.Shape[0]) / total // output rows per input row
	inner := numel(t.Shape[1:])
	v := reflect.ValueOf(t.Data)
	if v.Kind() != reflect.Slice || v.Len() != numel(t.Shape) {
		return nil, errors.New("output data does not match its shape")
	}
	parts := make([]*flavors.Tensor, len(rows))
	at := 0
	for i, r := range rows {
		n := r * per * inner
		shape := append([]int64{int64(r * per)}, t.Shape[1:]...)
		parts[i] = &flavors.Tensor{DType: t.DType, Shape: shape, Data: v.Slice(at, at+n).Interface()}
		at += n
	}
	return parts, nil
}
