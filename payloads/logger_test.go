package payloads

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func rec(i int) Record {
	return Record{Time: time.UnixMilli(1_700_000_000_000 + int64(i)), Model: "m", Version: "3", Route: "/invocations",
		Status: 200, Latency: 1500 * time.Microsecond, Request: []byte(`{"inputs":[[1,2]]}`), Response: []byte(`{"predictions":[3]}`)}
}

// readLines decodes every record of the .jsonl files in dir.
func readLines(t *testing.T, paths ...string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 8<<20)
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				t.Fatalf("%s: %v: %q", p, err, sc.Text())
			}
			out = append(out, m)
		}
		_ = f.Close()
	}
	return out
}

// collector is an Upload that moves files aside.
type collector struct {
	mu    sync.Mutex
	dir   string
	files []string
	fail  error
}

func (c *collector) upload(_ context.Context, p string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail != nil {
		return c.fail
	}
	dst := filepath.Join(c.dir, filepath.Base(p))
	b, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	c.files = append(c.files, dst)
	return os.WriteFile(dst, b, 0o600)
}

func TestSampleShare(t *testing.T) {
	for _, share := range []float64{0, 0.1, 0.5, 1} {
		l, err := New(Options{Dir: t.TempDir(), Sample: share})
		if err != nil {
			t.Fatal(err)
		}
		const n = 100_000
		k := 0
		for range n {
			if l.Sample() {
				k++
			}
		}
		got := float64(k) / n
		// 5 standard deviations of a binomial share
		if tol := 5 * math.Sqrt(share*(1-share)/n); math.Abs(got-share) > tol {
			t.Errorf("share %g: sampled %g", share, got)
		}
		_ = l.Close(context.Background())
	}
	for _, bad := range []float64{-0.1, 1.5} {
		if _, err := New(Options{Dir: t.TempDir(), Sample: bad}); err == nil {
			t.Errorf("sample %g accepted", bad)
		}
	}
}

func TestWriteUploadAndFields(t *testing.T) {
	c := &collector{dir: t.TempDir()}
	dir := t.TempDir()
	l, err := New(Options{Dir: dir, Sample: 1, Upload: c.upload})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		l.Add(rec(i))
	}
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	rs := readLines(t, c.files...)
	if len(rs) != 10 {
		t.Fatalf("%d records uploaded, want 10", len(rs))
	}
	r := rs[3]
	want := map[string]any{"timestamp_ms": 1_700_000_000_003.0, "model_name": "m", "model_version": "3", "route": "/invocations",
		"status_code": 200.0, "latency_ms": 1.5, "sampling_fraction": 1.0, "request": `{"inputs":[[1,2]]}`,
		"request_truncated": false, "response": `{"predictions":[3]}`, "response_truncated": false}
	if len(r) != len(want) {
		t.Errorf("record %v has %d columns, want %d", r, len(r), len(want))
	}
	for k, v := range want {
		if r[k] != v {
			t.Errorf("%s = %v, want %v", k, r[k], v)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*.jsonl")); len(left) != 0 {
		t.Errorf("uploaded files left behind: %v", left)
	}
}

// Records added one at a time (a batch each) or all at once (one batch)
// land in files cut at the first line past their size, in order.
func TestRotationBySize(t *testing.T) {
	for _, spaced := range []bool{true, false} {
		c := &collector{dir: t.TempDir()}
		l, err := New(Options{Dir: t.TempDir(), Sample: 1, RotateBytes: 1000, Upload: c.upload})
		if err != nil {
			t.Fatal(err)
		}
		for i := range 50 {
			l.Add(rec(i))
			if spaced {
				time.Sleep(100 * time.Microsecond)
			}
		}
		if err := l.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		// a record line is ~250 bytes: 4 a file
		if len(c.files) < 10 {
			t.Fatalf("spaced %v: %d files for 50 records rotated at 1000 bytes", spaced, len(c.files))
		}
		for _, f := range c.files[:len(c.files)-1] {
			st, _ := os.Stat(f)
			if st.Size() < 1000 || st.Size() > 1500 {
				t.Errorf("spaced %v: %s: %d bytes, rotation at 1000", spaced, f, st.Size())
			}
		}
		rs := readLines(t, c.files...)
		if len(rs) != 50 {
			t.Fatalf("spaced %v: %d records, want 50", spaced, len(rs))
		}
		for i, r := range rs {
			if r["timestamp_ms"] != float64(1_700_000_000_000+i) {
				t.Fatalf("spaced %v: record %d: %v (out of order or lost)", spaced, i, r["timestamp_ms"])
			}
		}
	}
}

func TestRotationByTime(t *testing.T) {
	c := &collector{dir: t.TempDir()}
	l, err := New(Options{Dir: t.TempDir(), Sample: 1, RotateInterval: 100 * time.Millisecond, Upload: c.upload})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(context.Background())
	l.Add(rec(0))
	deadline := time.Now().Add(5 * time.Second)
	for {
		c.mu.Lock()
		n := len(c.files)
		c.mu.Unlock()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the file was not rotated and uploaded after its interval")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := len(readLines(t, c.files...)); n != 1 {
		t.Errorf("%d records, want 1", n)
	}
}

func TestExclude(t *testing.T) {
	c := &collector{dir: t.TempDir()}
	l, err := New(Options{Dir: t.TempDir(), Sample: 1, Exclude: []string{"request", " response", "model_name"}, Upload: c.upload})
	if err != nil {
		t.Fatal(err)
	}
	l.Add(rec(0))
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	rs := readLines(t, c.files...)
	if len(rs) != 1 {
		t.Fatalf("%d records", len(rs))
	}
	for _, k := range []string{"request", "request_truncated", "response", "response_truncated", "model_name"} {
		if _, ok := rs[0][k]; ok {
			t.Errorf("excluded column %s written", k)
		}
	}
	if rs[0]["status_code"] != 200.0 || rs[0]["model_version"] != "3" {
		t.Errorf("kept columns lost: %v", rs[0])
	}
	for _, bad := range [][]string{{"nope"}, {"timestamp_ms"}, {"request_truncated"}} {
		if _, err := New(Options{Dir: t.TempDir(), Exclude: bad}); err == nil || !strings.Contains(err.Error(), bad[0]) {
			t.Errorf("exclude %v: %v", bad, err)
		}
	}
}

func TestTruncation(t *testing.T) {
	c := &collector{dir: t.TempDir()}
	l, err := New(Options{Dir: t.TempDir(), Sample: 1, MaxBody: 8, Upload: c.upload})
	if err != nil {
		t.Fatal(err)
	}
	r := rec(0)
	r.Response = []byte("short")
	l.Add(r)
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	rs := readLines(t, c.files...)
	if rs[0]["request"] != `{"inputs` || rs[0]["request_truncated"] != true {
		t.Errorf("request %q truncated %v", rs[0]["request"], rs[0]["request_truncated"])
	}
	if rs[0]["response"] != "short" || rs[0]["response_truncated"] != false {
		t.Errorf("response %q truncated %v", rs[0]["response"], rs[0]["response_truncated"])
	}
}

func TestFullQueueDropsWithoutBlocking(t *testing.T) {
	reg := prometheus.NewRegistry()
	l, err := New(Options{Dir: t.TempDir(), Sample: 1, Queue: 4, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	l.hold = func() { <-release } // the writer is stuck (a slow disk)
	done := make(chan struct{})
	go func() {
		for i := range 1000 {
			l.Add(rec(i))
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Add blocked behind a stuck writer")
	}
	// at most the queue and the one record held by the writer got through
	if d := l.Dropped(); d < 1000-5 {
		t.Errorf("%d dropped, want at least 995", d)
	}
	if got := testutil.ToFloat64(l.dropped.WithLabelValues(ReasonQueueFull)); uint64(got) != l.Dropped() {
		t.Errorf("counter %g, Dropped %d", got, l.Dropped())
	}
	close(release)
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(l.logged); got+float64(l.Dropped()) != 1000 {
		t.Errorf("logged %g + dropped %d != 1000", got, l.Dropped())
	}
}

func TestBacklogBoundWhenUploadFails(t *testing.T) {
	c := &collector{dir: t.TempDir(), fail: errors.New("tracking down")}
	dir := t.TempDir()
	l, err := New(Options{Dir: dir, Sample: 1, RotateBytes: 1, MaxPending: 3, Upload: c.upload, RetryInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		l.Add(rec(i)) // one file each
		time.Sleep(2 * time.Millisecond)
	}
	err = l.Close(context.Background())
	if err == nil || !strings.Contains(err.Error(), "tracking down") {
		t.Fatalf("close: %v", err)
	}
	left, _ := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	if len(left) != 3 || len(l.Pending()) != 3 {
		t.Fatalf("%d files kept (%d pending), want the bound 3", len(left), len(l.Pending()))
	}
	if l.Dropped() != 7 {
		t.Errorf("%d records dropped, want 7", l.Dropped())
	}
	if n := len(readLines(t, left...)); n != 3 {
		t.Errorf("%d records kept", n)
	}
}

// Bodies of any bytes come out as JSON strings that decode to the same
// text (invalid UTF-8 as U+FFFD), as encoding/json writes them.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", `{"a":"b\\"c"}`, "tab\there\nnl\x00\x1f", "h\xffé€😀", "\xed\xa0\x80"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, s []byte) {
		got := appendString(nil, s)
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("%q encoded as %s: %v", s, got, err)
		}
		want, _ := json.Marshal(string(s))
		var wantBack string
		_ = json.Unmarshal(want, &wantBack)
		if back != wantBack {
			t.Fatalf("%q decodes to %q, encoding/json's to %q", s, back, wantBack)
		}
	})
}

// appendString's fast path (room for twice the text, stored byte by
// byte) and its slow one (from the first \u escape or invalid byte on)
// write the same escapes, wherever the switch happens.
func TestAppendStringEscapes(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", `""`},
		{`{"a": [1, 2.5]}`, `"{\"a\": [1, 2.5]}"`},
		{"back\\slash\ttab\nnl\rcr", `"back\\slash\ttab\nnl\rcr"`},
		{"é€😀", `"é€😀"`},
		{"\x00\x1f", `"\u0000\u001f"`},
		{`"q"` + "\x01" + `"q"é`, `"\"q\"\u0001\"q\"é"`},
		{"ok\xffé\"", `"ok\ufffdé\""`},
		{"\xed\xa0\x80", `"\ufffd\ufffd\ufffd"`},
		{"\xef\xbf\xbd", "\"\xef\xbf\xbd\""}, // U+FFFD itself, valid
		{strings.Repeat(`"`, 100) + "\x02", `"` + strings.Repeat(`\"`, 100) + `\u0002"`},
	} {
		if got := string(appendString([]byte("x"), []byte(c.in))); got != "x"+c.want {
			t.Errorf("[]byte %q: %s, want %s", c.in, got, c.want)
		}
		if got := string(appendString(nil, c.in)); got != c.want {
			t.Errorf("string %q: %s, want %s", c.in, got, c.want)
		}
	}
}

// Latencies are written as strconv would write the float milliseconds.
func TestAppendMillis(t *testing.T) {
	for _, us := range []int64{0, 1, 7, 10, 100, 999, 1000, 1001, 1500, 1230, 2000, 123456789, 9_000_000_000} {
		want := strconv.AppendFloat(nil, float64(us)/1000, 'f', -1, 64)
		if got := appendMillis(nil, us); string(got) != string(want) {
			t.Errorf("%d µs: %s, want %s", us, got, want)
		}
	}
}

// Add keeps what it needs before it returns: the caller's buffers are
// free for its next request at once.
func TestAddKeepsACopy(t *testing.T) {
	c := &collector{dir: t.TempDir()}
	l, err := New(Options{Dir: t.TempDir(), Sample: 1, Upload: c.upload})
	if err != nil {
		t.Fatal(err)
	}
	req, resp := []byte(`{"inputs":[[1,2]]}`), []byte(`{"predictions":[3]}`)
	r := rec(0)
	r.Request, r.Response = req, resp
	l.Add(r)
	copy(req, "XXXXXXXXXXXXXXXXXX")
	copy(resp, "YYYYYYYYYYYYYYYYYYY")
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	rs := readLines(t, c.files...)
	if len(rs) != 1 || rs[0]["request"] != `{"inputs":[[1,2]]}` || rs[0]["response"] != `{"predictions":[3]}` {
		t.Fatalf("records %v", rs)
	}
}

// The queue holds at most QueueBytes of bodies (raised to room for one
// record of two full bodies): beyond, records are dropped and counted.
func TestQueueBytesBound(t *testing.T) {
	c := &collector{dir: t.TempDir()}
	l, err := New(Options{Dir: t.TempDir(), Sample: 1, MaxBody: 500, QueueBytes: 100, Upload: c.upload})
	if err != nil {
		t.Fatal(err)
	}
	if l.o.QueueBytes != 1000 {
		t.Fatalf("QueueBytes %d, want 2×MaxBody", l.o.QueueBytes)
	}
	release := make(chan struct{})
	l.hold = func() { <-release } // the writer is stuck
	big := rec(0)
	big.Request, big.Response = []byte(strings.Repeat("x", 600)), []byte(strings.Repeat("y", 600))
	l.Add(big) // cut to 500 + 500
	if l.Dropped() != 0 || l.q.bytes.Load() != 1000 {
		t.Fatalf("a record of two full bodies: %d dropped, %d bytes queued", l.Dropped(), l.q.bytes.Load())
	}
	for i := range 100 {
		r := rec(i)
		r.Request = []byte(strings.Repeat("z", 300))
		l.Add(r)
	}
	if l.Dropped() != 100 {
		t.Errorf("%d of 100 dropped behind a full queue", l.Dropped())
	}
	close(release)
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	rs := readLines(t, c.files...)
	if len(rs) != 1 || rs[0]["request"] != strings.Repeat("x", 500) || rs[0]["request_truncated"] != true {
		t.Fatalf("%d records written", len(rs))
	}
	// with room again, records of 319 bytes of bodies: 3 fit in 1000
	l, err = New(Options{Dir: t.TempDir(), Sample: 1, MaxBody: 500, QueueBytes: 1000})
	if err != nil {
		t.Fatal(err)
	}
	release = make(chan struct{})
	l.hold = func() { <-release }
	for i := range 100 {
		r := rec(i)
		r.Request = []byte(strings.Repeat("z", 300))
		l.Add(r)
	}
	if n := l.q.bytes.Load(); n != 3*319 || l.Dropped() != 97 {
		t.Errorf("%d bytes queued, %d dropped; want 3 records of 319 bytes", n, l.Dropped())
	}
	close(release)
	_ = l.Close(context.Background())
	if l.Logged() != 3 {
		t.Errorf("%d logged", l.Logged())
	}
}
