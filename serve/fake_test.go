package serve

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mlgate/mlgate/flavors"
	"github.com/mlgate/mlgate/pkgformat"
)

// echo is a fake predictor: it returns its input (frames as frames,
// tensors as tensors), fails on any value 666, can block on a gate, and
// records the batch sizes it saw.
type echo struct {
	gate    chan struct{} // when non-nil, Predict waits for a receive
	entered chan struct{} // when non-nil, Predict signals here first
	batch   bool
	calls   atomic.Int64
	closed  atomic.Int64
	mu      sync.Mutex
	sizes   []int
	running atomic.Int64
}

var errEvil = errors.New("value 666 is not allowed")

func (e *echo) Predict(ctx context.Context, in *flavors.Input) (*flavors.Output, error) {
	if e.closed.Load() > 0 {
		return nil, errors.New("predict after close")
	}
	e.running.Add(1)
	defer e.running.Add(-1)
	e.calls.Add(1)
	if e.entered != nil {
		e.entered <- struct{}{}
	}
	if e.gate != nil {
		select {
		case <-e.gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	e.mu.Lock()
	e.sizes = append(e.sizes, rowsOf(in))
	e.mu.Unlock()
	switch {
	case in.Raw != nil:
		return &flavors.Output{JSON: in.Raw}, nil
	case in.Frame != nil:
		for _, col := range in.Frame.Data {
			for _, v := range col {
				if f, ok := v.(float64); ok && f == 666 {
					return nil, errEvil
				}
			}
		}
		return &flavors.Output{Frame: in.Frame}, nil
	case in.Tensor != nil:
		if evil(in.Tensor) {
			return nil, errEvil
		}
		return &flavors.Output{Tensor: in.Tensor}, nil
	case in.Tensors != nil:
		out := &flavors.Output{Tensors: in.Tensors}
		for k, t := range in.Tensors {
			if evil(t) {
				return nil, errEvil
			}
			out.Order = append(out.Order, k)
		}
		sort.Strings(out.Order)
		return out, nil
	}
	return nil, errors.New("empty input")
}

func evil(t *flavors.Tensor) bool {
	v := reflect.ValueOf(t.Data)
	for i := 0; i < v.Len(); i++ {
		x := v.Index(i)
		switch x.Kind() {
		case reflect.Float32, reflect.Float64:
			if x.Float() == 666 {
				return true
			}
		case reflect.Int32, reflect.Int64:
			if x.Int() == 666 {
				return true
			}
		}
	}
	return false
}

func (e *echo) Close() error {
	e.closed.Add(1)
	return nil
}

func (e *echo) CanBatch() bool { return e.batch }

var _ flavors.Predictor = (*echo)(nil)
var _ flavors.Batcher = (*echo)(nil)

// col builds a named column spec.
func col(name, typ string) pkgformat.ColSpec {
	return pkgformat.ColSpec{Name: name, Type: pkgformat.DataType{Type: typ}, Required: true}
}

func tensor(name, dtype string, shape ...int64) pkgformat.TensorSpec {
	return pkgformat.TensorSpec{Name: name, DType: dtype, Shape: shape}
}

// newTestServer builds a server with p installed under sig.
func newTestServer(t *testing.T, p flavors.Predictor, sig *pkgformat.Signature, mod func(*Options)) (*Server, *httptest.Server) {
	t.Helper()
	reg := prometheus.NewRegistry()
	opts := Options{Name: "m", Version: "1", Registerer: reg, Gatherer: reg, Timeout: 5 * time.Second}
	if mod != nil {
		mod(&opts)
	}
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if p != nil {
		s.Install(&Model{Meta: &pkgformat.Model{Signature: sig}, Predictor: p, Flavor: "fake"})
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		ts.Close()
		_ = s.Close()
	})
	return s, ts
}

// post sends body and returns status, body and headers.
func post(t *testing.T, url, ctype, body string) (int, string, http.Header) {
	t.Helper()
	resp, err := http.Post(url, ctype, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func outputOf(data []float32, n int64) *flavors.Output {
	return &flavors.Output{Tensor: &flavors.Tensor{DType: flavors.Float32, Shape: []int64{n}, Data: data}}
}
