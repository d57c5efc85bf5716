//go:build linux

package memtrim

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// Trim drops the resident pages of read-only executable file mappings
// (code never written, so dropping it loses nothing) and returns how many
// bytes of mappings it advised.
func Trim() (int64, error) {
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return 0, err
	}
	var total int64
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		lo, hi, ok := codeMapping(sc.Text())
		if !ok {
			continue
		}
		n := hi - lo
		if _, _, e := syscall.Syscall(syscall.SYS_MADVISE, lo, n, syscall.MADV_DONTNEED); e != 0 {
			return total, e
		}
		if _, _, e := syscall.Syscall(syscall.SYS_MADVISE, lo, n, syscall.MADV_RANDOM); e != 0 {
			return total, e
		}
		total += int64(n)
	}
	return total, sc.Err()
}

// codeMapping parses one /proc/self/maps line and reports the range of a
// private, read-only, executable mapping of a file.
func codeMapping(line string) (lo, hi uintptr, ok bool) {
	f := strings.Fields(line)
	if len(f) < 6 || f[1] != "r-xp" || !strings.HasPrefix(f[5], "/") {
		return 0, 0, false
	}
	a, b, found := strings.Cut(f[0], "-")
	if !found {
		return 0, 0, false
	}
	l, err1 := strconv.ParseUint(a, 16, 64)
	h, err2 := strconv.ParseUint(b, 16, 64)
	if err1 != nil || err2 != nil || h <= l {
		return 0, 0, false
	}
	return uintptr(l), uintptr(h), true
}
