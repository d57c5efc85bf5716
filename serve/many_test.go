package serve

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/mlgate/mlgate/flavors"
)

// jsonMany is a fake predictor whose outputs are JSON the server cannot
// split (like a worker's): it batches through PredictMany, answering each
// input's first value doubled, and fails only the inputs holding 666.
type jsonMany struct {
	mu    sync.Mutex
	sizes []int // inputs per PredictMany call
	fail  bool  // PredictMany fails as a whole
}

func firstValue(in *flavors.Input) (float32, error) {
	v := in.Tensor.Data.([]float32)[0]
	if v == 666 {
		return 0, errEvil
	}
	return v, nil
}

func (p *jsonMany) Predict(_ context.Context, in *flavors.Input) (*flavors.Output, error) {
	v, err := firstValue(in)
	if err != nil {
		return nil, err
	}
	return &flavors.Output{JSON: json.RawMessage(fmt.Sprintf("[%g]", 2*v))}, nil
}

func (p *jsonMany) PredictMany(ctx context.Context, ins []*flavors.Input) ([]*flavors.Output, []error, error) {
	p.mu.Lock()
	p.sizes = append(p.sizes, len(ins))
	p.mu.Unlock()
	if p.fail {
		return nil, nil, fmt.Errorf("the whole batch failed")
	}
	outs, errs := make([]*flavors.Output, len(ins)), make([]error, len(ins))
	for i, in := range ins {
		outs[i], errs[i] = p.Predict(ctx, in)
	}
	return outs, errs, nil
}

func (p *jsonMany) CanBatch() bool { return true }
func (p *jsonMany) Close() error   { return nil }

func TestManyPredictorGetsTheBatch(t *testing.T) {
	for _, fail := range []bool{false, true} {
		t.Run(fmt.Sprintf("whole_call_fails=%v", fail), func(t *testing.T) {
			p := &jsonMany{fail: fail}
			_, ts := newTestServer(t, p, tensorSig, func(o *Options) {
				o.MaxBatchSize = 64
				o.MaxBatchDelay = 50 * time.Millisecond
				o.MaxConcurrency = 1
			})
			const n = 8
			var wg sync.WaitGroup
			errs := make(chan string, n)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					v := i
					if i == 3 {
						v = 666
					}
					status, resp, _ := post(t, ts.URL+"/invocations", "application/json", fmt.Sprintf(`{"inputs": [[%d, 1]]}`, v))
					switch {
					case i == 3 && status != 400:
						errs <- fmt.Sprintf("bad input got %d %s", status, resp)
					case i != 3 && (status != 200 || resp != fmt.Sprintf(`{"predictions": [%d]}`, 2*i)):
						errs <- fmt.Sprintf("input %d got %d %s", i, status, resp)
					}
				}()
			}
			wg.Wait()
			close(errs)
			for e := range errs {
				t.Error(e)
			}
			p.mu.Lock()
			defer p.mu.Unlock()
			most := 0
			for _, s := range p.sizes {
				most = max(most, s)
			}
			if most < 2 {
				t.Fatalf("PredictMany never got more than one input: %v", p.sizes)
			}
		})
	}
}
