// Command coredns is the local test cluster's DNS server: CoreDNS built from
// the Go module proxy with only the plugins up.sh's Corefile uses, the
// kubernetes plugin among them. Nothing is forwarded (the test machine may
// send no traffic to its own resolver), so there is no forward or loop.
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/ready"
	_ "github.com/coredns/coredns/plugin/reload"
)

// directives are the plugins compiled in, in the order of CoreDNS's own
// plugin.cfg: a plugin sees a query only after every plugin listed before it.
var directives = []string{"reload", "bind", "ready", "health", "errors", "log", "cache", "kubernetes"}

func init() { dnsserver.Directives = directives }

func main() { coremain.Run() }
