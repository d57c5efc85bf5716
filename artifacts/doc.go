// Package artifacts reads and writes MLflow artifact stores, chosen by URI
// scheme: local folders and file:, s3: (aws-sdk-go-v2), gs: (Google Cloud
// Storage), wasbs: and abfss: (Azure Blob Storage), and mlflow-artifacts:
// or http(s) URLs into a tracking server's artifact proxy.
//
// A Repo is one store rooted at one URI; every path given to it is
// relative, slash-separated and checked by CleanPath's rules before it
// reaches a disk or a bucket. Failures are *StoreError values that name
// the store and match ErrNotFound, ErrBadPath, ErrPermission,
// ErrUnavailable or ErrNotSupported with errors.Is.
//
// Download and Cache.Fetch copy a whole tree to a local folder over a
// bounded number of parallel transfers, retrying cut or short files, with
// a progress bar on a terminal (log lines otherwise); a large file of a
// store that reads ranges (RangeOpener) comes in parallel parts. Both land
// through a temporary folder and one rename, so a partial tree never looks
// complete; the cache is keyed by the URI and its listing.
//
// It is the only package that imports the cloud SDKs. It imports no other
// mlgate package but rest (the tracking server's transport) and
// internal/apierr.
package artifacts
