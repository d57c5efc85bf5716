package app

import (
	"fmt"
	"runtime"

	"github.com/mlgate/mlgate/internal/version"
)

// VersionString is what `mlgate version` prints.
func VersionString() string {
	return fmt.Sprintf("mlgate %s (MLflow %s compatible, %s, %s/%s)",
		version.Version, version.MLflowCompat, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
