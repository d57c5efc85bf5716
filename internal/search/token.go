package search

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/mlgate/mlgate/internal/pyfmt"
	"github.com/mlgate/mlgate/internal/storeerr"
)

// TokenFault names what is wrong with a page token.
type TokenFault int

// The page token faults.
const (
	TokenBase64 TokenFault = iota // not base64
	TokenJSON                     // not a JSON object
	TokenString                   // an offset string that is not a number
	TokenOffset                   // no positive offset (or a zero one a grammar refuses)
)

// tokenProblem is a page token that does not decode. A message template
// for it names in braces {token} (the token as sent, Go-quoted), {decoded}
// (its base64-decoded bytes), {bytes} (them as Python's repr shows bytes)
// and {offset} (an offset string).
type tokenProblem struct {
	Fault   TokenFault
	Decoded []byte
	Offset  string
}

// PageToken encodes an offset as MLflow does: base64 of {"offset": N}.
func PageToken(offset int) string {
	return base64.StdEncoding.EncodeToString(fmt.Appendf(nil, `{"offset": %d}`, offset))
}

// DecodePageToken returns the offset of a token made by PageToken (or by
// MLflow); "" is offset 0.
func (g *Grammar) DecodePageToken(tok string) (int, error) {
	if tok == "" {
		return 0, nil
	}
	fail := func(p tokenProblem) (int, error) {
		msg := strings.NewReplacer("{token}", strconv.Quote(tok), "{decoded}", string(p.Decoded), "{bytes}", pyfmt.Bytes(p.Decoded),
			"{offset}", p.Offset).Replace(g.TokenMessages[p.Fault])
		return 0, &storeerr.Error{Code: storeerr.InvalidParameterValue, Message: msg}
	}
	raw, err := base64.StdEncoding.DecodeString(tok)
	if err != nil {
		raw, err = base64.URLEncoding.DecodeString(tok)
	}
	if err != nil {
		return fail(tokenProblem{Fault: TokenBase64})
	}
	var parsed map[string]any
	if err := json.Unmarshal(raw, &parsed); err != nil {
		return fail(tokenProblem{Fault: TokenJSON, Decoded: raw})
	}
	var off int
	switch v := parsed["offset"].(type) {
	case float64:
		if v > float64(1<<53) || v < -float64(1<<53) {
			return fail(tokenProblem{Fault: TokenOffset, Decoded: raw})
		}
		off = int(v)
	case string:
		if off, err = strconv.Atoi(v); err != nil {
			return fail(tokenProblem{Fault: TokenString, Decoded: raw, Offset: v})
		}
	case nil:
	default:
		return fail(tokenProblem{Fault: TokenOffset, Decoded: raw})
	}
	if off < 0 || (off == 0 && !g.ZeroToken) {
		return fail(tokenProblem{Fault: TokenOffset, Decoded: raw})
	}
	return off, nil
}

// Page cuts a result read with limit+1 rows to limit and returns the token
// of the next page ("" when this one is the last).
func Page[T any](items []T, offset, limit int) ([]T, string) {
	if len(items) > limit {
		return items[:limit], PageToken(offset + limit)
	}
	return items, ""
}

// MLflowTokenMessages are MLflow's messages for a bad page token
// (SearchUtils.parse_start_offset_from_page_token), shared by the runs,
// experiments and registry searches.
var MLflowTokenMessages = map[TokenFault]string{
	TokenBase64: "Invalid page token, could not base64-decode", TokenJSON: "Invalid page token, decoded value={bytes}",
	TokenString: "Invalid page token, not stringable {offset}", TokenOffset: "Invalid page token, parsed value={decoded}",
}
