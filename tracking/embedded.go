package tracking

import "fmt"

// openEmbedded opens the embedded store for a sqlite:/// or postgresql://
// tracking URI.
func openEmbedded(uri string, _ Config) (Backend, error) {
	return nil, fmt.Errorf("tracking URI %q: the embedded backend is not available in this build", uri)
}
