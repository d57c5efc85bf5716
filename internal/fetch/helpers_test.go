package fetch

import (
	"io"
	"strings"
)

type ioReadCloser = io.ReadCloser

func nopCloser(s string) io.ReadCloser { return io.NopCloser(strings.NewReader(s)) }
