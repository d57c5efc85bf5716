package search

import (
	"encoding/base64"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/mlgate/mlgate/internal/db"
	"github.com/mlgate/mlgate/internal/storeerr"
)

var invalid = &storeerr.Error{Code: storeerr.InvalidParameterValue}

// testGrammar lists a message for some faults and leaves the rest to the
// fallback, as a store's grammar does.
var testGrammar = &Grammar{
	Entities: map[string]string{"tags": Tag, "metrics": Metric},
	KeyByte: func(c byte) bool {
		return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
	},
	Messages: Messages{
		Unterminated: "unterminated at {pos}: {rest}",
		BadEntity:    "entity '{word}' in '{filter}'",
		NoValue:      "no value after {op}",
		OrderIdent:   "order '{filter}': {word}",
	}.With("list in '{filter}'", EmptyList, ListItem, ListEnd),
	Fallback:      "bad filter '{filter}' at {pos}",
	TokenMessages: map[TokenFault]string{TokenBase64: "b64 {token}", TokenJSON: "json {decoded}", TokenString: "str {offset}", TokenOffset: "off {decoded}"},
}

func TestParseFilter(t *testing.T) {
	got, err := testGrammar.ParseFilter(`tags.a = 'x''y' AND metrics.m >= -1.5e3 and b IN ("p", 'q') AND tags.` + "`k k`" + ` != "v"`)
	if err != nil {
		t.Fatal(err)
	}
	want := []Clause{
		{Kind: Tag, Key: "a", Op: "=", Str: "x'y"},
		{Kind: Metric, Key: "m", Op: ">=", Str: "-1.5e3", Num: -1500, IsNum: true},
		{Kind: Attribute, Key: "b", Op: "IN", List: []string{"p", "q"}},
		{Kind: Tag, Key: "k k", Op: "!=", Str: "v"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	if got, err := testGrammar.ParseFilter("  "); got != nil || err != nil {
		t.Fatalf("blank filter: %v %v", got, err)
	}
}

func TestParseFilterMessages(t *testing.T) {
	for in, want := range map[string]string{
		"a = 'x":             "unterminated at 4: 'x",
		"TAGS.a = 'x'":       "entity 'TAGS' in 'TAGS.a = 'x''",
		"a =":                "no value after =",
		"a IN ()":            "list in 'a IN ()'",
		"a IN ('x' 'y')":     "list in 'a IN ('x' 'y')'",
		"a IS NULL":          "bad filter 'a IS NULL' at 2", // IS NULL is off in this grammar
		"a = 'x' OR b = 'y'": "bad filter 'a = 'x' OR b = 'y'' at 8",
		"a = 'x' AND":        "bad filter 'a = 'x' AND' at 11",
		"a = 'x' {pos}":      "bad filter 'a = 'x' {pos}' at 8", // values are not templates
	} {
		_, err := testGrammar.ParseFilter(in)
		if !errors.Is(err, invalid) || err.Error() != want {
			t.Errorf("%q: %v, want %q", in, err, want)
		}
	}
}

func TestGrammarOptions(t *testing.T) {
	g := *testGrammar
	g.Null, g.Backslash, g.FoldEntities = true, true, true
	got, err := g.ParseFilter(`TAGS.a IS NOT NULL and b IS NULL and c = 'x\'y'`)
	want := []Clause{{Kind: Tag, Key: "a", Op: "IS NOT NULL"}, {Kind: Attribute, Key: "b", Op: "IS NULL"}, {Kind: Attribute, Key: "c", Op: "=", Str: "x'y"}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v %v", got, err)
	}
}

func TestOrderBy(t *testing.T) {
	o, err := testGrammar.ParseOrderBy("metrics.`f 1` DESC")
	if err != nil || o != (OrderBy{Kind: Metric, Key: "f 1"}) {
		t.Fatalf("got %+v %v", o, err)
	}
	for in, want := range map[string]string{
		"a sideways": "Invalid ordering key in order_by clause 'a sideways'.",
		"a ASC b":    "Invalid order_by clause 'a ASC b'. Could not be parsed.",
		"x.y":        "order 'x.y': entity 'x' in 'x.y'",
	} {
		if _, err := testGrammar.ParseOrderBy(in); !errors.Is(err, invalid) || err.Error() != want {
			t.Errorf("%q: %v, want %q", in, err, want)
		}
	}
	key, asc, err := SplitOrderBy("`name` desc")
	if key != "name" || asc || err != nil {
		t.Fatalf("split: %q %v %v", key, asc, err)
	}
	for _, bad := range []string{"", "a b c", "a up"} {
		if _, _, err := SplitOrderBy(bad); !errors.Is(err, invalid) {
			t.Errorf("split %q: %v", bad, err)
		}
	}
}

func TestPageToken(t *testing.T) {
	if tok := PageToken(100); tok != "eyJvZmZzZXQiOiAxMDB9" {
		t.Fatalf("token %q differs from MLflow's", tok)
	}
	for _, tok := range []string{PageToken(7), base64.URLEncoding.EncodeToString([]byte(`{"offset":"7"}`))} {
		if n, err := testGrammar.DecodePageToken(tok); n != 7 || err != nil {
			t.Fatalf("%q: %d %v", tok, n, err)
		}
	}
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	for tok, want := range map[string]string{
		"%%%":                     `b64 "%%%"`,
		b64("[1]"):                "json [1]",
		b64(`{"offset":"x"}`):     "str x",
		b64(`{"offset":0}`):       `off {"offset":0}`,
		b64(`{"offset":-3}`):      `off {"offset":-3}`,
		b64(`{"offset":true}`):    `off {"offset":true}`,
		b64(`{"offset":1e300}`):   `off {"offset":1e300}`,
		b64(`{"nothing":"here"}`): `off {"nothing":"here"}`,
	} {
		if _, err := testGrammar.DecodePageToken(tok); !errors.Is(err, invalid) || err.Error() != want {
			t.Errorf("%q: %v, want %q", tok, err, want)
		}
	}
	g := *testGrammar
	g.ZeroToken = true
	if n, err := g.DecodePageToken(b64(`{"offset":0}`)); n != 0 || err != nil {
		t.Fatalf("zero token: %d %v", n, err)
	}
	if n, err := g.DecodePageToken(""); n != 0 || err != nil {
		t.Fatalf("empty token: %d %v", n, err)
	}
}

func TestPage(t *testing.T) {
	items, next := Page([]int{1, 2, 3}, 10, 2)
	if len(items) != 2 || next != PageToken(12) {
		t.Fatalf("%v %q", items, next)
	}
	if items, next := Page([]int{1, 2}, 0, 2); len(items) != 2 || next != "" {
		t.Fatalf("last page: %v %q", items, next)
	}
}

func TestSQL(t *testing.T) {
	for _, c := range []struct {
		d    db.Dialect
		cl   Clause
		cond string
		args []any
	}{
		{db.SQLite, Clause{Op: "ILIKE", Str: "a%"}, "LOWER(col) LIKE LOWER(?)", []any{"a%"}},
		{db.Postgres, Clause{Op: "ILIKE", Str: "a%"}, "col ILIKE ?", []any{"a%"}},
		{db.SQLite, Clause{Op: "LIKE", Str: "a%"}, "col LIKE ?", []any{"a%"}},
		{db.Postgres, Clause{Op: "NOT IN", List: []string{"x", "y"}}, "col NOT IN (?,?)", []any{"x", "y"}},
		{db.SQLite, Clause{Op: "!=", Str: "v"}, "col != ?", []any{"v"}},
	} {
		cond, args := Cond(c.d, "col", c.cl)
		if cond != c.cond || !reflect.DeepEqual(args, c.args) {
			t.Errorf("%v %+v: %q %v", c.d, c.cl, cond, args)
		}
	}
	var w Where
	if w.SQL() != "" {
		t.Fatal("empty where")
	}
	w.Add("a = ?", 1)
	w.Add("b IN ("+Placeholders(2)+")", Args([]string{"x", "y"})...)
	if w.SQL() != " WHERE a = ? AND b IN (?,?)" || len(w.Args) != 3 {
		t.Fatalf("%q %v", w.SQL(), w.Args)
	}
	var q Query
	q.Add("SELECT 1 WHERE x = ?", 5)
	if q.String() != "SELECT 1 WHERE x = ?" || !reflect.DeepEqual(q.Args, []any{5}) {
		t.Fatalf("%q %v", q.String(), q.Args)
	}
	if got := OrderSQL([]Order{{Col: "a", Asc: true}, {Col: "b"}}); got != " ORDER BY a ASC, b DESC" {
		t.Fatalf("%q", got)
	}
	if Placeholders(0) != "" {
		t.Fatal("placeholders(0)")
	}
}

func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{"tags.a = 'x' and metrics.m < 1", "b IN ('p','q')", "tags.`k` LIKE \"%v\"", "a = 'x", "x.y = 1"} {
		f.Add(s)
	}
	g := *testGrammar
	g.Null, g.Backslash, g.FoldEntities = true, true, true
	strict := *testGrammar
	strict.Strict = true
	f.Fuzz(func(t *testing.T, s string) {
		for _, gr := range []*Grammar{testGrammar, &g, &strict} {
			cl, err := gr.ParseFilter(s)
			if err != nil {
				if !errors.Is(err, invalid) || strings.Contains(err.Error(), "{") && !strings.Contains(s, "{") {
					t.Fatalf("%q: %v", s, err)
				}
				continue
			}
			for _, c := range cl {
				if c.Kind == "" || c.Op == "" || c.Key == "" && c.Kind != Attribute {
					t.Fatalf("%q: incomplete clause %+v", s, c)
				}
			}
			_, _ = gr.ParseOrderBy(s)
		}
	})
}

func FuzzDecodePageToken(f *testing.F) {
	for _, s := range []string{PageToken(3), "e30=", "%%", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		n, err := testGrammar.DecodePageToken(tok)
		if err != nil && !errors.Is(err, invalid) || err == nil && n < 0 {
			t.Fatalf("%q: %d %v", tok, n, err)
		}
	})
}

func TestStrict(t *testing.T) {
	g := *testGrammar
	g.Strict = true
	g.Messages = Messages{}.With("scan {word} at {pos}: {rest}", BadBang, BadNumber, BadChar, Unterminated)
	for in, want := range map[string]string{
		"a = 'x' and b ! 'y'":  "scan  at 14: ! 'y'",
		"a = 'x' and b = 1e":   `scan "1e" at 16: 1e`,
		"a = 'x' # and b = 'y": "scan '#' at 8: # and b = 'y", // the first bad token wins
		"a = 'x' and `b = 'y'": "scan  at 12: `b = 'y'",
		`"a" = 'x'`:            `bad filter '"a" = 'x'' at 0`, // a string is no name
		"1a = 'x'":             "bad filter '1a = 'x'' at 0",
		"and = 'x'":            "bad filter 'and = 'x'' at 0",
	} {
		_, err := g.ParseFilter(in)
		if !errors.Is(err, invalid) || err.Error() != want {
			t.Errorf("%q: %v, want %q", in, err, want)
		}
	}
	got, err := g.ParseFilter("tags.`a-b` = 'x' and c_1 != \"y\"")
	want := []Clause{{Kind: Tag, Key: "a-b", Op: "=", Str: "x"}, {Kind: Attribute, Key: "c_1", Op: "!=", Str: "y"}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v %v", got, err)
	}
}
