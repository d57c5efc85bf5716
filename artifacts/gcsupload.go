package artifacts

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Uploads to the Cloud Storage JSON API: one request for a file that fits
// in one chunk, else a resumable upload finalized by its last chunk.

// contentType is the type MLflow's clients give a file (Python's
// mimetypes; a compression suffix is not made a Content-Encoding, which
// would make Cloud Storage decompress downloads).
func contentType(key string) string {
	if t, _ := guessContentType(key); t != nil {
		return *t
	}
	return "application/octet-stream"
}

// upload stores body at key: in one request when it fits in one chunk,
// else in a resumable upload of UploadChunkSize parts, finalized only with
// the last part, so a failure (of the reader, or a size that does not
// match) leaves nothing at key.
func (a *gcsAPI) upload(ctx context.Context, bucket, key string, body io.Reader, size int64) error {
	src := &trackedReader{r: body}
	chunk := a.opts.UploadChunkSize
	if size >= 0 && size < int64(chunk) {
		chunk = int(size) + 1 // one read sees the end
	}
	cur, err := readChunk(src, make([]byte, chunk), size, 0)
	if err != nil {
		return err
	}
	if len(cur) < chunk {
		return a.uploadOnce(ctx, bucket, key, cur)
	}
	session, err := a.startResumable(ctx, bucket, key)
	if err != nil {
		return err
	}
	spare := make([]byte, chunk)
	var off int64
	for {
		next, err := readChunk(src, spare, size, off+int64(len(cur)))
		if err != nil {
			a.abortResumable(ctx, session)
			return err
		}
		total := int64(-1)
		if len(next) == 0 {
			total = off + int64(len(cur))
		}
		if err := a.putChunk(ctx, session, cur, off, total); err != nil {
			a.abortResumable(ctx, session)
			return err
		}
		if total >= 0 {
			return nil
		}
		off += int64(len(cur))
		cur, spare = next, cur[:chunk]
	}
}

// readChunk fills buf as far as the reader goes; an error of the reader,
// or a total that passes or falls short of a known size, is an error.
func readChunk(src *trackedReader, buf []byte, size, done int64) ([]byte, error) {
	n := len(buf)
	got, err := io.ReadFull(src, buf)
	switch {
	case src.err != nil:
		return nil, fmt.Errorf("reading the artifact: %w", src.err)
	case err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF):
		return nil, err
	}
	total := done + int64(got)
	if size >= 0 && (total > size || got < n && total != size) {
		return nil, fmt.Errorf("the artifact has %d bytes or more, not the %d announced", total, size)
	}
	return buf[:got], nil
}

func (a *gcsAPI) uploadOnce(ctx context.Context, bucket, key string, data []byte) error {
	u := a.uploadBase + "/b/" + url.PathEscape(bucket) + "/o?" + url.Values{"uploadType": {"media"}, "name": {key}}.Encode()
	resp, err := a.call(ctx, func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(data))
		if err == nil {
			req.Header.Set("Content-Type", contentType(key))
		}
		return req, err
	})
	if err != nil {
		return err
	}
	return resp.Body.Close()
}

func (a *gcsAPI) startResumable(ctx context.Context, bucket, key string) (string, error) {
	u := a.uploadBase + "/b/" + url.PathEscape(bucket) + "/o?" + url.Values{"uploadType": {"resumable"}, "name": {key}}.Encode()
	resp, err := a.call(ctx, func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, http.NoBody)
		if err == nil {
			req.Header.Set("X-Upload-Content-Type", contentType(key))
		}
		return req, err
	})
	if err != nil {
		return "", err
	}
	_ = resp.Body.Close()
	session := resp.Header.Get("Location")
	if session == "" {
		return "", errors.New("google cloud storage: a resumable upload without a session URL")
	}
	return session, nil
}

// putChunk sends data at off of a resumable upload; total >= 0 marks the
// last part, which finalizes the object.
func (a *gcsAPI) putChunk(ctx context.Context, session string, data []byte, off, total int64) error {
	sent := int64(0) // of data, persisted by the service
	for attempt := 1; ; attempt++ {
		size := "*"
		if total >= 0 {
			size = strconv.FormatInt(total, 10)
		}
		rng := "bytes */" + size
		if part := data[sent:]; len(part) > 0 {
			rng = fmt.Sprintf("bytes %d-%d/%s", off+sent, off+int64(len(data))-1, size)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPut, session, bytes.NewReader(data[sent:]))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Range", rng)
		resp, err := a.hc.Do(req)
		switch {
		case err != nil:
			err = gcsTransportErr(ctx, err)
		case resp.StatusCode == http.StatusPermanentRedirect: // more is expected
			_ = resp.Body.Close()
			persisted := off + int64(len(data))
			if r := resp.Header.Get("Range"); r != "" { // bytes=0-N
				if i := strings.LastIndexByte(r, '-'); i >= 0 {
					if last, perr := strconv.ParseInt(r[i+1:], 10, 64); perr == nil {
						persisted = last + 1
					}
				}
			}
			if total < 0 && persisted >= off+int64(len(data)) {
				return nil
			}
			sent = min(max(persisted-off, 0), int64(len(data)))
			err = fmt.Errorf("%w: google cloud storage kept %d of %d bytes", ErrUnavailable, persisted, off+int64(len(data)))
		case resp.StatusCode < 300:
			return resp.Body.Close()
		default:
			err = gcsStatusErr(resp)
		}
		if attempt >= a.opts.Attempts || !errors.Is(err, ErrUnavailable) || !sleepCtx(ctx, backoff(attempt)) {
			return err
		}
	}
}

// abortResumable cancels an upload session (best effort: an upload that
// is never finalized never becomes an object either).
func (a *gcsAPI) abortResumable(ctx context.Context, session string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, session, nil)
	if err != nil {
		return
	}
	if resp, err := a.hc.Do(req); err == nil {
		_ = resp.Body.Close()
	}
}
