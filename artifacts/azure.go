package artifacts

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"
)

// AzureOptions configure wasbs:// and abfss:// stores (Azure Blob
// Storage; abfss URIs, written for Data Lake Storage Gen2, are reached
// through the blob endpoint of the same account). Credentials are taken
// in MLflow's order: ConnectionString, else AccessKey (the account is the
// URI's), else SASToken, else DefaultAzureCredential (environment,
// workload identity, managed identity, Azure CLI ...). FromEnv fills them
// from MLflow's environment variables.
type AzureOptions struct {
	// ConnectionString is AZURE_STORAGE_CONNECTION_STRING. Its account and
	// endpoint (BlobEndpoint=, as Azurite's) are used instead of the
	// URI's, as MLflow does; the URI gives the container and the path.
	ConnectionString string
	// AccessKey is AZURE_STORAGE_ACCESS_KEY, the key of the URI's account.
	AccessKey string
	// SASToken is AZURE_STORAGE_SAS_TOKEN, a shared access signature.
	SASToken string
	// Endpoint overrides the blob service URL that the URI's account
	// gives (https://account.blob.core.windows.net), as in
	// http://127.0.0.1:10000/devstoreaccount1 for Azurite.
	Endpoint string
	// Timeout bounds each request's connection and wait for an answer
	// (0: 60s, negative: none); MLFLOW_ARTIFACT_UPLOAD_DOWNLOAD_TIMEOUT in
	// seconds (-1 for none).
	Timeout time.Duration
	// Retries is how many times a request that failed in a retryable way
	// is tried again (0: 3), with backoff from 200ms up to 2s, so that a
	// store that is down fails within seconds.
	Retries int
	// BlockSize is the size of the blocks of an upload (0: 4 MiB).
	BlockSize int64
}

func azureFromEnv(getenv func(string) string) AzureOptions {
	o := AzureOptions{
		ConnectionString: getenv("AZURE_STORAGE_CONNECTION_STRING"),
		AccessKey:        getenv("AZURE_STORAGE_ACCESS_KEY"),
		SASToken:         strings.TrimPrefix(getenv("AZURE_STORAGE_SAS_TOKEN"), "?"),
	}
	if s, err := strconv.Atoi(strings.TrimSpace(getenv("MLFLOW_ARTIFACT_UPLOAD_DOWNLOAD_TIMEOUT"))); err == nil && s != 0 {
		o.Timeout = time.Duration(s) * time.Second
		if s < 0 {
			o.Timeout = -1
		}
	}
	return o
}

// azureHost is container@account.suffix (MLflow's wasbs and abfss forms).
var azureHost = regexp.MustCompile(`^([^@]+)@([^.]+)\.(.+)$`)

// azureRepo is a container/prefix store in an Azure storage account.
type azureRepo struct {
	uri      string
	ctr      *container.Client
	prefix   string
	block    int64
	pageSize int32 // blobs per listing page (0: the service's default); tests lower it
}

func openAzure(_ context.Context, uri string, u *url.URL, opts AzureOptions) (Repo, error) {
	scheme := strings.ToLower(u.Scheme)
	m := azureHost.FindStringSubmatch(u.Host)
	if u.User != nil { // url.Parse reads container@ as user information
		m = azureHost.FindStringSubmatch(u.User.String() + "@" + u.Host)
	}
	if m == nil || scheme == "wasbs" && !strings.HasPrefix(m[3], "blob.") {
		return nil, storeErr(uri, "open", "", fmt.Errorf("%w: %s URIs have the form %s://<container>@<account>.%s.core.windows.net/<path>",
			ErrBadPath, scheme, scheme, map[string]string{"wasbs": "blob", "abfss": "dfs"}[scheme]))
	}
	ctrName, account, suffix := m[1], m[2], m[3]
	prefix := uriPath(uri)
	if scheme == "abfss" {
		// Data Lake Gen2 accounts serve the same data on the blob endpoint.
		if rest, ok := strings.CutPrefix(suffix, "dfs."); ok {
			suffix = "blob." + rest
		}
		prefix = strings.Trim(u.Path, "/") // MLflow decodes abfss paths
	}
	svc, err := azureClient(account, suffix, opts)
	if err != nil {
		return nil, storeErr(uri, "open", "", err)
	}
	block := opts.BlockSize
	if block <= 0 {
		block = 4 << 20
	}
	return &azureRepo{uri: uri, ctr: svc.NewContainerClient(ctrName), prefix: prefix, block: block}, nil
}

type azureClientKey struct {
	account, suffix string
	opts            AzureOptions
}

// azureClients keeps one service client per account and options, so that
// credentials (and their tokens) and connections are reused.
var azureClients sync.Map // azureClientKey -> *service.Client

func azureClient(account, suffix string, opts AzureOptions) (*service.Client, error) {
	key := azureClientKey{account: account, suffix: suffix, opts: opts}
	if c, ok := azureClients.Load(key); ok {
		return c.(*service.Client), nil
	}
	timeout := opts.Timeout
	if timeout == 0 {
		timeout = 60 * time.Second
	}
	retries := int32(min(opts.Retries, 100))
	if retries <= 0 {
		retries = 3
	}
	co := &service.ClientOptions{ClientOptions: azcore.ClientOptions{
		Retry:     policy.RetryOptions{MaxRetries: retries, RetryDelay: 200 * time.Millisecond, MaxRetryDelay: 2 * time.Second},
		Transport: &http.Client{Transport: timeoutTransport(timeout)},
	}}
	endpoint := opts.Endpoint
	if endpoint == "" {
		endpoint = "https://" + account + "." + suffix + "/"
	}
	var c *service.Client
	var err error
	switch {
	case opts.ConnectionString != "":
		c, err = service.NewClientFromConnectionString(opts.ConnectionString, co)
	case opts.AccessKey != "":
		var cred *service.SharedKeyCredential
		if cred, err = service.NewSharedKeyCredential(account, opts.AccessKey); err == nil {
			c, err = service.NewClientWithSharedKeyCredential(endpoint, cred, co)
		}
	case opts.SASToken != "":
		c, err = service.NewClientWithNoCredential(strings.TrimSuffix(endpoint, "/")+"/?"+opts.SASToken, co)
	default:
		var cred *azidentity.DefaultAzureCredential
		if cred, err = azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{ClientOptions: co.ClientOptions}); err == nil {
			c, err = service.NewClient(endpoint, cred, co)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%w: azure credentials: %w", ErrPermission, err)
	}
	prev, _ := azureClients.LoadOrStore(key, c)
	return prev.(*service.Client), nil
}

func (r *azureRepo) URI() string { return r.uri }

func (r *azureRepo) List(ctx context.Context, rel string) ([]Entry, error) {
	if err := checkRel(rel); err != nil {
		return nil, storeErr(r.uri, "list", rel, err)
	}
	dir := dirKey(r.prefix, rel)
	o := &container.ListBlobsHierarchyOptions{Prefix: &dir}
	if r.pageSize > 0 {
		o.MaxResults = &r.pageSize
	}
	var out []Entry
	pager := r.ctr.NewListBlobsHierarchyPager("/", o)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, storeErr(r.uri, "list", rel, azureErr(err))
		}
		// A folder marker, or a key that is no safe path (written by
		// another client), is not listed.
		entry := func(name string, isDir bool, size int64) {
			if p := joinKey(rel, strings.TrimSuffix(strings.TrimPrefix(name, dir), "/")); p != rel && checkRel(p) == nil {
				out = append(out, Entry{Path: p, IsDir: isDir, Size: size})
			}
		}
		for _, p := range page.Segment.BlobPrefixes {
			entry(deref(p.Name), true, -1)
		}
		for _, b := range page.Segment.BlobItems {
			size := int64(-1)
			if b.Properties != nil && b.Properties.ContentLength != nil {
				size = *b.Properties.ContentLength
			}
			entry(deref(b.Name), false, size)
		}
	}
	slices.SortFunc(out, func(a, b Entry) int { return strings.Compare(a.Path, b.Path) })
	return out, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func (r *azureRepo) Open(ctx context.Context, rel string) (io.ReadCloser, int64, error) {
	if err := fileRel(rel); err != nil {
		return nil, 0, storeErr(r.uri, "open", rel, err)
	}
	body, size, err := r.download(ctx, rel, blob.HTTPRange{})
	if err != nil {
		return nil, 0, storeErr(r.uri, "open", rel, err)
	}
	return body, size, nil
}

// OpenRange streams n bytes of rel from offset off (n < 0: to the end).
func (r *azureRepo) OpenRange(ctx context.Context, rel string, off, n int64) (io.ReadCloser, error) {
	if err := fileRel(rel); err != nil {
		return nil, storeErr(r.uri, "open", rel, err)
	}
	if n == 0 {
		return io.NopCloser(strings.NewReader("")), nil
	}
	body, _, err := r.download(ctx, rel, blob.HTTPRange{Offset: off, Count: max(n, 0)})
	if err != nil {
		return nil, storeErr(r.uri, "open", rel, err)
	}
	return body, nil
}

// download streams a range of a blob (Count 0: to the end), resuming a
// broken transfer, and returns the blob's whole size.
func (r *azureRepo) download(ctx context.Context, rel string, rng blob.HTTPRange) (io.ReadCloser, int64, error) {
	resp, err := r.ctr.NewBlobClient(joinKey(r.prefix, rel)).DownloadStream(ctx, &blob.DownloadStreamOptions{Range: rng})
	if err != nil {
		return nil, 0, azureErr(err)
	}
	size := int64(-1)
	if resp.ContentLength != nil {
		size = *resp.ContentLength
	}
	if cr := deref(resp.ContentRange); cr != "" { // bytes a-b/total
		if i := strings.LastIndexByte(cr, '/'); i >= 0 {
			if total, err := strconv.ParseInt(cr[i+1:], 10, 64); err == nil {
				size = total
			}
		}
	}
	return resp.NewRetryReader(ctx, &blob.RetryReaderOptions{MaxRetries: 3}), size, nil
}

func (r *azureRepo) Put(ctx context.Context, rel string, body io.Reader, size int64) error {
	if err := fileRel(rel); err != nil {
		return storeErr(r.uri, "put", rel, err)
	}
	// Blocks are staged, then committed in one call only when the reader
	// ended well: a failure commits nothing.
	src := &trackedReader{r: &sizedReader{r: body, want: size}}
	_, err := r.ctr.NewBlockBlobClient(joinKey(r.prefix, rel)).UploadStream(ctx, src, &blockblob.UploadStreamOptions{
		BlockSize:   r.block,
		Concurrency: 4,
		HTTPHeaders: &blob.HTTPHeaders{BlobContentType: new(contentType(rel))},
	})
	if src.err != nil {
		return storeErr(r.uri, "put", rel, fmt.Errorf("reading the artifact: %w", src.err))
	}
	return storeErr(r.uri, "put", rel, azureErr(err))
}

func (r *azureRepo) Delete(ctx context.Context, rel string) error {
	if err := checkRel(rel); err != nil {
		return storeErr(r.uri, "delete", rel, err)
	}
	under := dirKey(r.prefix, rel)
	o := &container.ListBlobsFlatOptions{Prefix: &under}
	if r.pageSize > 0 {
		o.MaxResults = &r.pageSize
	}
	var names []string
	pager := r.ctr.NewListBlobsFlatPager(o)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return storeErr(r.uri, "delete", rel, azureErr(err))
		}
		for _, b := range page.Segment.BlobItems {
			names = append(names, deref(b.Name))
		}
	}
	if rel != "" || r.prefix != "" {
		names = append(names, joinKey(r.prefix, rel))
	}
	include := blob.DeleteSnapshotsOptionTypeInclude
	for _, name := range names {
		_, err := r.ctr.NewBlobClient(name).Delete(ctx, &blob.DeleteOptions{DeleteSnapshots: &include})
		if err != nil && !bloberror.HasCode(err, bloberror.BlobNotFound) {
			return storeErr(r.uri, "delete", rel, azureErr(err))
		}
	}
	return nil
}

// azureErr maps an Azure SDK error to the package's sentinels.
func azureErr(err error) error {
	if err == nil {
		return nil
	}
	switch {
	case bloberror.HasCode(err, bloberror.BlobNotFound, bloberror.ContainerNotFound, bloberror.ResourceNotFound, bloberror.ContainerBeingDeleted):
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	case bloberror.HasCode(err, bloberror.AuthenticationFailed, bloberror.AuthorizationFailure,
		bloberror.AuthorizationPermissionMismatch, bloberror.InsufficientAccountPermissions, bloberror.NoAuthenticationInformation):
		return fmt.Errorf("%w: %w", ErrPermission, err)
	}
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return statusErr(re.StatusCode, err)
	}
	var af *azidentity.AuthenticationFailedError
	if errors.As(err, &af) || strings.Contains(err.Error(), "DefaultAzureCredential") {
		return fmt.Errorf("%w: %w", ErrPermission, err)
	}
	if transportFailure(err) {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return err
}
