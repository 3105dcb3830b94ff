package cli

import (
	"fmt"
	"io"
	"os"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
	"github.com/argolite/argolite/shared/version"
)

// Clients are the connections to one cluster that a command uses. Commands
// hold them in a field that tests fill with fakes; NewClients builds real ones.
type Clients struct {
	// Client reads and writes typed and unstructured objects.
	Client client.Client
	// Mapper maps kinds to resources, for ssa's status poller.
	Mapper meta.RESTMapper
	// Kube is client-go's clientset, for what Client does not cover
	// (discovery, logs).
	Kube kubernetes.Interface
	// Server and Context name the cluster in error messages.
	Server  string
	Context string
}

// NewScheme returns a scheme with client-go's kinds, CRDs and argolite's kinds.
func NewScheme() (*runtime.Scheme, error) {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		clientgoscheme.AddToScheme,
		apiextensionsv1.AddToScheme,
		argov1.AddToScheme,
	} {
		if err := add(scheme); err != nil {
			return nil, fmt.Errorf("building the client scheme: %w", err)
		}
	}
	return scheme, nil
}

// RESTConfig is the configuration of every client of the plugin for the
// cluster the kubeconfig flags select: no client-side rate limit, the
// plugin's user agent, API server warnings to warnings.
func RESTConfig(flags *genericclioptions.ConfigFlags, warnings io.Writer) (*rest.Config, error) {
	cfg, err := flags.ToRESTConfig()
	if err != nil {
		return nil, explainConfig(err)
	}
	cfg = rest.CopyConfig(cfg)
	// The API server protects itself with API Priority and Fairness; a
	// client-side token bucket would only slow installs (see BRIEF.md).
	cfg.QPS = -1
	cfg.UserAgent = "kubectl-argo/" + version.Version
	cfg.WarningHandler = rest.NewWarningWriter(warnings, rest.WarningWriterOptions{Deduplicate: true})
	return cfg, nil
}

// NewClients connects to the cluster the kubeconfig flags select. It makes
// no request: an unreachable server shows up in the first call, which
// Explain turns into a readable error. API server warnings go to warnings.
func NewClients(flags *genericclioptions.ConfigFlags, warnings io.Writer) (*Clients, error) {
	cfg, err := RESTConfig(flags, warnings)
	if err != nil {
		return nil, err
	}
	raw, rawErr := flags.ToRawKubeConfigLoader().RawConfig()
	// With no kubeconfig, no --server and no in-cluster service account,
	// client-go falls back to http://localhost:8080, whose "connection
	// refused" would hide that nothing is configured.
	if rawErr == nil && len(raw.Clusters) == 0 && (flags.APIServer == nil || *flags.APIServer == "") &&
		os.Getenv("KUBERNETES_SERVICE_HOST") == "" {
		return nil, explainConfig(clientcmd.ErrEmptyConfig)
	}

	contextName := ""
	if flags.Context != nil && *flags.Context != "" {
		contextName = *flags.Context
	} else if rawErr == nil {
		contextName = raw.CurrentContext
	}

	// The discovery-backed mapper caches on disk like kubectl's, and
	// rediscovers when a kind is missing (after install adds the CRDs).
	mapper, err := flags.ToRESTMapper()
	if err != nil {
		return nil, explainConfig(err)
	}
	scheme, err := NewScheme()
	if err != nil {
		return nil, err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme, Mapper: mapper})
	if err != nil {
		return nil, fmt.Errorf("creating a client for %s: %w", cfg.Host, err)
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("creating a clientset for %s: %w", cfg.Host, err)
	}
	return &Clients{Client: c, Mapper: mapper, Kube: kube, Server: cfg.Host, Context: contextName}, nil
}
