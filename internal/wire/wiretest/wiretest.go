// Package wiretest helps tests of mlgate's REST servers read their JSON
// answers. It is imported by tests only.
package wiretest

// Dig returns the value at path in a decoded JSON object (nil when a step
// is missing or not an object).
func Dig(m map[string]any, path ...string) any {
	var v any = m
	for _, p := range path {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[p]
	}
	return v
}
