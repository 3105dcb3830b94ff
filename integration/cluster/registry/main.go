// Command registry is the local test cluster's OCI registry: the CNCF
// distribution registry (what Docker Hub and most private registries run),
// built from the Go module proxy with only the filesystem storage driver, so
// no cloud SDK is compiled in. up.sh writes its config and starts it.
package main

import (
	"os"

	"github.com/distribution/distribution/v3/registry"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/filesystem"
)

func main() {
	if err := registry.RootCmd.Execute(); err != nil {
		os.Exit(1)
	}
}
