package serve

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// CPU pressure: the share of the time in which some task of the machine
// (or of the server's cgroup, in a container with cgroup v2) was ready to
// run but waited for a CPU, from Linux's pressure stall information. The
// server's own count of callers misses a CPU taken by something else, such
// as a load generator on the same machine, where a saturated server still
// often has a free slot; a mirror run then still delays a caller. Where
// the file is absent (not Linux, PSI disabled) there is no pressure
// signal and the count of callers alone decides (admit.go).

// Tuning of the pressure signal.
const (
	// pressureTick is how often the pressure is read.
	pressureTick = 100 * time.Millisecond
	// pressureHigh is the share of a tick with some task waiting for a
	// CPU above which the CPUs count as short.
	pressureHigh = 0.2
)

// pressure follows the CPU pressure.
type pressure struct {
	// read returns the cumulative time some task waited for a CPU.
	read   func() (time.Duration, error)
	last   time.Duration
	lastAt time.Time
	// high is set while the last tick's pressure was above pressureHigh.
	high atomic.Bool
}

// newPressure follows the pressure file of the server's cgroup, or the
// machine's; nil when neither can be read.
func newPressure() *pressure {
	for _, path := range pressureFiles() {
		p := &pressure{read: func() (time.Duration, error) { return readPressure(path) }}
		if total, err := p.read(); err == nil {
			p.last, p.lastAt = total, time.Now()
			return p
		}
	}
	return nil
}

// pressureFiles are the CPU pressure files to try, the cgroup's first.
func pressureFiles() []string {
	var files []string
	if b, err := os.ReadFile("/proc/self/cgroup"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if rest, ok := strings.CutPrefix(line, "0::"); ok && rest != "/" && !strings.Contains(rest, "..") {
				files = append(files, filepath.Join("/sys/fs/cgroup", rest, "cpu.pressure"))
			}
		}
	}
	return append(files, "/proc/pressure/cpu")
}

// readPressure reads the "some" total of a PSI file.
func readPressure(path string) (time.Duration, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return parsePressure(b)
}

// parsePressure reads the "some" line's total (microseconds) of a PSI
// file: "some avg10=0.00 avg60=0.00 avg300=0.00 total=12345".
func parsePressure(b []byte) (time.Duration, error) {
	for _, line := range bytes.Split(b, []byte("\n")) {
		rest, ok := bytes.CutPrefix(line, []byte("some "))
		if !ok {
			continue
		}
		for _, f := range strings.Fields(string(rest)) {
			if v, ok := strings.CutPrefix(f, "total="); ok {
				us, err := strconv.ParseInt(v, 10, 64)
				if err != nil || us < 0 {
					return 0, errors.New("serve: a malformed CPU pressure total")
				}
				return time.Duration(us) * time.Microsecond, nil
			}
		}
	}
	return 0, errors.New("serve: no CPU pressure total")
}

// tick reads the pressure at now and sets high from the share of the
// time since the last tick in which some task waited for a CPU; a failed
// read clears it.
func (p *pressure) tick(now time.Time) {
	total, err := p.read()
	if err != nil {
		p.high.Store(false)
		return
	}
	wall := now.Sub(p.lastAt)
	if wall > 0 {
		p.high.Store(float64(total-p.last) > pressureHigh*float64(wall))
	}
	p.last, p.lastAt = total, now
}

// run ticks until done.
func (p *pressure) run(done <-chan struct{}) {
	t := time.NewTicker(pressureTick)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case now := <-t.C:
			p.tick(now)
		}
	}
}

// short says whether the CPUs were short at the last tick (false without
// a pressure signal).
func (p *pressure) short() bool { return p != nil && p.high.Load() }
