package wiretest

import "testing"

func TestDig(t *testing.T) {
	m := map[string]any{"a": map[string]any{"b": "c"}, "x": 1}
	if Dig(m, "a", "b") != "c" || Dig(m, "x", "y") != nil || Dig(m, "nope") != nil || Dig(m) == nil {
		t.Fatal("dig")
	}
}
