// Package fetch reads and writes artifact stores by URI scheme and downloads
// whole artifact trees into a verified, content-addressed local cache.
//
// Schemes: local paths and file:, mlflow-artifacts: (the tracking server's
// artifact proxy), http(s) URLs that point into such a proxy (or at a single
// file), and s3:. A Repo lists, reads and (where the scheme allows) writes
// files relative to its root.
//
// Downloads run over a bounded number of parallel connections, retry files
// whose transfer was cut or whose size differs from the listing, report
// progress (a bar on a terminal, periodic log lines otherwise) and land in
// the cache through a temporary directory and one rename, so a crash never
// leaves a partial tree that looks complete.
package fetch
