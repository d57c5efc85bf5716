package artifacts

import (
	"context"
	"net/url"
)

// AzureOptions configure azure stores (a placeholder until the backend lands).
type AzureOptions struct{}

func azureFromEnv(func(string) string) AzureOptions { return AzureOptions{} }

func openAzure(_ context.Context, uri string, _ *url.URL, _ AzureOptions) (Repo, error) {
	return nil, storeErr(uri, "open", "", ErrNotSupported)
}
