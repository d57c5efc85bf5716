package artifacts

import (
	"mime"
	"path"
	"slices"
	"strings"
)

// compressedExts are the encodings Python's mimetypes.guess_type reports.
var compressedExts = map[string]string{".gz": "gzip", ".Z": "compress", ".bz2": "bzip2", ".xz": "xz", ".br": "br"}

// GuessType guesses a file's media type (without parameters) and encoding
// like Python's mimetypes.guess_type, which MLflow uses: a compression
// suffix is the encoding, the suffix before it the type. Either is "" when
// unknown.
func GuessType(rel string) (ctype, encoding string) {
	name := path.Base(rel)
	if strings.HasSuffix(name, ".tgz") {
		name = strings.TrimSuffix(name, ".tgz") + ".tar.gz"
	}
	ext := path.Ext(name)
	if enc, ok := compressedExts[ext]; ok {
		encoding = enc
		ext = path.Ext(strings.TrimSuffix(name, ext))
	}
	if t := mime.TypeByExtension(ext); t != "" && ext != "" {
		if mt, _, err := mime.ParseMediaType(t); err == nil {
			t = mt
		}
		ctype = t
	}
	return ctype, encoding
}

// textExtensions are the suffixes (or, without one, the file names) MLflow
// serves as text/plain.
var textExtensions = []string{
	"txt", "log", "err", "cfg", "conf", "cnf", "cf", "ini", "properties", "prop", "hocon",
	"toml", "yaml", "yml", "xml", "json", "js", "py", "py3", "csv", "tsv", "md", "rst", "ipynb",
	"MLmodel", "mlproject",
}

// DownloadType is the Content-Type MLflow's server sends for an artifact
// download (its _guess_mime_type): text/plain, without a charset, for text
// files, MLmodel and "mlproject" (MLflow lists its MLproject file name in
// lower case, so "MLproject" is not text to it); the guessed type otherwise;
// application/octet-stream when nothing is known.
func DownloadType(rel string) string {
	name := path.Base(rel)
	ext := strings.TrimPrefix(path.Ext(name), ".")
	if ext == "" || ext == name[1:] && strings.HasPrefix(name, ".") {
		// Python's splitext: no suffix, or a dot file like ".bashrc"
		ext = name
	}
	if slices.Contains(textExtensions, ext) {
		return "text/plain"
	}
	if t, _ := GuessType(name); t != "" {
		return t
	}
	return "application/octet-stream"
}
