package conns

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"
)

func serve(t *testing.T, f *Fresh) (*http.Server, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{
		Handler:           http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) }),
		ConnState:         f.ConnState,
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() { _ = hs.Close() })
	return hs, ln.Addr().String()
}

// TestShutdownClosesConnectionsWithoutRequest: a connection that sent
// nothing is closed within a few Grace periods instead of holding the
// shutdown for 5 s, while a request sent right after connecting is served.
func TestShutdownClosesConnectionsWithoutRequest(t *testing.T) {
	var f Fresh
	hs, addr := serve(t, &f)
	silent, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	prompt, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer prompt.Close()
	if _, err := prompt.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(prompt), nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("request right after connecting: %v %v", resp, err)
	}
	_ = resp.Body.Close()
	for deadline := time.Now().Add(2 * time.Second); f.n.Load() != 1; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d fresh connections tracked, want the silent one", f.n.Load())
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	if err := f.Shutdown(ctx, hs); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("shutdown took %v with a connection that sent nothing", took)
	}
	_ = silent.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := silent.Read(make([]byte, 1)); !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("silent connection: read %v, want it closed", err)
	}
	if n := f.n.Load(); n != 0 {
		t.Fatalf("%d connections still tracked", n)
	}
}

func TestRemoveWithoutFreshTakesNothing(t *testing.T) {
	var f Fresh
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	f.ConnState(a, http.StateActive) // never tracked: no effect
	f.ConnState(a, http.StateNew)
	f.ConnState(b, http.StateNew)
	f.ConnState(a, http.StateActive)
	if f.n.Load() != 1 {
		t.Fatalf("%d tracked after one became active, want 1", f.n.Load())
	}
	f.ConnState(b, http.StateHijacked)
	if f.n.Load() != 0 {
		t.Fatalf("%d tracked after the other was hijacked, want 0", f.n.Load())
	}
}
