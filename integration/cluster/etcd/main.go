// Command etcd is the local test cluster's etcd, built from the Go module
// proxy: it only hands over to etcd's own main.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
