package artifacts

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// S3Options configure s3:// stores. The zero value uses the AWS SDK's
// default chain for everything: credentials from the environment, the
// shared config and credentials files (AWS_PROFILE), web identity (IRSA),
// SSO, and ECS or EC2 instance roles; the region from AWS_REGION or the
// profile (us-east-1 when none says). Each field set here overrides the
// chain; FromEnv fills them from the variables MLflow reads.
type S3Options struct {
	// EndpointURL is an S3-compatible endpoint (MLFLOW_S3_ENDPOINT_URL:
	// MinIO, moto, ...); it is addressed path-style. Empty means AWS.
	EndpointURL string
	// IgnoreTLS skips TLS certificate verification (MLFLOW_S3_IGNORE_TLS).
	IgnoreTLS bool
	// Region (AWS_REGION, then AWS_DEFAULT_REGION).
	Region string
	// Profile names a shared-config profile (AWS_PROFILE).
	Profile string
	// AccessKeyID, SecretAccessKey and SessionToken are static
	// credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
	// AWS_SESSION_TOKEN); used only when both keys are set.
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	// Anonymous sends unsigned requests, for public buckets
	// (MLFLOW_EXPERIMENTAL_S3_SIGNATURE_VERSION=unsigned).
	Anonymous bool
	// AddressingStyle is "path", "virtual" or "auto" (the default: path
	// with an EndpointURL, virtual on AWS), as
	// MLFLOW_BOTO_CLIENT_ADDRESSING_STYLE.
	AddressingStyle string
	// UploadExtraArgs is a JSON object of boto3 upload ExtraArgs
	// (MLFLOW_S3_UPLOAD_EXTRA_ARGS), e.g. {"ServerSideEncryption":
	// "aws:kms", "SSEKMSKeyId": "..."}; an unsupported key fails at open.
	UploadExtraArgs string
	// ExpectedBucketOwner is the account every request requires to own
	// the bucket (MLFLOW_S3_EXPECTED_BUCKET_OWNER).
	ExpectedBucketOwner string
}

// s3FromEnv reads the variables MLflow's S3 store reads. Variables the SDK
// itself reads (AWS_WEB_IDENTITY_TOKEN_FILE, AWS_CONFIG_FILE, ...) are left
// to the SDK's default chain.
func s3FromEnv(getenv func(string) string) S3Options {
	o := S3Options{
		EndpointURL:         getenv("MLFLOW_S3_ENDPOINT_URL"),
		Region:              getenv("AWS_REGION"),
		Profile:             getenv("AWS_PROFILE"),
		AccessKeyID:         getenv("AWS_ACCESS_KEY_ID"),
		SecretAccessKey:     getenv("AWS_SECRET_ACCESS_KEY"),
		SessionToken:        getenv("AWS_SESSION_TOKEN"),
		AddressingStyle:     getenv("MLFLOW_BOTO_CLIENT_ADDRESSING_STYLE"),
		UploadExtraArgs:     getenv("MLFLOW_S3_UPLOAD_EXTRA_ARGS"),
		ExpectedBucketOwner: getenv("MLFLOW_S3_EXPECTED_BUCKET_OWNER"),
	}
	if o.Region == "" {
		o.Region = getenv("AWS_DEFAULT_REGION")
	}
	switch strings.ToLower(strings.TrimSpace(getenv("MLFLOW_S3_IGNORE_TLS"))) {
	case "true", "1":
		o.IgnoreTLS = true
	}
	o.Anonymous = strings.EqualFold(getenv("MLFLOW_EXPERIMENTAL_S3_SIGNATURE_VERSION"), "unsigned")
	return o
}

// s3Repo is a key prefix in an S3 bucket.
type s3Repo struct {
	uri            string
	bucket, prefix string
	client         *s3.Client
	uploader       *transfermanager.Client
	upload         func(*transfermanager.UploadObjectInput) // MLFLOW_S3_UPLOAD_EXTRA_ARGS
	owner          *string                                  // ExpectedBucketOwner
}

var (
	_ Repo        = (*s3Repo)(nil)
	_ RangeOpener = (*s3Repo)(nil)
)

// openS3 builds the client; it does not contact the store.
func openS3(ctx context.Context, uri string, u *url.URL, opts S3Options) (Repo, error) {
	if u.Host == "" {
		return nil, storeErr(uri, "open", "", fmt.Errorf("%w: s3 URI without a bucket", ErrBadPath))
	}
	prefix := strings.Trim(u.Path, "/")
	if err := checkRel(prefix); err != nil {
		return nil, storeErr(uri, "open", "", err)
	}
	extra, err := parseUploadExtraArgs(opts.UploadExtraArgs)
	if err != nil {
		return nil, storeErr(uri, "open", "", err)
	}
	client, err := newS3Client(ctx, opts)
	if err != nil {
		return nil, storeErr(uri, "open", "", err)
	}
	r := &s3Repo{uri: uri, bucket: u.Host, prefix: prefix, client: client, upload: extra,
		uploader: newUploader(client)}
	if opts.ExpectedBucketOwner != "" {
		r.owner = aws.String(opts.ExpectedBucketOwner)
	}
	return r, nil
}

func (r *s3Repo) URI() string { return r.uri }

func (r *s3Repo) key(rel string) string { return joinKey(r.prefix, rel) }

// dirKey is the key prefix of the objects under rel ("" for a bucket root).
func (r *s3Repo) dirKey(rel string) string {
	if k := r.key(rel); k != "" {
		return k + "/"
	}
	return ""
}

// List returns the files and folders directly under rel (ListObjectsV2 with
// the delimiter "/", every page).
func (r *s3Repo) List(ctx context.Context, rel string) ([]Entry, error) {
	if err := checkRel(rel); err != nil {
		return nil, storeErr(r.uri, "list", rel, err)
	}
	dir := r.dirKey(rel)
	var out []Entry
	add := func(name string, e Entry) {
		name = strings.TrimSuffix(strings.TrimPrefix(name, dir), "/")
		p := joinKey(rel, name)
		// Keys that are no safe relative path (written by another client)
		// are skipped: every path listed can be given back to Open.
		if name == "" || strings.Contains(name, "/") || checkRel(p) != nil {
			return
		}
		e.Path = p
		out = append(out, e)
	}
	pages := s3.NewListObjectsV2Paginator(r.client, &s3.ListObjectsV2Input{
		Bucket: &r.bucket, Prefix: aws.String(dir), Delimiter: aws.String("/"), ExpectedBucketOwner: r.owner,
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, storeErr(r.uri, "list", rel, s3Err(err))
		}
		for _, p := range page.CommonPrefixes {
			add(aws.ToString(p.Prefix), Entry{IsDir: true, Size: -1})
		}
		for _, o := range page.Contents {
			add(aws.ToString(o.Key), Entry{Size: aws.ToInt64(o.Size)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// Open streams the object at rel.
func (r *s3Repo) Open(ctx context.Context, rel string) (io.ReadCloser, int64, error) {
	if err := checkFile(rel); err != nil {
		return nil, 0, storeErr(r.uri, "open", rel, err)
	}
	res, err := r.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &r.bucket, Key: aws.String(r.key(rel)), ExpectedBucketOwner: r.owner})
	if err != nil {
		return nil, 0, storeErr(r.uri, "open", rel, s3Err(err))
	}
	size := int64(-1)
	if res.ContentLength != nil {
		size = *res.ContentLength
	}
	return res.Body, size, nil
}

// OpenRange streams n bytes of rel from offset off (GetObject with a Range
// header).
func (r *s3Repo) OpenRange(ctx context.Context, rel string, off, n int64) (io.ReadCloser, error) {
	if err := checkFile(rel); err != nil {
		return nil, storeErr(r.uri, "open", rel, err)
	}
	if off < 0 || n < 0 {
		return nil, storeErr(r.uri, "open", rel, fmt.Errorf("bad range: %d bytes at %d", n, off))
	}
	if n == 0 {
		return io.NopCloser(strings.NewReader("")), nil
	}
	res, err := r.client.GetObject(ctx, &s3.GetObjectInput{
		Bucket: &r.bucket, Key: aws.String(r.key(rel)), ExpectedBucketOwner: r.owner,
		Range: aws.String(fmt.Sprintf("bytes=%d-%d", off, off+n-1)),
	})
	if err != nil {
		return nil, storeErr(r.uri, "open", rel, s3Err(err))
	}
	return res.Body, nil
}

// Delete removes the object at rel and every object under rel + "/"
// (DeleteObjects, one batch of at most 1000 keys per listed page).
func (r *s3Repo) Delete(ctx context.Context, rel string) error {
	if err := checkRel(rel); err != nil {
		return storeErr(r.uri, "delete", rel, err)
	}
	if rel != "" {
		// S3 answers a missing key with success; a missing bucket fails.
		_, err := r.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &r.bucket, Key: aws.String(r.key(rel)), ExpectedBucketOwner: r.owner})
		if err != nil {
			return storeErr(r.uri, "delete", rel, s3Err(err))
		}
	}
	pages := s3.NewListObjectsV2Paginator(r.client, &s3.ListObjectsV2Input{
		Bucket: &r.bucket, Prefix: aws.String(r.dirKey(rel)), ExpectedBucketOwner: r.owner,
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return storeErr(r.uri, "delete", rel, s3Err(err))
		}
		if len(page.Contents) == 0 {
			continue
		}
		ids := make([]s3types.ObjectIdentifier, len(page.Contents))
		for i, o := range page.Contents {
			ids[i] = s3types.ObjectIdentifier{Key: o.Key}
		}
		res, err := r.client.DeleteObjects(ctx, &s3.DeleteObjectsInput{
			Bucket: &r.bucket, Delete: &s3types.Delete{Objects: ids, Quiet: aws.Bool(true)}, ExpectedBucketOwner: r.owner,
		})
		if err != nil {
			return storeErr(r.uri, "delete", rel, s3Err(err))
		}
		if len(res.Errors) > 0 {
			e := res.Errors[0]
			err := fmt.Errorf("%d of %d objects not deleted; %s: %s: %s", len(res.Errors), len(ids),
				aws.ToString(e.Key), aws.ToString(e.Code), aws.ToString(e.Message))
			if sentinel := s3CodeSentinel(aws.ToString(e.Code)); sentinel != nil {
				err = fmt.Errorf("%w: %w", sentinel, err)
			}
			return storeErr(r.uri, "delete", rel, err)
		}
	}
	return nil
}

// checkFile is checkRel for operations on one object: the root is a folder.
func checkFile(rel string) error {
	if err := checkRel(rel); err != nil {
		return err
	}
	if rel == "" {
		return fmt.Errorf("%w: the root is a folder, not a file", ErrBadPath)
	}
	return nil
}
