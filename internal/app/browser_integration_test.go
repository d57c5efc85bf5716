//go:build integration

package app

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// browser is a headless Chromium (from apt: chromium) driven over the
// DevTools protocol, recording every console error, uncaught exception
// and failed resource load of the pages it opens.
type browser struct {
	t   *testing.T
	ctx context.Context
	out string

	mu   sync.Mutex
	errs []string
}

// chromiumPath finds the system browser or fails the test clearly.
func chromiumPath(t testing.TB) string {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("chromium is not installed: the web UI tests need it (apt-get install -y chromium; .ci/run installs it)")
	return ""
}

// testOut is where screenshots go: $MLGATE_TEST_OUT/<test> or a temp dir.
func testOut(t *testing.T) string {
	dir := t.TempDir()
	if base := os.Getenv("MLGATE_TEST_OUT"); base != "" {
		dir = filepath.Join(base, t.Name())
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// newBrowser starts Chromium with a viewport of width x height; user and
// password, when set, go in an Authorization header on every request.
func newBrowser(t *testing.T, width, height int, user, password string) *browser {
	t.Helper()
	// The profile is removed by the cleanup below, not by t.TempDir:
	// Chromium's helper processes may still write to it for a moment after
	// the browser is gone, and TempDir fails the test when it cannot
	// remove a folder at once.
	profile, err := os.MkdirTemp("", "mlgate-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)), chromedp.NoSandbox, chromedp.WindowSize(width, height),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.UserDataDir(profile))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelB := chromedp.NewContext(actx)
	ctx, cancelC := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(func() {
		cancelC()
		cancelB()
		cancelA()
		for range 50 {
			if os.RemoveAll(profile) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Logf("chromium profile %s left behind", profile)
	})
	b := &browser{t: t, ctx: ctx, out: testOut(t)}
	chromedp.ListenTarget(ctx, func(ev any) {
		switch e := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.APITypeError || e.Type == runtime.APITypeAssert {
				var parts []string
				for _, a := range e.Args {
					parts = append(parts, string(a.Value)+a.Description)
				}
				b.record("console." + string(e.Type) + ": " + strings.Join(parts, " "))
			}
		case *runtime.EventExceptionThrown:
			msg := e.ExceptionDetails.Text
			if e.ExceptionDetails.Exception != nil {
				msg += " " + e.ExceptionDetails.Exception.Description
			}
			b.record("exception: " + msg)
		case *cdplog.EventEntryAdded:
			if e.Entry.Level == cdplog.LevelError {
				b.record("log: " + e.Entry.Text + " " + e.Entry.URL)
			}
		}
	})
	actions := []chromedp.Action{runtime.Enable(), cdplog.Enable(), network.Enable()}
	if user != "" {
		cred := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
		actions = append(actions, network.SetExtraHTTPHeaders(network.Headers{"Authorization": "Basic " + cred}))
	}
	if err := chromedp.Run(ctx, actions...); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return b
}

func (b *browser) record(s string) {
	b.mu.Lock()
	b.errs = append(b.errs, s)
	b.mu.Unlock()
}

// takeErrors returns the errors recorded since the last call.
func (b *browser) takeErrors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.errs
	b.errs = nil
	return e
}

// run runs actions, failing the test with what failed.
func (b *browser) run(what string, actions ...chromedp.Action) {
	b.t.Helper()
	if err := chromedp.Run(b.ctx, actions...); err != nil {
		b.shot("failed-" + strings.ReplaceAll(what, " ", "-"))
		b.t.Fatalf("%s: %v (console: %v)", what, err, b.takeErrors())
	}
}

// open navigates to url, waits for sel to be visible and checks the page
// logged no error.
func (b *browser) open(url, sel string) {
	b.t.Helper()
	b.run("open "+url, chromedp.Navigate(url), chromedp.WaitVisible(sel, chromedp.ByQuery))
	b.noErrors(url)
}

func (b *browser) noErrors(where string) {
	b.t.Helper()
	if errs := b.takeErrors(); len(errs) > 0 {
		b.t.Errorf("%s: console errors:\n%s", where, strings.Join(errs, "\n"))
	}
}

// eval evaluates a JS expression into out.
func (b *browser) eval(expr string, out any) {
	b.t.Helper()
	b.run("eval "+expr, chromedp.Evaluate(expr, out))
}

// waitTrue polls a JS expression until it is true.
func (b *browser) waitTrue(expr string) {
	b.t.Helper()
	b.run("wait for "+expr, chromedp.Poll(expr, nil, chromedp.WithPollingTimeout(15*time.Second)))
}

// shot saves a PNG of the viewport as name.png in the test's output.
func (b *browser) shot(name string) string {
	var png []byte
	if err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot(&png)); err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return ""
	}
	p := filepath.Join(b.out, name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
	}
	return p
}

// count is the number of elements matching a CSS selector.
func (b *browser) count(sel string) int {
	b.t.Helper()
	var n int
	b.eval(fmt.Sprintf("document.querySelectorAll(%q).length", sel), &n)
	return n
}
