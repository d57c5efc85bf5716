package serve

import (
	"bytes"
	"math"
	"slices"

	"github.com/mlgate/mlgate/flavors"
)

// sameOutputs reports whether two predictions agree, compared as the
// answers /invocations renders: strings, booleans, integers and keys
// exactly, other numbers within the relative tolerance tol (NaN agrees
// with NaN), arrays and objects element by element. ra, when not nil, is
// a rendered already.
func sameOutputs(a *flavors.Output, ra []byte, b *flavors.Output, tol float64) (bool, error) {
	var err error
	if ra == nil {
		if ra, err = renderPredictions(a); err != nil {
			return false, err
		}
	}
	rb, err := renderPredictions(b)
	if err != nil {
		return false, err
	}
	return sameAnswers(ra, rb, tol), nil
}

// sameAnswers compares two JSON documents as sameOutputs does; documents
// that do not parse agree only when they are the same bytes.
func sameAnswers(a, b []byte, tol float64) bool {
	if bytes.Equal(a, b) {
		return true
	}
	va, err := parseJSON(a)
	if err != nil {
		return false
	}
	vb, err := parseJSON(b)
	if err != nil {
		return false
	}
	return sameValue(&va, &vb, tol)
}

func sameValue(a, b *value, tol float64) bool {
	if a.k != b.k {
		return false
	}
	switch a.k {
	case kNull:
		return true
	case kBool:
		return a.b == b.b
	case kString:
		return a.s == b.s
	case kNumber:
		return sameNumber(a, b, tol)
	case kArray:
		ia, ib := a.items(), b.items()
		if len(ia) != len(ib) {
			return false
		}
		for i := range ia {
			if !sameValue(&ia[i], &ib[i], tol) {
				return false
			}
		}
		return true
	case kObject:
		if len(a.keys) != len(b.keys) {
			return false
		}
		if slices.Equal(a.keys, b.keys) {
			for i := range a.vals {
				if !sameValue(&a.vals[i], &b.vals[i], tol) {
					return false
				}
			}
			return true
		}
		return sameMembers(a, b, tol) && sameMembers(b, a, tol)
	}
	return false
}

// sameMembers reports whether each member of a agrees with b's member of
// the same key.
func sameMembers(a, b *value, tol float64) bool {
	for i, k := range a.keys {
		w, ok := b.get(k)
		if !ok || !sameValue(&a.vals[i], w, tol) {
			return false
		}
	}
	return true
}

// sameNumber compares integers (literals without fraction or exponent)
// exactly and any other number within the relative tolerance.
func sameNumber(a, b *value, tol float64) bool {
	if a.isInt() && b.isInt() {
		return a.num == b.num
	}
	x, y := a.float(), b.float()
	switch {
	case math.IsNaN(x) || math.IsNaN(y):
		return math.IsNaN(x) && math.IsNaN(y)
	case x == y:
		return true
	case math.IsInf(x, 0) || math.IsInf(y, 0):
		return false
	}
	return math.Abs(x-y) <= tol*max(math.Abs(x), math.Abs(y))
}
