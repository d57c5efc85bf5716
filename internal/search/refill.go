package search

// Refill thins a search page to what keep leaves and fills it back up to
// limit from the pages after it, as MLflow's basic-auth app does for the
// experiments and registered-models searches of a non-admin user: each
// further page is fetched at limit, cut to the room left, then thinned;
// the token that comes back is the offset past everything read, also when
// that was the last row (MLflow's next call then finds an empty page).
// offset reads a token's offset; fetch reads the page at a token.
func Refill[T any](items []T, next string, limit int, keep func([]T) []T,
	fetch func(token string) ([]T, error), offset func(token string) (int, error),
) ([]T, string, error) {
	items = keep(items)
	for len(items) < limit && next != "" {
		more, err := fetch(next)
		if err != nil {
			return nil, "", err
		}
		more = more[:min(len(more), limit-len(items))]
		if len(more) == 0 {
			next = ""
			break
		}
		start, err := offset(next)
		if err != nil {
			return nil, "", err
		}
		items = append(items, keep(more)...)
		next = PageToken(start + len(more))
	}
	return items, next, nil
}

// Thin keeps the items whose id allow keeps (a permission filter given the
// ids of a page), in their order.
func Thin[T any](items []T, id func(T) string, allow func(ids []string) []string) []T {
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = id(it)
	}
	ok := make(map[string]bool, len(ids))
	for _, k := range allow(ids) {
		ok[k] = true
	}
	kept := items[:0]
	for _, it := range items {
		if ok[id(it)] {
			kept = append(kept, it)
		}
	}
	return kept
}
