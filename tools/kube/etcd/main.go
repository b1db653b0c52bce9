// Command etcd is the etcd server for the test control plane. Debian's etcd-server (3.4) is
// older than the floor Kubernetes 1.36 supports, and etcd's own main lives in a module we do
// not need, so this calls the server module's entry point directly with our arguments.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
