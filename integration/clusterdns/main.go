// Command clusterdns is the local test cluster's DNS server, a stand-in for
// CoreDNS's kubernetes plugin. It watches Services and EndpointSlices with
// client-go informers and answers, over UDP and TCP with a 5 s TTL:
//
//   - <svc>.<ns>.svc.<domain>: A with the ClusterIP; for a headless Service
//     the addresses of its ready endpoints; a CNAME for an ExternalName one;
//   - <endpoint>.<svc>.<ns>.svc.<domain>: the endpoint whose hostname (or
//     address written with dashes) is <endpoint>;
//   - <a-b-c-d>.<ns>.pod.<domain>: a-b-c-d read as an address, unchecked;
//   - AAAA for these names: empty NOERROR on an IPv4 cluster;
//   - NXDOMAIN for other names inside the domain, REFUSED for names outside
//     it: nothing is forwarded (the test machine has no internet), so Pods
//     resolve cluster names only. SERVFAIL until the caches are synced.
//
// integration/cluster/up.sh builds it into bin/, runs it on the node address
// port 53 (Pods reach the host there) and points the kubelet's clusterDNS at
// it. It logs one line when it serves and errors; -v logs every query.
//
//	clusterdns -listen 192.0.2.2:53 -kubeconfig .cluster/admin.kubeconfig
//	clusterdns query [-server host:port] [-type A] [-tcp] NAME
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "query" {
		os.Exit(queryMain(os.Args[2:]))
	}
	log.SetPrefix("clusterdns: ")
	listen := flag.String("listen", "127.0.0.1:53", "UDP and TCP `address` to serve on (the node address in the cluster)")
	kubeconfig := flag.String("kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig `file` (default $KUBECONFIG)")
	domain := flag.String("domain", "cluster.local", "cluster domain")
	ttl := flag.Duration("ttl", 5*time.Second, "TTL of answers and of cached negative answers")
	verbose := flag.Bool("v", false, "log every query")
	flag.Parse()
	if flag.NArg() != 0 || *kubeconfig == "" || *ttl < time.Second {
		fmt.Fprintln(os.Stderr, "usage: clusterdns -kubeconfig FILE [-listen ADDR] [-domain cluster.local] [-ttl 5s] [-v]")
		fmt.Fprintln(os.Stderr, "       clusterdns query [-server ADDR] [-type A] [-tcp] NAME")
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *listen, *kubeconfig, *domain, *ttl, *verbose); err != nil {
		log.Printf("error: %v", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, listen, kubeconfig, domain string, ttl time.Duration, verbose bool) error {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return fmt.Errorf("reading %s: %w", kubeconfig, err)
	}
	cfg.UserAgent = "argolite-clusterdns"
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	store := newInformerStore(client, log.Printf)
	res, err := newResolver(domain, ttl, store)
	if err != nil {
		return fmt.Errorf("cluster domain %q: %w", domain, err)
	}
	srv := newServer(res, verbose)
	if err := srv.listen(listen); err != nil {
		return err
	}
	defer srv.close()
	srv.serve()
	store.start(ctx.Done())

	// Until the caches are synced, cluster names get SERVFAIL, never a
	// negative answer a resolver would cache.
	for waited := time.Duration(0); ; {
		syncCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		synced := store.waitForSync(syncCtx.Done())
		cancel()
		if synced {
			break
		}
		if ctx.Err() != nil {
			return nil
		}
		waited += 30 * time.Second
		// The informers retry quietly; one plain request tells why.
		reason := "the caches are still filling"
		probeCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		if _, err := client.CoreV1().Services(metav1.NamespaceDefault).List(probeCtx, metav1.ListOptions{Limit: 1}); err != nil {
			reason = err.Error()
		}
		cancel()
		log.Printf("error: no Services from %s after %s (%s); cluster names get SERVFAIL until they come", cfg.Host, waited, reason)
	}
	n := 0
	if svcs, err := store.services.List(labels.Everything()); err == nil {
		n = len(svcs)
	}
	log.Printf("serving %s on %s (udp, tcp), TTL %s, %d Services from %s; other names are refused, nothing is forwarded",
		res.domain, srv.addr(), ttl, n, cfg.Host)
	<-ctx.Done()
	return nil
}
