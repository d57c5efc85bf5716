package auth

import "encoding/json"

// members appends to out the raw values of a JSON object's top-level
// members whose names fold to name's (sameFold), every occurrence kept, without
// decoding nested values or keeping the other names: a log-batch of many
// metrics costs a byte scan, not a decode or an allocation per member. A
// body that is not a JSON object gives what was read before the fault;
// the handler's own decoding reports the error.
func members(out []json.RawMessage, b []byte, name string) []json.RawMessage {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return out
	}
	i++
	for {
		i = skipSpace(b, i)
		if i >= len(b) || b[i] == '}' {
			return out
		}
		if b[i] == ',' {
			i++
			continue
		}
		if b[i] != '"' {
			return out
		}
		end := skipString(b, i)
		if end < 0 {
			return out
		}
		var match bool
		if key := b[i+1 : end-1]; plainText(key) {
			match = sameFold(key, name)
		} else {
			var k string
			if json.Unmarshal(b[i:end], &k) != nil {
				return out
			}
			match = sameFold(k, name)
		}
		i = skipSpace(b, end)
		if i >= len(b) || b[i] != ':' {
			return out
		}
		i = skipSpace(b, i+1)
		vend := skipValue(b, i)
		if vend < 0 {
			return out
		}
		if match {
			out = append(out, b[i:vend])
		}
		i = vend
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i] ('"').
func skipString(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
}

// skipValue returns the index after the value starting at b[i].
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				k := skipString(b, j)
				if k < 0 {
					return -1
				}
				j = k - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\t' && b[j] != '\n' && b[j] != '\r' {
		j++
	}
	if j == i {
		return -1
	}
	return j
}

// plainString returns the text of a JSON string literal of printable ASCII
// without escapes, as json.Unmarshal would decode it; false for any other
// literal (the caller decodes those).
func plainString(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}
	in := raw[1 : len(raw)-1]
	if !plainText(in) {
		return "", false
	}
	return string(in), true
}

// plainText reports whether the inside of a JSON string literal is
// printable ASCII without escapes: its bytes are its text.
func plainText(in []byte) bool {
	for _, c := range in {
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}
