package artifacts

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// How hard the S3 client tries: a store that is down fails an operation
// within seconds (three attempts, at most a second apart, each dial at
// most s3DialTimeout); a store that takes the request but does not answer
// fails after s3HeaderTimeout. (No read timeout: the SDK exempts S3 from
// one, as a slow part upload would trip it.)
const (
	s3Attempts      = 3
	s3MaxBackoff    = time.Second
	s3DialTimeout   = 3 * time.Second
	s3HeaderTimeout = 2 * time.Minute
)

// newS3Client loads the SDK's default configuration (the credential chain,
// shared config files, AWS_* variables) with the overrides of o.
func newS3Client(ctx context.Context, o S3Options) (*s3.Client, error) {
	pathStyle := o.EndpointURL != ""
	switch strings.ToLower(o.AddressingStyle) {
	case "", "auto":
	case "path":
		pathStyle = true
	case "virtual":
		pathStyle = false
	default:
		return nil, fmt.Errorf("%w: S3 addressing style %q (want auto, path or virtual)", ErrNotSupported, o.AddressingStyle)
	}
	if o.EndpointURL != "" {
		u, err := url.Parse(o.EndpointURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("%w: S3 endpoint %q is not an http(s) URL", ErrNotSupported, o.EndpointURL)
		}
	}
	hc := awshttp.NewBuildableClient().
		WithDialerOptions(func(d *net.Dialer) { d.Timeout = s3DialTimeout }).
		WithTransportOptions(func(t *http.Transport) {
			t.ResponseHeaderTimeout = s3HeaderTimeout
			if o.IgnoreTLS {
				t.TLSClientConfig.InsecureSkipVerify = true // #nosec G402 -- asked for by MLFLOW_S3_IGNORE_TLS
			}
		})
	load := []func(*config.LoadOptions) error{
		config.WithHTTPClient(hc),
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(so *retry.StandardOptions) {
				so.MaxAttempts = s3Attempts
				so.MaxBackoff = s3MaxBackoff
			})
		}),
	}
	if o.Region != "" {
		load = append(load, config.WithRegion(o.Region))
	}
	if o.Profile != "" {
		load = append(load, config.WithSharedConfigProfile(o.Profile))
	}
	switch {
	case o.Anonymous:
		load = append(load, config.WithCredentialsProvider(aws.AnonymousCredentials{}))
	case o.AccessKeyID != "" && o.SecretAccessKey != "":
		load = append(load, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(o.AccessKeyID, o.SecretAccessKey, o.SessionToken)))
	}
	cfg, err := config.LoadDefaultConfig(ctx, load...)
	if err != nil {
		return nil, fmt.Errorf("AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if !o.Anonymous && cfg.Credentials != nil {
		cfg.Credentials = s3Credentials{cfg.Credentials}
	}
	return s3.NewFromConfig(cfg, func(so *s3.Options) {
		if o.EndpointURL != "" {
			so.BaseEndpoint = aws.String(o.EndpointURL)
		}
		so.UsePathStyle = pathStyle
		// Ranged reads carry no whole-object checksum; the SDK would log
		// that it skips validation on each of them.
		so.DisableLogOutputChecksumValidationSkipped = true
	}), nil
}

// s3Credentials marks a failure to find or fetch credentials: refused
// (ErrPermission) unless the credential service was unreachable.
type s3Credentials struct{ aws.CredentialsProvider }

func (c s3Credentials) Retrieve(ctx context.Context) (aws.Credentials, error) {
	creds, err := c.CredentialsProvider.Retrieve(ctx)
	if err == nil {
		return creds, nil
	}
	if mapped := s3Err(err); mapped != err { //nolint:errorlint // s3Err returns err itself when no sentinel fits
		return creds, mapped
	}
	return creds, fmt.Errorf("%w: no usable AWS credentials (environment, shared config profile, web identity, SSO, "+
		"container or instance role): %w", ErrPermission, err)
}

// s3Err maps an SDK error to the package's sentinels (keeping the SDK's
// message): missing bucket or key -> ErrNotFound, an unknown key or a wrong
// secret -> ErrUnauthenticated, other refusals -> ErrPermission, an unreachable or overloaded store -> ErrUnavailable.
func s3Err(err error) error {
	if err == nil {
		return nil
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		if sentinel := s3CodeSentinel(ae.ErrorCode()); sentinel != nil {
			return fmt.Errorf("%w: %w", sentinel, err)
		}
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		switch re.HTTPStatusCode() {
		case http.StatusNotFound:
			return fmt.Errorf("%w: %w", ErrNotFound, err)
		case http.StatusUnauthorized, http.StatusForbidden:
			return fmt.Errorf("%w: %w", ErrPermission, err)
		case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
	}
	var (
		send *smithyhttp.RequestSendError
		dns  *net.DNSError
		op   *net.OpError
	)
	if errors.As(err, &send) || errors.As(err, &dns) || errors.As(err, &op) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return err
}

// s3CodeSentinel is the sentinel of an S3 (or STS) error code, nil for
// an unknown code.
func s3CodeSentinel(code string) error {
	switch code {
	case "NoSuchBucket", "NoSuchKey", "NotFound", "NoSuchUpload":
		return ErrNotFound
	case "InvalidAccessKeyId", "SignatureDoesNotMatch": // MLflow's UNAUTHENTICATED
		return ErrUnauthenticated
	case "AccessDenied", "AccessDeniedException", "Forbidden", "AllAccessDisabled", "AccountProblem", "ExpiredToken", "ExpiredTokenException", "InvalidToken",
		"TokenRefreshRequired", "InvalidClientTokenId", "InvalidIdentityToken", "IDPRejectedClaim":
		return ErrPermission
	case "SlowDown", "ServiceUnavailable", "RequestTimeout", "InternalError":
		return ErrUnavailable
	}
	return nil
}
