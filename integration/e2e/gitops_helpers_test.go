package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/argolite/argolite/shared/agentmeta"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// gitopsPollInterval is the agent's Git poll interval in these tests: long
// enough that a webhook-driven sync is told apart from a polled one.
const gitopsPollInterval = 20 * time.Second

// withinPoll bounds the wait for a change only a poll can pick up: the next
// poll is due at most the interval plus its 10% jitter after the last
// reconcile, and the sync itself gets 20 s on top.
const withinPoll = gitopsPollInterval*11/10 + 20*time.Second

func newCRClient(t *testing.T) client.Client {
	t.Helper()
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	_ = argov1.AddToScheme(scheme)
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// shared is the agent the tests share: installed by the first test that
// asks for it, uninstalled by TestMain when the run ends or by a test that
// needs the cluster without it (dropSharedAgent).
var shared struct {
	sync.Mutex
	up bool
	// failedIn names the test whose install failed: the later tests fail
	// at once, naming it, instead of each retrying a broken install.
	failedIn string
}

// sharedAgent runs t in parallel with the other tests that call it, against
// one agent installed for all of them (a short poll interval, the test
// bed's registry mirrors): one install instead of one per test, and the
// waits of one test overlap with another's. Such a test must leave the agent as
// it found it: no restart, no node taint, no uninstall (those tests use
// sharedAgentAlone).
func sharedAgent(t *testing.T) {
	t.Helper()
	t.Parallel()
	ensureSharedAgent(t)
}

// sharedAgentAlone is sharedAgent for a test that may disturb the agent
// (restart it, taint its node): it runs alone, before the parallel tests,
// and leaves the agent ready for them.
func sharedAgentAlone(t *testing.T) {
	t.Helper()
	ensureSharedAgent(t)
	t.Cleanup(func() { waitAgentReady(t) })
}

func ensureSharedAgent(t *testing.T) {
	t.Helper()
	shared.Lock()
	defer shared.Unlock()
	if shared.failedIn != "" {
		t.Fatalf("the shared agent's install failed in %s", shared.failedIn)
	}
	if !shared.up {
		// up before the install: a failed install is uninstalled too.
		shared.failedIn, shared.up = t.Name(), true
		installTestAgent(t)
		shared.failedIn = ""
	}
	t.Cleanup(func() {
		if t.Failed() {
			dumpAgentLogs(t)
		}
	})
}

// dropSharedAgent uninstalls the shared agent, for a test (running alone)
// that installs its own or needs the cluster without one; the next sharedAgent installs
// it again.
func dropSharedAgent(t *testing.T) {
	t.Helper()
	shared.Lock()
	defer shared.Unlock()
	if shared.up {
		if r := argo(t, "uninstall", "--crds", "--timeout", "2m"); r.code != 0 {
			t.Fatalf("uninstalling the shared agent exited %d: %s", r.code, r.stderr)
		}
		shared.up = false
	}
}

// uninstallSharedAgent is TestMain's: it ends the run with the cluster as
// the run found it.
func uninstallSharedAgent() error {
	if !shared.up {
		return nil
	}
	cmd := exec.Command(filepath.Join(e2e.binDir, "kubectl-argo"), "uninstall", "--crds", "--timeout", "2m")
	cmd.Env = append(os.Environ(), "KUBECONFIG="+e2e.kubeconfig, "NO_COLOR=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("kubectl argo uninstall: %w\n%s", err, out)
	}
	return nil
}

// installTestAgent installs the agent with a short poll interval and the
// test bed's registry mirrors, and waits until it leads.
func installTestAgent(t *testing.T) {
	t.Helper()
	if r := argo(t, "install", "--image", e2e.image, "--replicas", "1", "--timeout", "3m"); r.code != 0 {
		t.Fatalf("install exited %d: %s", r.code, r.stderr)
	}
	setAgentRegistryMirrors(t)
	ctx := context.Background()
	deploys := clientset.AppsV1().Deployments(agentmeta.Namespace)
	patch := fmt.Sprintf(`{"spec":{"template":{"spec":{"containers":[{"name":"agent","env":[{"name":"ARGOLITE_GIT_POLL_INTERVAL","value":"%s"}]}]}}}}`, gitopsPollInterval)
	if _, err := deploys.Patch(ctx, agentmeta.Name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{FieldManager: "e2e"}); err != nil {
		t.Fatalf("setting the poll interval: %v", err)
	}
	waitAgentReady(t)
}

// waitAgentReady waits until the agent's Deployment has rolled out its
// latest spec and one of its live Pods leads.
func waitAgentReady(t *testing.T) {
	t.Helper()
	deploys := clientset.AppsV1().Deployments(agentmeta.Namespace)
	waitFor(t, "the agent to roll out", 2*time.Minute, func(ctx context.Context) (bool, error) {
		d, err := deploys.Get(ctx, agentmeta.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return d.Status.ObservedGeneration >= d.Generation && d.Status.UpdatedReplicas == 1 &&
			d.Status.AvailableReplicas == 1 && d.Status.Replicas == 1, nil
	})
	waitFor(t, "a leader", time.Minute, func(ctx context.Context) (bool, error) {
		holder := leaseHolderPod(t)
		p, err := clientset.CoreV1().Pods(agentmeta.Namespace).Get(ctx, holder, metav1.GetOptions{})
		return err == nil && p.DeletionTimestamp == nil, nil
	})
}

// deleteAgentPods deletes every agent Pod, as a crash of all replicas
// would; the Deployment starts new ones.
func deleteAgentPods(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	agents, err := clientset.CoreV1().Pods(agentmeta.Namespace).List(ctx, metav1.ListOptions{LabelSelector: agentmeta.ComponentLabel + "=" + agentmeta.Name})
	if err != nil || len(agents.Items) == 0 {
		t.Fatalf("agent pods: %v (%d found)", err, len(agents.Items))
	}
	for _, p := range agents.Items {
		if err := clientset.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{}); err != nil {
			t.Fatalf("deleting agent Pod %s: %v", p.Name, err)
		}
	}
}

func dumpAgentLogs(t *testing.T) {
	ctx := context.Background()
	pods, err := clientset.CoreV1().Pods(agentmeta.Namespace).List(ctx, metav1.ListOptions{LabelSelector: agentmeta.ComponentLabel + "=" + agentmeta.Name})
	if err != nil {
		return
	}
	for _, p := range pods.Items {
		tail := int64(30)
		b, err := clientset.CoreV1().Pods(p.Namespace).GetLogs(p.Name, &corev1.PodLogOptions{TailLines: &tail}).DoRaw(ctx)
		if err == nil {
			t.Logf("agent %s (ip %s) logs:\n%s", p.Name, p.Status.PodIP, b)
		}
	}
}

// newApp creates an Application in ns.
func newApp(t *testing.T, c client.Client, ns, name string, spec argov1.ApplicationSpec) *argov1.Application {
	t.Helper()
	app := &argov1.Application{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: spec}
	if spec.Destination.Namespace == "" {
		app.Spec.Destination.Namespace = ns
	}
	if err := c.Create(context.Background(), app); err != nil {
		t.Fatalf("creating Application %s/%s: %v", ns, name, err)
	}
	return app
}

func automated(prune, selfHeal bool, opts ...string) *argov1.SyncPolicy {
	return &argov1.SyncPolicy{Automated: &argov1.SyncPolicyAutomated{Prune: prune, SelfHeal: selfHeal}, SyncOptions: opts}
}

func getApp(ctx context.Context, c client.Client, ns, name string) (*argov1.Application, error) {
	app := &argov1.Application{}
	err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, app)
	return app, err
}

// waitApp waits until cond holds for the Application, and reports its
// status when it does not.
func waitApp(t *testing.T, c client.Client, ns, name, what string, timeout time.Duration, cond func(*argov1.Application) bool) *argov1.Application {
	t.Helper()
	var last *argov1.Application
	defer func() {
		if t.Failed() && last != nil {
			t.Logf("Application %s/%s status: sync=%s rev=%s health=%s %s conditions=%+v op=%+v", ns, name,
				last.Status.Sync.Status, last.Status.Sync.Revision, last.Status.Health.Status, last.Status.Health.Message,
				last.Status.Conditions, last.Status.OperationState)
		}
	}()
	waitFor(t, fmt.Sprintf("Application %s/%s: %s", ns, name, what), timeout, func(ctx context.Context) (bool, error) {
		app, err := getApp(ctx, c, ns, name)
		if err != nil {
			return false, err
		}
		last = app
		return cond(app), nil
	})
	return last
}

func syncedHealthy(rev string) func(*argov1.Application) bool {
	return func(a *argov1.Application) bool {
		return a.Status.Sync.Status == argov1.SyncStatusSynced && a.Status.Health.Status == argov1.HealthHealthy &&
			(rev == "" || a.Status.Sync.Revision == rev) && a.Status.ObservedGeneration == a.Generation &&
			(a.Status.OperationState == nil || a.Status.OperationState.Phase != argov1.OperationRunning)
	}
}

// readyFalse matches a Ready=False condition with the reason whose message contains every part.
func readyFalse(reason string, parts ...string) func(*argov1.Application) bool {
	return func(a *argov1.Application) bool {
		c := meta.FindStatusCondition(a.Status.Conditions, "Ready")
		if c == nil || c.Status != metav1.ConditionFalse || c.Reason != reason {
			return false
		}
		for _, p := range parts {
			if !strings.Contains(c.Message, p) {
				return false
			}
		}
		return kstatusPairAgrees(a.Status.Conditions, reason)
	}
}

// kstatusPairAgrees checks Reconciling and Stalled next to a Ready=False
// with reason: a failure that waits for a change of the spec or of Git is
// Stalled, one the agent retries keeps Reconciling; never both.
func kstatusPairAgrees(conds []metav1.Condition, reason string) bool {
	stalled := meta.FindStatusCondition(conds, argov1.ConditionStalled)
	reconciling := meta.FindStatusCondition(conds, argov1.ConditionReconciling)
	isStalled := stalled != nil && stalled.Status == metav1.ConditionTrue && stalled.Reason == reason && reconciling == nil
	isRetrying := reconciling != nil && reconciling.Status == metav1.ConditionTrue && reconciling.Reason == argov1.ReasonProgressingWithRetry && stalled == nil
	switch reason {
	case argov1.ReasonInvalidSpec, argov1.ReasonRenderFailed, argov1.ReasonUnknownKind:
		return isStalled
	case argov1.ReasonSyncFailed:
		// A sync whose retries are spent is Stalled; a step before it retries.
		return isStalled || isRetrying
	default:
		return isRetrying
	}
}

// waitEvent waits for a Kubernetes Event on the Application with the reason.
func waitEvent(t *testing.T, ns, app, reason string) {
	t.Helper()
	waitEventNote(t, ns, app, reason, 30*time.Second)
}

// busyboxDeployment is a Deployment of the locally built busybox that turns
// Ready after delay seconds.
func busyboxDeployment(name string, replicas int, annotations string, delay int) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[1]s
%[3]sspec:
  replicas: %[2]d
  selector:
    matchLabels: {app: %[1]s}
  template:
    metadata:
      labels: {app: %[1]s}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: busybox:latest
        imagePullPolicy: Never
        command: ["sh", "-c", "touch /tmp/ready; exec sleep 3600"]
        readinessProbe:
          exec: {command: ["cat", "/tmp/ready"]}
          initialDelaySeconds: %[4]d
          periodSeconds: 1
`, name, replicas, annotations, delay)
}

func configMap(name, value, annotations string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n%sdata:\n  value: %q\n", name, annotations, value)
}

// hookJob is a Job hook running a shell script in busybox.
func hookJob(name, hook, policy, script string) string {
	ann := fmt.Sprintf("  annotations:\n    argocd.argoproj.io/hook: %s\n", hook)
	if policy != "" {
		ann += fmt.Sprintf("    argocd.argoproj.io/hook-delete-policy: %s\n", policy)
	}
	return fmt.Sprintf(`apiVersion: batch/v1
kind: Job
metadata:
  name: %s
%sspec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: busybox:latest
        imagePullPolicy: Never
        command: ["sh", "-c", %q]
`, name, ann, script)
}

func deploymentAvailableAt(t *testing.T, ns, name string) time.Time {
	t.Helper()
	d, err := clientset.AppsV1().Deployments(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentAvailable && c.Status == corev1.ConditionTrue {
			return c.LastTransitionTime.Time
		}
	}
	t.Fatalf("Deployment %s/%s is not Available", ns, name)
	return time.Time{}
}

// agentMetrics returns the leading agent's /metrics text.
func agentMetrics(t *testing.T) string {
	t.Helper()
	holder := leaseHolderPod(t)
	raw, err := clientset.CoreV1().Pods(agentmeta.Namespace).ProxyGet("http", holder, "8080", "/metrics", nil).DoRaw(context.Background())
	if err != nil {
		t.Fatalf("metrics of %s: %v", holder, err)
	}
	return string(raw)
}

// denyAgentWrites installs a ValidatingAdmissionPolicy that refuses every
// write of the agent's ServiceAccount in namespace ns.
func denyAgentWrites(t *testing.T, ns string) {
	t.Helper()
	ctx := context.Background()
	name := "e2e-deny-agent-" + ns
	all := admissionv1.NamedRuleWithOperations{RuleWithOperations: admissionv1.RuleWithOperations{
		Operations: []admissionv1.OperationType{admissionv1.Create, admissionv1.Update, admissionv1.Delete},
		Rule:       admissionv1.Rule{APIGroups: []string{"*"}, APIVersions: []string{"*"}, Resources: []string{"*"}},
	}}
	fail := admissionv1.Fail
	policy := &admissionv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			FailurePolicy:    &fail,
			MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{all}},
			Validations: []admissionv1.Validation{{
				Expression: "request.userInfo.username != 'system:serviceaccount:" + agentmeta.Namespace + ":" + agentmeta.Name + "'",
				Message:    "the argolite agent may not write in this namespace",
			}},
		},
	}
	binding := &admissionv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName:        name,
			ValidationActions: []admissionv1.ValidationAction{admissionv1.Deny},
			MatchResources: &admissionv1.MatchResources{NamespaceSelector: &metav1.LabelSelector{
				MatchLabels: map[string]string{"kubernetes.io/metadata.name": ns},
			}},
		},
	}
	api := clientset.AdmissionregistrationV1()
	if _, err := api.ValidatingAdmissionPolicies().Create(ctx, policy, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating the admission policy: %v", err)
	}
	if _, err := api.ValidatingAdmissionPolicyBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating the admission policy binding: %v", err)
	}
	t.Cleanup(func() {
		_ = api.ValidatingAdmissionPolicyBindings().Delete(context.Background(), name, metav1.DeleteOptions{})
		_ = api.ValidatingAdmissionPolicies().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
	// The API server loads policies asynchronously: probe as the agent with
	// a dry-run until the policy refuses it.
	asAgent := rest.CopyConfig(cfg)
	asAgent.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:" + agentmeta.Namespace + ":" + agentmeta.Name}
	agentClient := kubernetes.NewForConfigOrDie(asAgent)
	probe := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "policy-probe", Namespace: ns}}
	waitFor(t, "the admission policy to refuse the agent in "+ns, time.Minute, func(ctx context.Context) (bool, error) {
		_, err := agentClient.CoreV1().ConfigMaps(ns).Create(ctx, probe, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		return err != nil && strings.Contains(err.Error(), "may not write"), nil
	})
}
