package benchkit

import (
	"context"
	"fmt"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/argolite/argolite/shared/agentmeta"
)

// PprofPort is where EnableAgentPprof has the agent serve /debug/pprof.
const PprofPort = 6060

// EnableAgentPprof turns on the agent's profiling endpoints
// (--pprof-bind-address through its environment variable), which rolls the
// Deployment, and returns the new leading Pod once old is gone.
func (c *Cluster) EnableAgentPprof(ctx context.Context, old *corev1.Pod) (*corev1.Pod, error) {
	patch := fmt.Sprintf(`{"spec":{"template":{"spec":{"containers":[{"name":"agent","env":[{"name":"ARGOLITE_PPROF_BIND_ADDRESS","value":":%d"}]}]}}}}`, PprofPort)
	if _, err := c.CS.AppsV1().Deployments(agentmeta.Namespace).Patch(ctx, agentmeta.Name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		return nil, fmt.Errorf("enabling the agent's pprof endpoints: %w", err)
	}
	if err := Poll(ctx, "the agent Pod "+old.Name+" to be replaced", 250*time.Millisecond, 3*time.Minute, func(ctx context.Context) (bool, error) {
		_, err := c.CS.CoreV1().Pods(agentmeta.Namespace).Get(ctx, old.Name, metav1.GetOptions{})
		return err != nil, nil
	}); err != nil {
		return nil, err
	}
	return c.WaitAgent(ctx)
}

// CPUProfile records the agent Pod's CPU profile for d through the API
// server's Pod proxy (the agent must serve pprof: EnableAgentPprof).
func (c *Cluster) CPUProfile(ctx context.Context, pod *corev1.Pod, d time.Duration) ([]byte, error) {
	path := fmt.Sprintf("/api/v1/namespaces/%s/pods/%s:%d/proxy/debug/pprof/profile", pod.Namespace, pod.Name, PprofPort)
	ctx, cancel := context.WithTimeout(ctx, d+time.Minute)
	defer cancel()
	b, err := c.CS.CoreV1().RESTClient().Get().AbsPath(path).Param("seconds", strconv.Itoa(int(d.Seconds()))).DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the CPU profile of %s: %w", pod.Name, err)
	}
	return b, nil
}
