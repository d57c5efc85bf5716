package artifacts

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
)

func TestProgressLogsWhenNotATerminal(t *testing.T) {
	var logs, out bytes.Buffer
	p := &fakeProxy{files: modelFiles()}
	repo := newProxy(t, p)
	o := DownloadOptions{Logger: slog.New(slog.NewTextHandler(&logs, nil)), Progress: &out}
	if _, err := (&Cache{Dir: t.TempDir()}).Fetch(context.Background(), repo, "", o); err != nil {
		t.Fatal(err)
	}
	if out.Len() != 0 {
		t.Fatalf("a progress bar was drawn on a non-terminal: %q", out.String())
	}
	if !strings.Contains(logs.String(), "downloaded artifacts") || !strings.Contains(logs.String(), "files=4") {
		t.Fatalf("no summary log line: %s", logs.String())
	}
}

func TestHuman(t *testing.T) {
	for n, want := range map[int64]string{5: "5B", 2048: "2.0KB", 3 << 20: "3.0MB", 5 << 30: "5.0GB"} {
		if got := human(n); got != want {
			t.Errorf("human(%d) = %q, want %q", n, got, want)
		}
	}
}
