package boot

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/argolite/argolite/shared/version"

	"github.com/argolite/argolite/agent/workflow"
	"github.com/argolite/argolite/shared/agentmeta"
)

// envPrefix is prepended to a flag's upper-cased name (dashes as underscores)
// to form the environment variable that sets it: --roles is ARGOLITE_ROLES.
const envPrefix = "ARGOLITE_"

// Options are the agent's settings, from flags or their environment variables.
type Options struct {
	Kubeconfig             string
	Roles                  string
	MetricsAddr            string
	ProbeAddr              string
	PprofAddr              string
	WebhookAddr            string
	LeaderElect            bool
	LeaderElectionNS       string
	LeaseDuration          time.Duration
	RenewDeadline          time.Duration
	RetryPeriod            time.Duration
	KubeAPIQPS             float64
	KubeAPIBurst           int
	LogLevel               string
	LogEncoding            string
	GracefulShutdownPeriod time.Duration

	GitPollInterval   time.Duration
	GitCacheDir       string
	GitopsConcurrency int
	SyncTimeout       time.Duration
	WebhookSecretName string

	ExecutorImage       string
	WorkflowConcurrency int
	// RolloutConcurrency is how many AnalysisRuns are reconciled at once.
	RolloutConcurrency int
	MaxWorkflowSize    int
}

// bindFlags registers every option on fs with its default.
func (o *Options) bindFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.Kubeconfig, "kubeconfig", "", "Path to a kubeconfig, to run outside the cluster. Empty: in-cluster config, then $KUBECONFIG and ~/.kube/config.")
	fs.StringVar(&o.Roles, "roles", "all", "Comma-separated roles to run: "+strings.Join(RoleNames(), ", ")+", or all. Prefix a role with - to switch it off (all,-events).")
	fs.StringVar(&o.MetricsAddr, "metrics-bind-address", ":8080", "Address of the Prometheus /metrics endpoint; 0 switches it off.")
	fs.StringVar(&o.ProbeAddr, "health-probe-bind-address", ":8081", "Address of the /healthz and /readyz endpoints.")
	fs.StringVar(&o.PprofAddr, "pprof-bind-address", "0", "Address of Go's /debug/pprof profiling endpoints; 0 (the default) switches them off.")
	fs.StringVar(&o.WebhookAddr, "webhook-bind-address", ":9090", "Address of the HTTP endpoint that receives Git and event webhooks; 0 switches it off.")
	fs.BoolVar(&o.LeaderElect, "leader-elect", true, "Elect one active replica through a Lease; the others stand by.")
	fs.StringVar(&o.LeaderElectionNS, "leader-election-namespace", "", "Namespace of the leader Lease. Empty: the agent's own namespace ($POD_NAMESPACE), else "+agentmeta.Namespace+".")
	fs.DurationVar(&o.LeaseDuration, "leader-election-lease-duration", 15*time.Second, "How long standby replicas wait before taking over an unrenewed Lease.")
	fs.DurationVar(&o.RenewDeadline, "leader-election-renew-deadline", 10*time.Second, "How long the leader keeps trying to renew before it steps down.")
	fs.DurationVar(&o.RetryPeriod, "leader-election-retry-period", 2*time.Second, "How often replicas try to acquire or renew the Lease.")
	// The API server protects itself with API Priority and Fairness; a client-side
	// token bucket only slows syncs (see docs/benchmarks.md), so it is off by default.
	fs.Float64Var(&o.KubeAPIQPS, "kube-api-qps", -1, "Client-side request rate limit to the API server; negative switches the limiter off and leaves flow control to the server.")
	fs.IntVar(&o.KubeAPIBurst, "kube-api-burst", 300, "Client-side burst when --kube-api-qps is positive.")
	fs.StringVar(&o.LogLevel, "log-level", "info", "Log level: debug, info or error.")
	fs.StringVar(&o.LogEncoding, "log-encoding", "json", "Log encoding: json or console.")
	fs.DurationVar(&o.GracefulShutdownPeriod, "graceful-shutdown-timeout", 30*time.Second, "How long running work gets to finish on SIGTERM.")
	fs.DurationVar(&o.GitPollInterval, "git-poll-interval", 3*time.Minute, "How often each Application's Git revision is checked (jittered by up to 10%); webhooks refresh at once.")
	fs.StringVar(&o.GitCacheDir, "git-cache-dir", "/tmp/argolite/git", "Directory of cached clones and checked-out trees.")
	fs.IntVar(&o.GitopsConcurrency, "gitops-concurrency", 4, "How many Applications are reconciled at once.")
	fs.DurationVar(&o.SyncTimeout, "sync-timeout", 15*time.Minute, "How long a sync may wait for a wave to turn healthy or a hook to finish before it fails.")
	fs.StringVar(&o.ExecutorImage, "executor-image", version.AgentImage(), "Image whose agent binary wraps workflow steps (install sets it to the agent's own image).")
	fs.IntVar(&o.WorkflowConcurrency, "workflow-concurrency", 8, "How many Workflows are operated on at once.")
	fs.IntVar(&o.RolloutConcurrency, "rollout-concurrency", 4, "How many AnalysisRuns are reconciled at once.")
	fs.IntVar(&o.MaxWorkflowSize, "max-workflow-size", workflow.DefaultMaxWorkflowSize, "Largest JSON size in bytes a Workflow is written with (Argo's MAX_WORKFLOW_SIZE): beyond it status.nodes is compressed into status.compressedNodes, and a workflow too large even then ends in Error.")
	fs.StringVar(&o.WebhookSecretName, "webhook-secret", "argolite-webhook", "Secret in the agent's namespace whose key \"secret\" signs Git push webhooks; absent: pushes are accepted unsigned.")
}

// parse reads args, then fills every flag not given on the command line from
// its environment variable. Flags win over the environment.
func (o *Options) parse(args []string, getenv func(string) string) error {
	fs := flag.NewFlagSet("argolite-agent", flag.ContinueOnError)
	o.bindFlags(fs)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: argolite-agent [flags]\n\n"+
			"Every flag can also be set with an environment variable: %s and the flag name in\n"+
			"upper case with underscores (--roles is %s). A flag on the command line wins.\n\n",
			envPrefix, EnvName("roles"))
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q: the agent takes only flags (see --help)", fs.Args())
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var errs []string
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] {
			return
		}
		env := EnvName(f.Name)
		if v := getenv(env); v != "" {
			if err := f.Value.Set(v); err != nil {
				errs = append(errs, fmt.Sprintf("%s=%q: %v", env, v, err))
			}
		}
	})
	if len(errs) > 0 {
		return fmt.Errorf("invalid environment: %s", strings.Join(errs, "; "))
	}
	return o.validate()
}

// EnvName is the environment variable that sets the flag named flagName.
func EnvName(flagName string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

func (o *Options) validate() error {
	if _, err := ParseRoles(o.Roles); err != nil {
		return fmt.Errorf("--roles: %w", err)
	}
	switch o.LogLevel {
	case "debug", "info", "error":
	default:
		return fmt.Errorf("--log-level %q: use debug, info or error", o.LogLevel)
	}
	switch o.LogEncoding {
	case "json", "console":
	default:
		return fmt.Errorf("--log-encoding %q: use json or console", o.LogEncoding)
	}
	if o.MaxWorkflowSize <= 0 {
		return fmt.Errorf("--max-workflow-size %d: use a positive number of bytes (default %d, 1 MiB)", o.MaxWorkflowSize, workflow.DefaultMaxWorkflowSize)
	}
	if o.LeaderElect && o.RenewDeadline >= o.LeaseDuration {
		return fmt.Errorf("--leader-election-renew-deadline (%s) must be shorter than --leader-election-lease-duration (%s)", o.RenewDeadline, o.LeaseDuration)
	}
	return nil
}

func (o *Options) leaderElectionNamespace() string {
	if o.LeaderElectionNS != "" {
		return o.LeaderElectionNS
	}
	return o.Namespace()
}

// Namespace is the agent's own namespace: where it reads its Secrets and
// ConfigMaps ($POD_NAMESPACE, else argolite-system).
func (o *Options) Namespace() string {
	if ns := os.Getenv("POD_NAMESPACE"); ns != "" {
		return ns
	}
	return agentmeta.Namespace
}
