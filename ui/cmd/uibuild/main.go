// Command uibuild builds the web UI bundle: `go run ./ui/cmd/uibuild`
// bundles ui/web into ui/dist (`make ui`); -check only reports whether
// ui/dist matches its sources.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/mlgate/mlgate/ui/bundle"
)

func main() {
	src := flag.String("src", "ui/web", "front-end sources (with node_modules from npm ci)")
	out := flag.String("out", "ui/dist", "bundle folder embedded by package ui")
	check := flag.Bool("check", false, "only check that -out matches a fresh build")
	flag.Parse()
	if err := run(*src, *out, *check); err != nil {
		fmt.Fprintln(os.Stderr, "uibuild:", err)
		os.Exit(1)
	}
}

func run(src, out string, check bool) error {
	files, err := bundle.Build(src, bundle.AssetPrefix)
	if err != nil {
		return err
	}
	if check {
		diffs, err := bundle.Diff(out, files)
		if err != nil {
			return err
		}
		if len(diffs) > 0 {
			for _, d := range diffs {
				fmt.Fprintln(os.Stderr, d)
			}
			return fmt.Errorf("%s is not the build of %s: run make ui", out, src)
		}
		return nil
	}
	if err := bundle.Write(out, files); err != nil {
		return err
	}
	fmt.Printf("uibuild: wrote %s (%d bytes of gzip JS+CSS)\n", out, bundle.Size(files))
	return nil
}
