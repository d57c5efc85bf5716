package serve

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

func TestReadAllSized(t *testing.T) {
	body := []byte(strings.Repeat("0123456789", 1000))
	for _, c := range []struct {
		name string
		size int64
	}{{"exact", 10000}, {"unknown", -1}, {"announced shorter", 100}, {"announced longer", 20000}} {
		got, err := readAllSized(iotest.HalfReader(bytes.NewReader(body)), c.size)
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("%s: %d bytes, %v", c.name, len(got), err)
		}
	}
	if got, err := readAllSized(iotest.ErrReader(io.ErrUnexpectedEOF), 10); !errors.Is(err, io.ErrUnexpectedEOF) || len(got) != 0 {
		t.Fatalf("a failing body: %q %v", got, err)
	}
	// the announced length is allocated once
	allocs := testing.AllocsPerRun(20, func() { _, _ = readAllSized(bytes.NewReader(body), int64(len(body))) })
	if allocs > 2 {
		t.Fatalf("%v allocations reading a body of known length, want at most 2", allocs)
	}
}

// A request of ReleaseBytes or more (body or answer) hands the free heap
// back once it ended; smaller ones do not.
func TestOutsizedRequestReleasesMemory(t *testing.T) {
	s, ts := newTestServer(t, &echo{}, nil, func(o *Options) { o.ReleaseBytes = 64 << 10 })
	small := `{"inputs": [1, 2, 3]}`
	if code, _, _ := post(t, ts.URL+"/invocations", "application/json", small); code != http.StatusOK {
		t.Fatalf("small request: %d", code)
	}
	time.Sleep(700 * time.Millisecond)
	if n := s.release.Runs(); n != 0 {
		t.Fatalf("%d releases after a small request", n)
	}
	big := `{"inputs": [` + strings.Repeat("1.5, ", 20000) + `1]}`
	if code, _, _ := post(t, ts.URL+"/invocations", "application/json", big); code != http.StatusOK {
		t.Fatalf("large request: %d", code)
	}
	deadline := time.Now().Add(5 * time.Second)
	for s.release.Runs() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := s.release.Runs(); n != 1 {
		t.Fatalf("%d releases after a %d-byte request, want 1", n, len(big))
	}
}

// Parsers go back to the pool without views of the document, and not at
// all when a document grew their stacks past maxPooledStack values.
func TestParserPoolKeepsNoDocument(t *testing.T) {
	huge := `{"columns": ["` + strings.Repeat("a", 1<<20) + `"], "data": [` + strings.Repeat("[1],", 2*maxPooledStack) + `[1]]}`
	for _, doc := range []string{`{"columns": ["` + strings.Repeat("a", 1<<20) + `"], "data": [[1]]}`, huge} {
		if _, err := parseJSON([]byte(doc)); err != nil {
			t.Fatal(err)
		}
		for range 4 {
			p := parsers.Get().(*parser)
			if cap(p.stack) > maxPooledStack || cap(p.names) > maxPooledStack {
				t.Fatalf("a pooled parser holds stacks of %d and %d values", cap(p.stack), cap(p.names))
			}
			if p.data != nil || p.src != "" {
				t.Fatal("a pooled parser still points at its document")
			}
			for _, n := range p.names[:cap(p.names)] {
				if n != "" {
					t.Fatalf("a pooled parser keeps the name %.20q…", n)
				}
			}
			for _, v := range p.stack[:cap(p.stack)] {
				if v.s != "" || v.num != "" || v.keys != nil || v.arr != nil {
					t.Fatal("a pooled parser keeps a value of its document")
				}
			}
		}
	}
}
