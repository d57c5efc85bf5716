package secure

import (
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// fnmatch reports whether name matches the shell pattern pat with Python's
// fnmatch rules on POSIX (case-sensitive): * matches any run of
// characters (slashes and colons included), ? any one character, [seq] one
// character of seq ([!seq] one not in it); a [ without a closing ] is
// literal.
func fnmatch(pat, name string) bool {
	p, n := []rune(pat), []rune(name)
	// Backtracking over the last *: linear for the patterns used here.
	pi, ni, star, mark := 0, 0, -1, 0
	for ni < len(n) {
		if pi < len(p) {
			switch p[pi] {
			case '*':
				star, mark = pi, ni
				pi++
				continue
			case '?':
				pi++
				ni++
				continue
			case '[':
				if end, ok := classEnd(p, pi); ok {
					if inClass(p[pi+1:end], n[ni]) {
						pi, ni = end+1, ni+1
						continue
					}
				} else if n[ni] == '[' {
					pi++
					ni++
					continue
				}
			default:
				if p[pi] == n[ni] {
					pi++
					ni++
					continue
				}
			}
		}
		if star < 0 {
			return false
		}
		mark++
		pi, ni = star+1, mark
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// classEnd finds the ] closing the class opened at p[i] (a ] right after
// [ or [! belongs to the class).
func classEnd(p []rune, i int) (int, bool) {
	j := i + 1
	if j < len(p) && p[j] == '!' {
		j++
	}
	if j < len(p) && p[j] == ']' {
		j++
	}
	for ; j < len(p); j++ {
		if p[j] == ']' {
			return j, true
		}
	}
	return 0, false
}

// inClass reports whether c is in the class body cls (without brackets).
func inClass(cls []rune, c rune) bool {
	neg := len(cls) > 0 && cls[0] == '!'
	if neg {
		cls = cls[1:]
	}
	in := false
	for i := 0; i < len(cls); i++ {
		if i+2 < len(cls) && cls[i+1] == '-' {
			if cls[i] <= c && c <= cls[i+2] {
				in = true
			}
			i += 2
			continue
		}
		if cls[i] == c {
			in = true
		}
	}
	return in != neg
}

// matchAny is MLflow's allow-list test: a pattern with * is an fnmatch
// pattern, any other an exact string.
func matchAny(patterns []string, s string) bool {
	for _, p := range patterns {
		if strings.Contains(p, "*") {
			if fnmatch(p, s) {
				return true
			}
		} else if p == s {
			return true
		}
	}
	return false
}

// localHosts are MLflow's loopback names; each is allowed bare and with
// any port.
var localHosts = []string{"localhost", "127.0.0.1", "[::1]", "0.0.0.0"}

// privatePatterns are MLflow's private-range Host patterns (RFC 1918,
// RFC 4193). mlgate applies them to IP literals only: MLflow's patterns
// alone would also let a name such as 10.attacker.example through.
var privatePatterns = func() []string {
	p := []string{"192.168.*", "10.*"}
	for i := 16; i < 32; i++ {
		p = append(p, "172."+strconv.Itoa(i)+".*")
	}
	return append(p, "fc00:*", "fd00:*")
}()

// defaultHost reports whether host is one MLflow allows by default.
func defaultHost(host string) bool {
	for _, h := range localHosts {
		if rest, ok := strings.CutPrefix(host, h); ok && (rest == "" || rest[0] == ':') {
			return true
		}
	}
	if !matchAny(privatePatterns, host) {
		return false
	}
	return isIPLiteral(host)
}

// isIPLiteral reports whether a Host header names an IP address (with or
// without a port; an IPv6 address with or without brackets).
func isIPLiteral(host string) bool {
	if _, err := netip.ParseAddr(host); err == nil {
		return true
	}
	h, _, err := net.SplitHostPort(host)
	if err != nil {
		return false
	}
	_, err = netip.ParseAddr(h)
	return err == nil
}

// localOrigin reports whether an Origin names a loopback host (any scheme,
// any port), as MLflow's is_localhost_origin does.
func localOrigin(origin string) bool {
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	switch strings.ToLower(u.Hostname()) {
	case "localhost", "127.0.0.1", "::1":
		return true
	}
	return false
}

// corsLocal reports whether an Origin matches MLflow's CORS localhost
// patterns: http://localhost, http://127.0.0.1 or http://[::1], with an
// optional numeric port.
func corsLocal(origin string) bool {
	for _, h := range []string{"http://localhost", "http://127.0.0.1", "http://[::1]"} {
		rest, ok := strings.CutPrefix(origin, h)
		if !ok {
			continue
		}
		if rest == "" {
			return true
		}
		if port, ok := strings.CutPrefix(rest, ":"); ok && port != "" && strings.Trim(port, "0123456789") == "" {
			return true
		}
	}
	return false
}

// sameOrigin reports whether origin names the host (host[:port]) the
// request was sent to.
func sameOrigin(origin, host string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	return strings.EqualFold(u.Host, host)
}
