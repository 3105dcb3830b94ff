package boot

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/argolite/argolite/shared/agentmeta"
	"github.com/argolite/argolite/shared/version"
)

// The agent's own Pod (self-report) and leader Lease live in its namespace;
// Events go wherever the objects it acts on are.
// +kubebuilder:rbac:groups="",namespace=argolite-system,resources=pods,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=coordination.k8s.io,namespace=argolite-system,resources=leases,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// selfReport writes this replica's version and roles on its own Pod, so the
// plugin can read them through the Kubernetes API alone.
type selfReport struct {
	client client.Client
	roles  []string
}

// NeedLeaderElection is false: every replica reports itself.
func (s *selfReport) NeedLeaderElection() bool { return false }

func (s *selfReport) Start(ctx context.Context) error {
	log := ctrl.Log.WithName("self-report")
	name, ns := os.Getenv("POD_NAME"), os.Getenv("POD_NAMESPACE")
	if name == "" || ns == "" {
		log.Info("not running in a Pod (POD_NAME and POD_NAMESPACE unset): version not published")
		return nil
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{
		agentmeta.VersionAnnotation: version.Version,
		agentmeta.RolesAnnotation:   strings.Join(s.roles, ","),
	}}})
	if err != nil {
		return err
	}
	pod := &corev1.Pod{}
	pod.Name, pod.Namespace = name, ns
	backoff := wait.Backoff{Duration: 500 * time.Millisecond, Factor: 2, Jitter: 0.1, Steps: 8, Cap: 30 * time.Second}
	var lastErr error
	err = wait.ExponentialBackoffWithContext(ctx, backoff, func(ctx context.Context) (bool, error) {
		lastErr = s.client.Patch(ctx, pod, client.RawPatch(types.MergePatchType, patch))
		return lastErr == nil, nil
	})
	if err != nil {
		// Reporting is informational: the agent keeps working without it.
		log.Error(lastErr, "publishing the agent version on its Pod failed", "pod", ns+"/"+name)
		return nil
	}
	log.Info("published version on Pod", "pod", ns+"/"+name, "version", version.Version)
	return nil
}

// registerInfoMetric exposes argolite_agent_info{version,commit,roles} = 1.
func registerInfoMetric(roles []string) {
	info := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "argolite_agent_info",
		Help: "Build and role information of the running argolite agent; always 1.",
	}, []string{"version", "commit", "roles"})
	info.WithLabelValues(version.Version, version.Commit, strings.Join(roles, ",")).Set(1)
	if err := metrics.Registry.Register(info); err != nil {
		ctrl.Log.WithName("boot").Error(fmt.Errorf("registering argolite_agent_info: %w", err), "metric not exposed")
	}
}
