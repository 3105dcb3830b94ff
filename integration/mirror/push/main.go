// Command push pushes image tarballs to the local cluster's registry under
// every name each carries (see package mirror) and prints, for each tarball,
// one line with those names as upstream references, for up.sh to pull them
// into containerd.
//
//	go run ./integration/mirror/push -registry 192.0.2.2:5000 -ca .cluster/pki/ca.crt bin/images/*.tar
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/argolite/argolite/integration/mirror"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "push:", err)
		}
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("push", flag.ContinueOnError)
	registry := fs.String("registry", "", "the registry, host:port (required; up.sh passes <node address>:5000)")
	ca := fs.String("ca", "", "the CA certificate the registry's certificate is signed by (required: $CLUSTER_DIR/pki/ca.crt)")
	timeout := fs.Duration("timeout", 5*time.Minute, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *registry == "" || *ca == "" || fs.NArg() == 0 {
		fs.Usage()
		return errors.New("usage: push -registry HOST:PORT -ca CA.crt IMAGE.tar [IMAGE.tar]")
	}
	pem, err := os.ReadFile(*ca)
	if err != nil {
		return fmt.Errorf("reading the registry's CA: %w", err)
	}
	tr, err := mirror.Transport(pem)
	if err != nil {
		return fmt.Errorf("%s: %w", *ca, err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	for _, archive := range fs.Args() {
		tags, err := mirror.Push(ctx, archive, *registry, remote.WithTransport(tr))
		if err != nil {
			return err
		}
		refs := make([]string, len(tags))
		for i, t := range tags {
			refs[i] = mirror.Upstream(t)
		}
		fmt.Println(strings.Join(refs, " "))
	}
	return nil
}
