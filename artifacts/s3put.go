package artifacts

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	tmtypes "github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Uploads of s3PartSize bytes or more go in parts of that size, at most
// s3Concurrency at a time; smaller ones are one PutObject.
const (
	s3PartSize    = 16 << 20
	s3Concurrency = 4
)

func newUploader(c *s3.Client) *transfermanager.Client {
	return transfermanager.New(c, func(o *transfermanager.Options) {
		o.PartSizeBytes = s3PartSize
		o.MultipartUploadThreshold = s3PartSize
		o.Concurrency = s3Concurrency
		o.RequestChecksumCalculation = c.Options().RequestChecksumCalculation
		// The abort of a failed multipart upload runs even when ctx is done.
		o.FailTimeout = 30 * time.Second
	})
}

// Put streams body to rel: one PutObject below s3PartSize, else a multipart
// upload that is aborted when body fails, so a failed Put leaves nothing at
// the key. The content type and encoding are guessed from the name, as
// MLflow does, and MLFLOW_S3_UPLOAD_EXTRA_ARGS applies on top.
func (r *s3Repo) Put(ctx context.Context, rel string, body io.Reader, size int64) error {
	if err := checkFile(rel); err != nil {
		return storeErr(r.uri, "put", rel, err)
	}
	in := &transfermanager.UploadObjectInput{
		Bucket: &r.bucket, Key: aws.String(r.key(rel)), ExpectedBucketOwner: r.owner,
		Body: &sizedReader{r: body, want: size},
	}
	if size >= 0 {
		in.ContentLength = aws.Int64(size) // sizes the parts of very large files
	}
	in.ContentType, in.ContentEncoding = guessContentType(rel)
	r.upload(in)
	if _, err := r.uploader.UploadObject(ctx, in); err != nil {
		return storeErr(r.uri, "put", rel, s3Err(err))
	}
	return nil
}

// sizedReader fails when r does not hold exactly want bytes (want -1: any),
// so that a short or long body aborts the upload instead of storing it.
type sizedReader struct {
	r       io.Reader
	want, n int64
}

func (s *sizedReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.n += int64(n)
	switch {
	case s.want >= 0 && s.n > s.want:
		return n, fmt.Errorf("body longer than its declared size %d", s.want)
	case err == io.EOF && s.want >= 0 && s.n != s.want:
		return n, fmt.Errorf("body of %d bytes, declared size %d: %w", s.n, s.want, io.ErrUnexpectedEOF)
	}
	return n, err
}

// guessContentType is GuessType for an S3 upload's ContentType and
// ContentEncoding (nil when unknown).
func guessContentType(rel string) (ctype, encoding *string) {
	t, enc := GuessType(rel)
	if t != "" {
		ctype = aws.String(t)
	}
	if enc != "" {
		encoding = aws.String(enc)
	}
	return ctype, encoding
}

// uploadArg sets one boto3 upload ExtraArg on an upload.
type uploadArg func(in *transfermanager.UploadObjectInput, v json.RawMessage) error

func strArg(set func(*transfermanager.UploadObjectInput, string)) uploadArg {
	return func(in *transfermanager.UploadObjectInput, v json.RawMessage) error {
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return fmt.Errorf("want a string, got %s", v)
		}
		set(in, s)
		return nil
	}
}

func strPtrArg(field func(*transfermanager.UploadObjectInput) **string) uploadArg {
	return strArg(func(in *transfermanager.UploadObjectInput, s string) { *field(in) = aws.String(s) })
}

func timeArg(field func(*transfermanager.UploadObjectInput) **time.Time) uploadArg {
	return func(in *transfermanager.UploadObjectInput, v json.RawMessage) error {
		var t time.Time
		if err := json.Unmarshal(v, &t); err != nil {
			return fmt.Errorf("want an RFC 3339 time, got %s", v)
		}
		*field(in) = &t
		return nil
	}
}

// s3UploadArgs are the boto3 ExtraArgs MLFLOW_S3_UPLOAD_EXTRA_ARGS may set
// (the SSE-C customer keys are not: downloads would need them too).
var s3UploadArgs = map[string]uploadArg{
	"ACL": strArg(func(in *transfermanager.UploadObjectInput, s string) { in.ACL = tmtypes.ObjectCannedACL(s) }),
	"ServerSideEncryption": strArg(func(in *transfermanager.UploadObjectInput, s string) {
		in.ServerSideEncryption = tmtypes.ServerSideEncryption(s)
	}),
	"StorageClass": strArg(func(in *transfermanager.UploadObjectInput, s string) { in.StorageClass = tmtypes.StorageClass(s) }),
	"RequestPayer": strArg(func(in *transfermanager.UploadObjectInput, s string) { in.RequestPayer = tmtypes.RequestPayer(s) }),
	"ObjectLockMode": strArg(func(in *transfermanager.UploadObjectInput, s string) {
		in.ObjectLockMode = tmtypes.ObjectLockMode(s)
	}),
	"ObjectLockLegalHoldStatus": strArg(func(in *transfermanager.UploadObjectInput, s string) {
		in.ObjectLockLegalHoldStatus = tmtypes.ObjectLockLegalHoldStatus(s)
	}),
	"ChecksumAlgorithm": strArg(func(in *transfermanager.UploadObjectInput, s string) {
		in.ChecksumAlgorithm = tmtypes.ChecksumAlgorithm(s)
	}),
	"SSEKMSKeyId":             strPtrArg(func(in *transfermanager.UploadObjectInput) **string { return &in.SSEKMSKeyID }),
	"SSEKMSEncryptionContext": strPtrArg(func(in *transfermanager.UploadObjectInput) **string { return &in.SSEKMSEncryptionContext }),
	"CacheControl":            strPtrArg(func(in *transfermanager.UploadObjectInput) **string { return &in.CacheControl }),
	"ContentDisposition":      strPtrArg(func(in *transfermanager.UploadObjectInput) **string { return &in.ContentDisposition }),
	"ContentEncoding":         strPtrArg(func(in *transfermanager.UploadObjectInput) **string { return &in.ContentEncoding }),
	"ContentLanguage":         strPtrArg(func(in *transfermanager.UploadObjectInput) **string { return &in.ContentLanguage }),
	"ContentType":             strPtrArg(func(in *transfermanager.UploadObjectInput) **string { return &in.ContentType }),
	"ExpectedBucketOwner":     strPtrArg(func(in *transfermanager.UploadObjectInput) **string { return &in.ExpectedBucketOwner }),
	"GrantFullControl":        strPtrArg(func(in *transfermanager.UploadObjectInput) **string { return &in.GrantFullControl }),
	"GrantRead":               strPtrArg(func(in *transfermanager.UploadObjectInput) **string { return &in.GrantRead }),
	"GrantReadACP":            strPtrArg(func(in *transfermanager.UploadObjectInput) **string { return &in.GrantReadACP }),
	"GrantWriteACP":           strPtrArg(func(in *transfermanager.UploadObjectInput) **string { return &in.GrantWriteACP }),
	"Tagging":                 strPtrArg(func(in *transfermanager.UploadObjectInput) **string { return &in.Tagging }),
	"WebsiteRedirectLocation": strPtrArg(func(in *transfermanager.UploadObjectInput) **string { return &in.WebsiteRedirectLocation }),
	"Expires":                 timeArg(func(in *transfermanager.UploadObjectInput) **time.Time { return &in.Expires }),
	"ObjectLockRetainUntilDate": timeArg(func(in *transfermanager.UploadObjectInput) **time.Time {
		return &in.ObjectLockRetainUntilDate
	}),
	"BucketKeyEnabled": func(in *transfermanager.UploadObjectInput, v json.RawMessage) error {
		var b bool
		if err := json.Unmarshal(v, &b); err != nil {
			return fmt.Errorf("want true or false, got %s", v)
		}
		in.BucketKeyEnabled = &b
		return nil
	},
	"Metadata": func(in *transfermanager.UploadObjectInput, v json.RawMessage) error {
		var m map[string]string
		if err := json.Unmarshal(v, &m); err != nil {
			return fmt.Errorf("want an object of strings, got %s", v)
		}
		in.Metadata = m
		return nil
	},
}

// parseUploadExtraArgs checks MLFLOW_S3_UPLOAD_EXTRA_ARGS and returns what
// applies it to an upload; an unknown key or a bad value is an error.
func parseUploadExtraArgs(raw string) (func(*transfermanager.UploadObjectInput), error) {
	if strings.TrimSpace(raw) == "" {
		return func(*transfermanager.UploadObjectInput) {}, nil
	}
	var args map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &args); err != nil {
		return nil, fmt.Errorf("MLFLOW_S3_UPLOAD_EXTRA_ARGS: not a JSON object: %w", err)
	}
	keys := make([]string, 0, len(args))
	for k := range args {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	probe := &transfermanager.UploadObjectInput{}
	for _, k := range keys {
		set, ok := s3UploadArgs[k]
		if !ok {
			known := make([]string, 0, len(s3UploadArgs))
			for name := range s3UploadArgs {
				known = append(known, name)
			}
			sort.Strings(known)
			return nil, fmt.Errorf("MLFLOW_S3_UPLOAD_EXTRA_ARGS: key %q: %w (supported: %s)", k, ErrNotSupported, strings.Join(known, ", "))
		}
		if err := set(probe, args[k]); err != nil {
			return nil, fmt.Errorf("MLFLOW_S3_UPLOAD_EXTRA_ARGS: %s: %w", k, err)
		}
	}
	return func(in *transfermanager.UploadObjectInput) {
		for _, k := range keys {
			_ = s3UploadArgs[k](in, args[k]) // checked above
		}
	}, nil
}
