// Command podsd is the Pod discovery of the local cluster's Prometheus.
// Debian's prometheus package is built without kubernetes_sd_configs (its
// NEWS.Debian: removed for client-go's dependencies), so integration/cluster/
// up.sh runs podsd next to it: podsd watches every Pod with client-go and
// writes them to -out as a file_sd_configs target file, with the targets and
// __meta_kubernetes_* labels kubernetes_sd_configs' role pod gives
// (targets.go), so the usual prometheus.io/scrape relabelling works as
// written. Prometheus picks each rewrite up at once (it watches the file).
//
//	podsd -kubeconfig .cluster/admin.kubeconfig -out .cluster/prometheus/targets/pods.json
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
)

// settle is how long podsd gathers Pod changes before it writes the file
// again, so a burst of Pod updates (a workflow's fan-out) is one rewrite.
const settle = 200 * time.Millisecond

func main() {
	if err := run(os.Args[1:]); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "podsd:", err)
		}
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("podsd", flag.ContinueOnError)
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig of the cluster to watch (required)")
	out := fs.String("out", "", "the file_sd target file to write (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *kubeconfig == "" || *out == "" {
		fs.Usage()
		return errors.New("-kubeconfig and -out are required")
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		return fmt.Errorf("loading %s: %w", *kubeconfig, err)
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("client for %s: %w", cfg.Host, err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	factory := informers.NewSharedInformerFactory(client, 0)
	pods := factory.Core().V1().Pods()
	changed := make(chan struct{}, 1)
	notify := func(any) {
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	if _, err := pods.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    notify,
		UpdateFunc: func(_, obj any) { notify(obj) },
		DeleteFunc: notify,
	}); err != nil {
		return fmt.Errorf("watching Pods: %w", err)
	}
	factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), pods.Informer().HasSynced) {
		return fmt.Errorf("listing Pods from %s: %w", cfg.Host, context.Cause(ctx))
	}

	var last []byte
	write := func() error {
		list, err := pods.Lister().List(labels.Everything())
		if err != nil {
			return err
		}
		b, err := json.MarshalIndent(targetGroups(list), "", "  ")
		if err != nil {
			return err
		}
		if bytes.Equal(b, last) {
			return nil
		}
		if err := writeFile(*out, b); err != nil {
			return err
		}
		last = b
		return nil
	}
	if err := write(); err != nil {
		return err
	}
	log.Printf("watching Pods on %s, writing %s", cfg.Host, *out)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(settle):
		}
		if err := write(); err != nil {
			// Prometheus keeps the last good file: say so and try on the next change.
			log.Printf("writing %s: %v", *out, err)
		}
	}
}

// writeFile replaces p with b by a rename, so Prometheus never reads half a
// file.
func writeFile(p string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".podsd-*.json")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		_ = tmp.Close()
		_ = os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), p)
}

// targetGroups is pods' file_sd content, in a stable order (by namespace
// and name, then as the Pod lists its containers and ports).
func targetGroups(pods []*corev1.Pod) []targetGroup {
	sorted := append([]*corev1.Pod(nil), pods...)
	sortPods(sorted)
	out := []targetGroup{}
	for _, p := range sorted {
		out = append(out, podTargets(p)...)
	}
	return out
}
