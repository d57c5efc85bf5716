package flavors

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/mlgate/mlgate/pkgformat"
)

// Flavor loads models of one MLmodel flavor key.
type Flavor interface {
	// Name is the MLmodel flavors key, e.g. "onnx" or "python_function".
	Name() string
	// Load opens the model in dir, described by m.
	Load(ctx context.Context, dir string, m *pkgformat.Model, opts LoadOptions) (Predictor, error)
}

// Predictor runs predictions for one loaded model.
type Predictor interface {
	// Predict is safe for concurrent use.
	Predict(ctx context.Context, in *Input) (*Output, error)
	// Close frees the model (sessions, child processes). It is idempotent.
	Close() error
}

// Batcher is an optional capability: a predictor that accepts inputs whose
// first axis can be concatenated and split (a free batch axis) says so here,
// and the server may merge requests.
type Batcher interface {
	CanBatch() bool
}

// ManyPredictor is an optional capability of a Batcher: a predictor that
// runs a batch of inputs in one call itself and answers one output per
// input, in order. The server's batcher calls it instead of concatenating
// the inputs and splitting one output (which it cannot do for outputs it
// does not understand, such as a worker's JSON). A non-nil error fails the
// whole call (the server then retries each input alone); errs[i] fails
// only input i.
type ManyPredictor interface {
	PredictMany(ctx context.Context, ins []*Input) (outs []*Output, errs []error, err error)
}

// Describer is an optional capability: a predictor that knows its inputs
// and outputs (for the Open Inference Protocol's model metadata).
type Describer interface {
	Describe() Metadata
}

// Metadata lists a model's named tensors.
type Metadata struct {
	Inputs  []TensorMeta `json:"inputs"`
	Outputs []TensorMeta `json:"outputs"`
}

// TensorMeta is a tensor's name, element type and shape (-1 free).
type TensorMeta struct {
	Name  string  `json:"name"`
	DType DType   `json:"datatype"`
	Shape []int64 `json:"shape"`
}

// LoadOptions carries settings from flags to a flavor.
type LoadOptions struct {
	// IntraOpThreads and InterOpThreads size ONNX Runtime's pools (0: default).
	IntraOpThreads int
	InterOpThreads int
	// Workers is the number of external worker processes (pyfunc).
	Workers int
	// EnvManager is local, virtualenv, uv or conda (pyfunc).
	EnvManager string
	// Extra holds flavor-specific settings.
	Extra map[string]string
}

// Sentinel errors that flavors return (wrapped with %w).
var (
	// ErrNoFlavor means no registered flavor can load the model.
	ErrNoFlavor = errors.New("no flavor can serve this model")
	// ErrBadInput means the input does not fit the model (a user error).
	ErrBadInput = errors.New("bad input")
	// ErrUnavailable means the predictor cannot answer now (a worker died).
	ErrUnavailable = errors.New("predictor unavailable")
)

// Registry maps flavor keys to Flavors. The zero value is not usable; use
// NewRegistry. Tests build their own registries.
type Registry struct {
	mu      sync.RWMutex
	flavors map[string]Flavor
	order   []string // preference order for Select
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{flavors: map[string]Flavor{}}
}

// Register adds f. Flavors registered earlier are preferred by Select. An
// empty name, a nil flavor or a duplicate panics: that is a wiring bug.
func (r *Registry) Register(f Flavor) {
	if f == nil || f.Name() == "" {
		panic("flavors: Register of a nil or unnamed flavor")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.flavors[f.Name()]; dup {
		panic("flavors: duplicate registration of " + f.Name())
	}
	r.flavors[f.Name()] = f
	r.order = append(r.order, f.Name())
}

// Get returns the flavor registered under name.
func (r *Registry) Get(name string) (Flavor, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	f, ok := r.flavors[name]
	return f, ok
}

// Names lists registered flavor keys, sorted.
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	names := append([]string(nil), r.order...)
	sort.Strings(names)
	return names
}

// Select picks the flavor for m: force when non-empty, else the first
// registered flavor (in registration order) whose key is in m.Flavors.
func (r *Registry) Select(m *pkgformat.Model, force string) (Flavor, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if force != "" {
		f, ok := r.flavors[force]
		if !ok {
			return nil, fmt.Errorf("%w: flavor %q is not registered (have %v)", ErrNoFlavor, force, r.order)
		}
		return f, nil
	}
	for _, name := range r.order {
		if _, ok := m.Flavors[name]; ok {
			return r.flavors[name], nil
		}
	}
	keys := make([]string, 0, len(m.Flavors))
	for k := range m.Flavors {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return nil, fmt.Errorf("%w: model flavors %v, registered %v", ErrNoFlavor, keys, r.order)
}
