package serve

import (
	"errors"
	"os"
	"testing"
	"time"
)

func TestParsePressure(t *testing.T) {
	got, err := parsePressure([]byte("some avg10=7.00 avg60=16.87 avg300=31.44 total=22094792632\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"))
	if want := 22094792632 * time.Microsecond; err != nil || got != want {
		t.Errorf("parsePressure = %v, %v; want %v", got, err, want)
	}
	for _, bad := range []string{"", "full avg10=0.00 total=5\n", "some avg10=1.00\n", "some total=x\n", "some total=-4\n"} {
		if _, err := parsePressure([]byte(bad)); err == nil {
			t.Errorf("parsePressure(%q) took it", bad)
		}
	}
}

// The CPUs count as short while some task waited for one more than
// pressureHigh of the time since the last tick, and not after a failed
// read.
func TestPressureTick(t *testing.T) {
	var total time.Duration
	var fail error
	at := time.Unix(1000, 0)
	p := &pressure{read: func() (time.Duration, error) { return total, fail }, lastAt: at}
	for _, step := range []struct {
		waited time.Duration
		fail   error
		short  bool
	}{
		{waited: 5 * time.Millisecond},
		{waited: 30 * time.Millisecond, short: true},
		{waited: 100 * time.Millisecond, short: true},
		{waited: 10 * time.Millisecond},
		{waited: 50 * time.Millisecond, fail: errors.New("gone")},
		{waited: 25 * time.Millisecond, short: true},
	} {
		total += step.waited
		fail = step.fail
		at = at.Add(pressureTick)
		p.tick(at)
		if p.short() != step.short {
			t.Fatalf("after %v waited in %v (read error %v): short %v, want %v", step.waited, pressureTick, step.fail, p.short(), step.short)
		}
	}
	if (*pressure)(nil).short() {
		t.Error("no pressure signal counts as short")
	}
}

// Where the machine has a pressure file, the server follows it.
func TestNewPressureReadsTheMachine(t *testing.T) {
	if _, err := os.Stat("/proc/pressure/cpu"); err != nil {
		t.Skip("no /proc/pressure/cpu on this machine")
	}
	p := newPressure()
	if p == nil {
		t.Fatal("newPressure found no file to read")
	}
	if _, err := p.read(); err != nil {
		t.Fatal(err)
	}
}
