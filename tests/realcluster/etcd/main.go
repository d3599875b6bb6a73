// Command etcd is etcd's own server entry point: go.etcd.io/etcd/server/v3/etcdmain
// is a library package, so this module supplies the main package around it.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
