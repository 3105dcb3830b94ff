package boot

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/argolite/argolite/agent/events"
	"github.com/argolite/argolite/agent/gitops"
	"github.com/argolite/argolite/agent/rollout"
	"github.com/argolite/argolite/agent/workflow"
)

// Role is one of argolite's jobs. When a role is switched on, its Setup adds
// its controllers and webhook handlers to the agent.
type Role struct {
	Name    string
	Summary string
	// Setup is nil while the role has no controllers in this build: the
	// role can be switched on, and the agent reports that it runs nothing.
	Setup func(a *Agent) error
	// Cache limits what the manager's shared cache holds of a kind the role
	// watches in bulk (a label selector on Pods, say), so the agent's memory
	// follows the role's objects, not the cluster's.
	Cache func() map[client.Object]cache.ByObject
}

// roles lists every role in the order they start. Each role's package adds
// its Setup here as it arrives.
var roles = []Role{
	{Name: "gitops", Summary: "Applications: sync from Git with server-side apply, prune, drift, health", Setup: setupGitops},
	{Name: "workflow", Summary: "Workflows, WorkflowTemplates and CronWorkflows run as Pods", Setup: setupWorkflow,
		Cache: func() map[client.Object]cache.ByObject {
			return map[client.Object]cache.ByObject{&corev1.Pod{}: {Label: workflow.PodSelector()}}
		}},
	{Name: "rollout", Summary: "Rollouts: blue/green and canary gated by analysis", Setup: setupRollout,
		Cache: rollout.CacheScopes},
	{Name: "events", Summary: "EventSources and Sensors: webhooks, schedules and cluster changes into actions", Setup: setupEvents},
	{Name: "notify", Summary: "Notifications to Slack, webhooks and email"},
}

// RoleNames lists the known roles in start order.
func RoleNames() []string {
	names := make([]string, 0, len(roles))
	for _, r := range roles {
		names = append(names, r.Name)
	}
	return names
}

// ParseRoles turns a --roles value such as "all,-events" or "gitops,workflow"
// into the enabled role names, in start order.
func ParseRoles(spec string) ([]string, error) {
	known := RoleNames()
	on := map[string]bool{}
	for _, item := range strings.Split(spec, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		enable := !strings.HasPrefix(item, "-")
		name := strings.TrimPrefix(item, "-")
		switch {
		case name == "all":
			for _, k := range known {
				on[k] = enable
			}
		case slices.Contains(known, name):
			on[name] = enable
		default:
			return nil, fmt.Errorf("unknown role %q: use %s or all", name, strings.Join(known, ", "))
		}
	}
	var enabled []string
	for _, k := range known {
		if on[k] {
			enabled = append(enabled, k)
		}
	}
	if len(enabled) == 0 {
		return nil, fmt.Errorf("%q switches every role off: name at least one of %s", spec, strings.Join(known, ", "))
	}
	return enabled, nil
}

// cacheScopes merges the cache limits of the enabled roles. Two roles that
// limit the same kind would each miss the other's objects, and label
// selectors cannot be joined with "or": that kind is cached whole then.
func cacheScopes(enabled []string, log logr.Logger) map[client.Object]cache.ByObject {
	out := map[client.Object]cache.ByObject{}
	claimed := map[reflect.Type]client.Object{}
	owner := map[reflect.Type]string{}
	for _, r := range roles {
		if r.Cache == nil || !slices.Contains(enabled, r.Name) {
			continue
		}
		for obj, scope := range r.Cache() {
			t := reflect.TypeOf(obj)
			if prev, ok := claimed[t]; ok {
				log.Info("two roles limit the cache of one kind: caching all of it", "kind", t.Elem().Name(), "roles", owner[t]+","+r.Name)
				out[prev] = cache.ByObject{}
				continue
			}
			claimed[t], owner[t] = obj, r.Name
			out[obj] = scope
		}
	}
	return out
}

// setupRoles adds the enabled roles' controllers to the agent.
func (a *Agent) setupRoles(enabled []string) error {
	log := ctrl.Log.WithName("roles")
	for _, r := range roles {
		if !slices.Contains(enabled, r.Name) {
			log.Info("role off", "role", r.Name)
			continue
		}
		if r.Setup == nil {
			log.Info("role on, no controllers in this build", "role", r.Name)
			continue
		}
		if err := r.Setup(a); err != nil {
			return fmt.Errorf("setting up role %s: %w", r.Name, err)
		}
		log.Info("role on", "role", r.Name)
	}
	return nil
}

func setupGitops(a *Agent) error {
	o := a.Options
	return gitops.Setup(a.Manager, a.Webhooks, a.Config, gitops.Options{
		Namespace:         o.Namespace(),
		PollInterval:      o.GitPollInterval,
		GitCacheDir:       o.GitCacheDir,
		Concurrency:       o.GitopsConcurrency,
		SyncTimeout:       o.SyncTimeout,
		WebhookSecretName: o.WebhookSecretName,
	})
}

func setupWorkflow(a *Agent) error {
	o := a.Options
	return workflow.Setup(a.Manager, a.Config, workflow.Options{
		Namespace:       o.Namespace(),
		ExecutorImage:   o.ExecutorImage,
		Concurrency:     o.WorkflowConcurrency,
		MaxWorkflowSize: o.MaxWorkflowSize,
	})
}

// setupRollout adds the rollout role's controllers: Rollouts and AnalysisRuns.
func setupRollout(a *Agent) error {
	return rollout.Setup(a.Manager, rollout.Options{Concurrency: a.Options.RolloutConcurrency})
}

// setupEvents adds the events role: EventSources, Sensors and their
// webhook endpoint.
func setupEvents(a *Agent) error {
	return events.Setup(a.Manager, a.Webhooks)
}
