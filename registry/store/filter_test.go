package store

import (
	"errors"
	"fmt"
	"testing"
)

func TestParseFilter(t *testing.T) {
	cases := []struct {
		in   string
		want string
	}{
		{"", "[]"},
		{"name = 'a'", "[{attribute name = a 0 false []}]"},
		{`name="a b"`, "[{attribute name = a b 0 false []}]"},
		{"name LIKE 'a%' and tags.`my-tag` != 'x''y'", "[{attribute name LIKE a% 0 false []} {tag my-tag != x'y 0 false []}]"},
		{"run_id IN ('a', 'b') AND version_number >= 2", "[{attribute run_id IN  0 false [a b]} {attribute version_number >= 2 2 true []}]"},
		{"name not in ('a')", "[{attribute name NOT IN  0 false [a]}]"},
		{`tags."a.b" ilike '%x%'`, "[{tag a.b ILIKE %x% 0 false []}]"},
		{"attribute.name <> 'a'", "[{attribute name != a 0 false []}]"},
	}
	for _, c := range cases {
		got, err := ParseFilter(c.in)
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		if s := fmt.Sprint(got); (len(got) == 0 && c.want != "[]") || (len(got) > 0 && s != c.want) {
			t.Errorf("%q: %s, want %s", c.in, s, c.want)
		}
	}
	for _, bad := range []string{"name", "name =", "name = 'a' or name = 'b'", "= 'a'", "name = 'a", "metrics.x > 1 and",
		"name IN ()", "name IN ('a'", "params.x = 'a'", "name ! 'a'", "name = 'a' name = 'b'", "and name = 'a'"} {
		if _, err := ParseFilter(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("%q: err %v, want INVALID_PARAMETER_VALUE", bad, err)
		}
	}
}

func TestParseModelURI(t *testing.T) {
	cases := map[string]ModelURI{
		"models:/m/3":          {Name: "m", Version: "3"},
		"models:/m/Production": {Name: "m", Stage: "Production"},
		"models:/m/LATEST":     {Name: "m"},
		"models:/m@champ":      {Name: "m", Alias: "champ"},
		"models:/m-0123abc":    {ModelID: "m-0123abc"},
	}
	for in, want := range cases {
		got, err := ParseModelURI(in)
		if err != nil || got != want {
			t.Errorf("%q: %+v %v, want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"models:/", "models:/a/b/c", "models:/m/ ", "runs:/x/y", "models:/m@", "models:/ /1"} {
		if _, err := ParseModelURI(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestPageToken(t *testing.T) {
	if tok := PageToken(100); tok != "eyJvZmZzZXQiOiAxMDB9" {
		t.Fatalf("token %q differs from MLflow's", tok)
	}
	if n, err := ParsePageToken(PageToken(7)); err != nil || n != 7 {
		t.Fatalf("round trip %d %v", n, err)
	}
	for _, bad := range []string{"garbage", "e30=", "eyJvZmZzZXQiOiAwfQ=="} {
		if _, err := ParsePageToken(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestSourceTraversal(t *testing.T) {
	for _, bad := range []string{"s3://b/../x", "s3://b/a/..", "http://h/api/2.0/mlflow-artifacts/artifacts/%2e%2e/x",
		"s3://b/x%2500", "s3://b", "s3://b/./x", "mlflow-artifacts:/a/%252e%252e/b",
		// an invalid escape elsewhere does not stop the decoding (found by the long fuzz pass)
		"/%250/%2e%252e", "s3://b/%zz/%2e%2e/x"} {
		if err := checkNoTraversal(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	for _, good := range []string{"s3://b/x", "runs:/abc/model", "models:/m/1", "gs://b/a/b/c/"} {
		if err := checkNoTraversal(good); err != nil {
			t.Errorf("%q: %v", good, err)
		}
	}
}

func TestAliasAndNameRules(t *testing.T) {
	for _, ok := range []string{"champ", "a-b_c", "v1x", "version2"} {
		if err := ValidateAlias(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
		if err := validateAliasReserved(ok); err != nil {
			t.Errorf("%q reserved: %v", ok, err)
		}
	}
	for _, bad := range []string{"latest", "Latest", "v1", "V12"} {
		if err := validateAliasReserved(bad); err == nil {
			t.Errorf("%q not reserved", bad)
		}
	}
	long := make([]byte, 256)
	for i := range long {
		long[i] = 'a'
	}
	for _, bad := range []string{"", "a b", "a.b", string(long)} {
		if err := ValidateAlias(bad); err == nil {
			t.Errorf("alias %q accepted", bad)
		}
	}
	for _, bad := range []string{"", " ", "a/b", "a:b", "..", "."} {
		if err := ValidateModelName(bad); err == nil {
			t.Errorf("name %q accepted", bad)
		}
	}
}

func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{"name = 'a'", "tags.`x y` LIKE '%a' AND version_number > 3", "run_id NOT IN ('a','b')", `name="x"`, "a = -1.5e3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cl, err := ParseFilter(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("%q: error without INVALID_PARAMETER_VALUE: %v", s, err)
			}
			return
		}
		for _, c := range cl {
			if c.Op == "" || (c.Kind != "attribute" && c.Kind != "tag") {
				t.Fatalf("%q: bad clause %+v", s, c)
			}
		}
	})
}

func FuzzParseModelURI(f *testing.F) {
	for _, s := range []string{"models:/m/1", "models:/m@a", "models:/m-abc", "models:/m/Staging", "models://h/m/1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseModelURI(s)
		if err != nil {
			return
		}
		if u.ModelID == "" && u.Name == "" {
			t.Fatalf("%q parsed to nothing", s)
		}
	})
}

func FuzzCheckNoTraversal(f *testing.F) {
	for _, s := range []string{"s3://b/x", "s3://b/../x", "http://h/%2e%2e/x", "runs:/r/m"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if checkNoTraversal(s) == nil {
			_, _, parts := uriParts(s)
			for _, p := range parts {
				if p == ".." {
					t.Fatalf("%q accepted with a .. segment", s)
				}
			}
		}
	})
}
