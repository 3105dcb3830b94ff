// Package boot owns the agent process: flags and their environment
// variables, JSON logging, the Kubernetes client configuration, the
// controller-runtime manager with leader election, the /metrics, /healthz,
// /readyz and webhook endpoints, and which roles run.
package boot

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/go-logr/logr"
	"go.uber.org/zap/zapcore"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	crzap "sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/argolite/argolite/agent/config"
	stepexec "github.com/argolite/argolite/agent/exec"
	"github.com/argolite/argolite/shared/agentmeta"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
	"github.com/argolite/argolite/shared/version"
)

// Agent is what a role's Setup gets: the manager to add controllers to,
// the mux to add webhook handlers to, and the agent's settings ConfigMaps.
type Agent struct {
	Manager  manager.Manager
	Webhooks *WebhookServer
	Config   *config.Store
	Options  Options
}

// Main runs the agent until SIGTERM or SIGINT and returns the exit code.
func Main(args []string) int {
	if len(args) > 0 && args[0] == "exec" { // the step wrapper inside workflow Pods
		return stepexec.Main(args[1:])
	}
	var o Options
	if err := o.parse(args, os.Getenv); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(os.Stderr, "argolite-agent: %v\n", err)
		return 2
	}
	log := newLogger(o)
	ctrl.SetLogger(log)
	klog.SetLogger(log.WithName("client-go"))

	ctx := ctrl.SetupSignalHandler()
	if err := Run(ctx, o); err != nil {
		log.Error(err, "agent stopped")
		return 1
	}
	return 0
}

func newLogger(o Options) logr.Logger {
	level := zapcore.InfoLevel
	switch o.LogLevel {
	case "debug":
		level = zapcore.DebugLevel
	case "error":
		level = zapcore.ErrorLevel
	}
	return crzap.New(crzap.UseDevMode(o.LogEncoding == "console"), crzap.Level(level))
}

// Run starts the manager with the enabled roles and blocks until ctx ends.
func Run(ctx context.Context, o Options) error {
	log := ctrl.Log.WithName("boot")
	enabled, err := ParseRoles(o.Roles)
	if err != nil {
		return fmt.Errorf("--roles: %w", err)
	}
	cfg, err := restConfig(o)
	if err != nil {
		return err
	}

	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return err
	}
	if err := argov1.AddToScheme(scheme); err != nil {
		return err
	}

	metricsAddr := o.MetricsAddr
	if metricsAddr == "" {
		metricsAddr = "0"
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                        scheme,
		Metrics:                       metricsserver.Options{BindAddress: metricsAddr},
		HealthProbeBindAddress:        o.ProbeAddr,
		PprofBindAddress:              o.PprofAddr,
		LeaderElection:                o.LeaderElect,
		LeaderElectionID:              agentmeta.LeaderElectionID,
		LeaderElectionNamespace:       o.leaderElectionNamespace(),
		LeaderElectionReleaseOnCancel: true,
		LeaseDuration:                 &o.LeaseDuration,
		RenewDeadline:                 &o.RenewDeadline,
		RetryPeriod:                   &o.RetryPeriod,
		GracefulShutdownTimeout:       &o.GracefulShutdownPeriod,
		Cache:                         cache.Options{ByObject: cacheScopes(enabled, log)},
	})
	if err != nil {
		return fmt.Errorf("creating the controller manager: %w", err)
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	registerInfoMetric(enabled)

	store, err := config.NewStore(ctx, cfg, scheme, o.Namespace())
	if err != nil {
		return err
	}
	if err := mgr.Add(store); err != nil {
		return err
	}
	a := &Agent{Manager: mgr, Webhooks: NewWebhookServer(o.WebhookAddr), Config: store, Options: o}
	if err := a.setupRoles(enabled); err != nil {
		return err
	}
	if o.WebhookAddr != "" && o.WebhookAddr != "0" {
		if err := mgr.Add(a.Webhooks); err != nil {
			return err
		}
	}
	if err := mgr.Add(&selfReport{client: mgr.GetClient(), roles: enabled}); err != nil {
		return err
	}

	log.Info("starting agent", "version", version.Version, "commit", version.Commit,
		"roles", strings.Join(enabled, ","), "leaderElection", o.LeaderElect, "host", cfg.Host)
	return mgr.Start(ctx)
}

// restConfig loads the cluster connection: --kubeconfig when given, else the
// in-cluster service account, else $KUBECONFIG and ~/.kube/config.
func restConfig(o Options) (*rest.Config, error) {
	var (
		cfg *rest.Config
		err error
	)
	if o.Kubeconfig != "" {
		cfg, err = clientcmd.BuildConfigFromFlags("", o.Kubeconfig)
		if err != nil {
			return nil, fmt.Errorf("loading --kubeconfig %s: %w", o.Kubeconfig, err)
		}
	} else if cfg, err = ctrl.GetConfig(); err != nil {
		return nil, fmt.Errorf("no cluster configuration: run in a Pod, pass --kubeconfig or set KUBECONFIG: %w", err)
	}
	cfg.QPS = float32(o.KubeAPIQPS)
	cfg.Burst = o.KubeAPIBurst
	cfg.UserAgent = "argolite-agent/" + version.Version
	return cfg, nil
}
