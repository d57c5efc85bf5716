package artifacts

import "net/url"

// Placeholders until the local and proxy backends move here.

func openLocal(dir string) (Repo, error) { return nil, storeErr(dir, "open", "", ErrNotSupported) }

func openProxy(uri string, _ *url.URL, _ Options) (Repo, error) {
	return nil, storeErr(uri, "open", "", ErrNotSupported)
}

func openHTTP(uri string, _ *url.URL, _ Options) (Repo, error) {
	return nil, storeErr(uri, "open", "", ErrNotSupported)
}
