package search

import (
	"errors"
	"slices"
	"testing"
)

func TestRefill(t *testing.T) {
	all := []int{1, 2, 3, 4, 5, 6, 7}
	g := &Grammar{}
	fetch := func(limit int) func(string) ([]int, error) {
		return func(tok string) ([]int, error) {
			off, err := g.DecodePageToken(tok)
			if err != nil {
				return nil, err
			}
			page, _ := Page(all[min(off, len(all)):], off, limit)
			return page, nil
		}
	}
	keepSet := func(ok ...int) func([]int) []int {
		return func(xs []int) []int {
			return slices.DeleteFunc(slices.Clone(xs), func(x int) bool { return !slices.Contains(ok, x) })
		}
	}
	cases := []struct {
		name  string
		limit int
		keep  func([]int) []int
		first string
		want  []int
		next  string
	}{
		// Pages of 2 over 1..7, the user reads 2, 5 and 6: the first page
		// reads 1,2 then one row at a time (the room left) up to 5.
		{"filled from later pages", 2, keepSet(2, 5, 6), "", []int{2, 5}, PageToken(5)},
		{"second page", 2, keepSet(2, 5, 6), PageToken(5), []int{6}, ""},
		{"nothing kept", 3, keepSet(), "", []int{}, ""},
		{"all kept", 3, keepSet(1, 2, 3, 4, 5, 6, 7), "", []int{1, 2, 3}, PageToken(3)},
		// The last row read is the last row there is: MLflow still hands
		// back the offset past it.
		{"ends on the last row", 2, keepSet(1, 7), "", []int{1, 7}, PageToken(7)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			first, err := fetch(c.limit)(c.first)
			if err != nil {
				t.Fatal(err)
			}
			off, _ := g.DecodePageToken(c.first)
			_, next := Page(all[min(off, len(all)):], off, c.limit)
			got, tok, err := Refill(first, next, c.limit, c.keep, fetch(c.limit), g.DecodePageToken)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, c.want) || tok != c.next {
				t.Errorf("got %v %q, want %v %q", got, tok, c.want, c.next)
			}
		})
	}
	t.Run("fetch error", func(t *testing.T) {
		boom := errors.New("boom")
		_, _, err := Refill([]int{1}, PageToken(1), 2, keepSet(), func(string) ([]int, error) { return nil, boom }, g.DecodePageToken)
		if !errors.Is(err, boom) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestThin(t *testing.T) {
	type item struct{ id string }
	items := []item{{"a"}, {"b"}, {"c"}, {"b"}}
	var asked []string
	got := Thin(items, func(it item) string { return it.id }, func(ids []string) []string {
		asked = ids
		return []string{"b", "z"}
	})
	if !slices.Equal(asked, []string{"a", "b", "c", "b"}) {
		t.Fatalf("allow asked about %v", asked)
	}
	if !slices.Equal(got, []item{{"b"}, {"b"}}) {
		t.Fatalf("kept %v", got)
	}
}
