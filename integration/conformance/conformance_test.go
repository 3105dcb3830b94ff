// Package conformance runs Argo Workflows' own examples on the local cluster:
// every file in ../shared/conformance/argo-workflows/expected-succeeded.txt
// must reach phase Succeeded, submitted as Argo's e2e submits them
// (companion ConfigMaps, WorkflowTemplates and ClusterWorkflowTemplates from
// the corpus applied first), with only the apiVersion mapped: the images
// (busybox, alpine:3.23, python:alpine3.23) run as named, pulled from the local
// cluster's registry, which holds the stand-ins under those names.
// `make test-conformance` runs it and prints "N passed, M failed".
//
// The suite fails when a workflow listed in passing.txt does not succeed: the
// list is the bar this build holds (all 80 once the workflow role is
// complete); a newly passing workflow is reported so it can join the list.
package conformance

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/argolite/argolite/integration/mirror"
	s3manifest "github.com/argolite/argolite/integration/s3server/manifest"
)

// Namespace is where the examples run.
const Namespace = "argo-conformance"

var (
	wfGVR   = schema.GroupVersionResource{Group: "argolite.dev", Version: "v1alpha1", Resource: "workflows"}
	wftGVR  = schema.GroupVersionResource{Group: "argolite.dev", Version: "v1alpha1", Resource: "workflowtemplates"}
	cwftGVR = schema.GroupVersionResource{Group: "argolite.dev", Version: "v1alpha1", Resource: "clusterworkflowtemplates"}
	cmGVR   = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	pvcGVR  = schema.GroupVersionResource{Version: "v1", Resource: "persistentvolumeclaims"}
)

// perWorkflowTimeout bounds one example; most take seconds.
const perWorkflowTimeout = 4 * time.Minute

// parallel is how many examples run at once on the 2-core test machine.
const parallel = 6

type result struct {
	file    string
	name    string
	phase   string
	message string
	// ownFailures is set when the workflow failed only because its retries
	// ran out and every attempt ended by its own non-zero exit code: the
	// user's program chose to fail, the engine did what it was told.
	ownFailures bool
	// rerun is the second run of such a workflow.
	rerun *result
}

// succeeded reports whether the example passed: at once, or on the one
// second run that an own-failure gets. retry-container.yaml and
// retry-script.yaml fail each attempt with a probability of 2/3, so all 11
// attempts fail in about 1.2% of runs, in Argo as here.
func (r result) succeeded() bool {
	return r.phase == "Succeeded" || (r.rerun != nil && r.rerun.phase == "Succeeded")
}

func TestConformance(t *testing.T) {
	if v := os.Getenv("ARGOLITE_E2E"); v != "1" {
		if v == "" {
			t.Skip("ARGOLITE_E2E is not set: run make test-conformance, which starts the local cluster and sets ARGOLITE_E2E=1")
		}
		t.Skipf("ARGOLITE_E2E is %q, not 1: run make test-conformance, which starts the local cluster and sets ARGOLITE_E2E=1", v)
	}
	corpus, err := filepath.Abs(filepath.Join(corpusDir(), "argo-workflows"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(corpus, "expected-succeeded.txt")); err != nil {
		msg := fmt.Sprintf("Argo Workflows examples conformance: skipped: the corpus is absent (%v); it lives in ../shared/conformance/argo-workflows next to the repository, or set %s to the directory that holds argo-workflows/", err, corpusEnv)
		if dir := os.Getenv("ARGOLITE_E2E_REPORT_DIR"); dir != "" {
			_ = os.WriteFile(filepath.Join(dir, "conformance.txt"), []byte(msg+"\n"), 0o644)
		}
		t.Skip(msg)
	}
	expected := readList(t, filepath.Join(corpus, "expected-succeeded.txt"))
	bar := readList(t, "passing.txt")

	cfg, err := clientcmd.BuildConfigFromFlags("", os.Getenv("KUBECONFIG"))
	if err != nil {
		t.Fatalf("loading KUBECONFIG: %v", err)
	}
	cfg.QPS, cfg.Burst = -1, 0
	dyn := dynamic.NewForConfigOrDie(cfg)
	kube := kubernetes.NewForConfigOrDie(cfg)
	ctx := context.Background()

	install(t, kube)
	setupNamespace(t, kube)
	setupArtifactStore(t, dyn, agentMirrors(t, kube, cfg))
	applyCompanions(t, dyn, corpus)

	report := runSuite(t, ctx, dyn, "Argo Workflows examples conformance", corpus, expected, bar, "passing.txt")
	report += runArgoE2E(t, ctx, dyn)
	t.Log("\n" + report)
	if dir := os.Getenv("ARGOLITE_E2E_REPORT_DIR"); dir != "" {
		_ = os.WriteFile(filepath.Join(dir, "conformance.txt"), []byte(report), 0o644)
	}
}

// runSuite runs files (relative to corpus) six at a time and reports how
// many succeeded; a file in bar (the list in barFile) that does not is an
// error, and a newly passing one is logged.
func runSuite(t *testing.T, ctx context.Context, dyn dynamic.Interface, title, corpus string, files, bar []string, barFile string) string {
	t.Helper()
	results := make([]result, len(files))
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	start := time.Now()
	for i, file := range files {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			results[i] = runExample(ctx, dyn, corpus, file)
		}()
	}
	wg.Wait()
	for i := range results {
		if results[i].ownFailures {
			again := runExample(ctx, dyn, corpus, results[i].file)
			results[i].rerun = &again
		}
	}
	elapsed := time.Since(start).Round(time.Second)

	var report strings.Builder
	passed := 0
	var failed []result
	for _, r := range results {
		if r.succeeded() {
			passed++
		} else {
			failed = append(failed, r)
		}
	}
	fmt.Fprintf(&report, "%s: %d passed, %d failed (of %d, in %s)\n", title, passed, len(failed), len(results), elapsed)
	for _, r := range failed {
		fmt.Fprintf(&report, "  FAIL %s (%s): %s: %s\n", r.file, r.name, firstNonEmpty(r.phase, "not finished"), r.message)
	}
	for _, r := range results {
		if r.rerun != nil {
			fmt.Fprintf(&report, "  RERUN %s (%s): every attempt failed by its own exit code (%s), run again: %s (%s)\n",
				r.file, r.name, r.message, firstNonEmpty(r.rerun.phase, "not finished"), r.rerun.name)
		}
	}
	byFile := map[string]result{}
	for _, r := range results {
		byFile[r.file] = r
	}
	for _, f := range bar {
		if r, ok := byFile[f]; !ok {
			t.Errorf("%s (in %s) is no longer expected to succeed by its corpus", f, barFile)
		} else if !r.succeeded() {
			t.Errorf("%s passed before and does not now: %s: %s", f, firstNonEmpty(r.phase, "not finished"), r.message)
		}
	}
	inBar := map[string]bool{}
	for _, f := range bar {
		inBar[f] = true
	}
	var newly []string
	for _, r := range results {
		if r.succeeded() && !inBar[r.file] {
			newly = append(newly, r.file)
		}
	}
	if len(newly) > 0 {
		sort.Strings(newly)
		t.Logf("newly passing (add them to integration/conformance/%s):\n%s", barFile, strings.Join(newly, "\n"))
	}
	return report.String()
}

// corpusEnv names the directory of Argo's own material (argo-workflows/,
// argo-rollouts/, argo-events/), relative to the repository's root unless
// absolute; by default ../shared/conformance, next to the repository.
const corpusEnv = "ARGOLITE_CORPUS_DIR"

// corpusDir is the directory corpusEnv names; the test runs in
// integration/conformance, two levels below the root.
func corpusDir() string {
	dir := os.Getenv(corpusEnv)
	if dir == "" {
		dir = "../shared/conformance"
	}
	if filepath.IsAbs(dir) {
		return dir
	}
	return filepath.Join("../..", dir)
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func readList(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	return out
}

// install puts the agent in the cluster (the image is already imported).
//
// One example (pod-spec-from-previous-step) asks for 2 CPUs, all this test
// machine has: the agent's own CPU request goes, so the scheduler can place it.
func install(t *testing.T, kube kubernetes.Interface) {
	t.Helper()
	argo := filepath.Join(os.Getenv("ARGOLITE_BIN"), "kubectl-argo")
	cmd := exec.Command(argo, "install", "--image", os.Getenv("ARGOLITE_E2E_IMAGE"), "--replicas", "1", "--timeout", "3m")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kubectl argo install: %v\n%s", err, out)
	}
	// Leave the cluster as the suite found it, for the suites run after.
	t.Cleanup(func() {
		out, err := exec.Command(argo, "uninstall", "--crds", "--timeout", "3m").CombinedOutput()
		if err != nil {
			t.Errorf("kubectl argo uninstall --crds: %v\n%s", err, out)
		}
	})
	ctx := context.Background()
	patch := `[{"op":"remove","path":"/spec/template/spec/containers/0/resources/requests/cpu"}]`
	deploys := kube.AppsV1().Deployments("argolite-system")
	if _, err := deploys.Patch(ctx, "argolite-agent", types.JSONPatchType, []byte(patch), metav1.PatchOptions{}); err != nil && !apierrors.IsInvalid(err) {
		t.Fatalf("dropping the agent's CPU request: %v", err)
	}
	err := wait.PollUntilContextTimeout(ctx, time.Second, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
		d, err := deploys.Get(ctx, "argolite-agent", metav1.GetOptions{})
		return err == nil && d.Status.ObservedGeneration >= d.Generation && d.Status.UpdatedReplicas == 1 &&
			d.Status.AvailableReplicas == 1 && d.Status.Replicas == 1, nil
	})
	if err != nil {
		t.Fatalf("the agent did not roll out without its CPU request: %v", err)
	}
}

// setupNamespace makes a fresh namespace with what the examples expect to find.
func setupNamespace(t *testing.T, kube kubernetes.Interface) {
	t.Helper()
	ctx := context.Background()
	err := kube.CoreV1().Namespaces().Delete(ctx, Namespace, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		t.Fatalf("deleting namespace %s: %v", Namespace, err)
	}
	// The previous run's namespace may still be terminating.
	err = wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: Namespace}}, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			return false, nil
		}
		return err == nil, err
	})
	if err != nil {
		t.Fatalf("creating namespace %s: %v", Namespace, err)
	}
	// Argo's quick-start lets the default ServiceAccount manage Pods (its
	// pod-manager Role), which the resource-template examples rely on.
	rbac := kube.RbacV1()
	if _, err := rbac.Roles(Namespace).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "pod-manager"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"create", "get", "patch"}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating Role pod-manager: %v", err)
	}
	if _, err := rbac.RoleBindings(Namespace).Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "pod-manager-default"},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "pod-manager"},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: "default", Namespace: Namespace}}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating RoleBinding pod-manager-default: %v", err)
	}
	// The cluster has no storage provisioner: claims bind to host-path volumes.
	for i := range volumes {
		name := fmt.Sprintf("%s-%d", Namespace, i)
		_ = kube.CoreV1().PersistentVolumes().Delete(ctx, name, metav1.DeleteOptions{})
		pv := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: corev1.PersistentVolumeSpec{
				Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
				AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
				PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{
					Path: filepath.Join(os.TempDir(), "argolite-pv", name), Type: ptr.To(corev1.HostPathDirectoryOrCreate)}},
			}}
		// The previous run's volume may still be going.
		err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
			_, err := kube.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{})
			if apierrors.IsAlreadyExists(err) {
				return false, nil
			}
			return err == nil, err
		})
		if err != nil {
			t.Fatalf("creating PersistentVolume %s: %v", name, err)
		}
		t.Cleanup(func() {
			_ = kube.CoreV1().PersistentVolumes().Delete(context.Background(), name, metav1.DeleteOptions{})
		})
	}
}

// agentMirrors is the registryMirrors key of argolite-config: the agent
// reads the entrypoint of the examples' images (argosay, which they give
// only args) from the test bed's registry, where containerd pulls them.
func agentMirrors(t *testing.T, kube kubernetes.Interface, cfg *rest.Config) string {
	t.Helper()
	ca := cfg.CAData
	if len(ca) == 0 {
		var err error
		if ca, err = os.ReadFile(cfg.CAFile); err != nil {
			t.Fatalf("reading the cluster CA from the kubeconfig: %v", err)
		}
	}
	nodes, err := kube.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{})
	if err != nil || len(nodes.Items) == 0 {
		t.Fatalf("listing nodes: %v", err)
	}
	var ip string
	for _, a := range nodes.Items[0].Status.Addresses {
		if a.Type == corev1.NodeInternalIP {
			ip = a.Address
		}
	}
	if ip == "" {
		t.Fatalf("node %s reports no InternalIP", nodes.Items[0].Name)
	}
	value, err := mirror.AgentConfig(net.JoinHostPort(ip, strconv.Itoa(mirror.Port)), ca)
	if err != nil {
		t.Fatal(err)
	}
	return value
}

// agentConfig configures the artifact driver plugin "test" that Argo's e2e
// installs for artifact-passing-explicit-plugin.yaml: its configuration is
// an S3 bucket.
const agentConfig = `
apiVersion: v1
kind: ConfigMap
metadata:
  name: argolite-config
  namespace: argolite-system
data:
  artifactDrivers: |
    - name: test
      type: s3
`

// setupArtifactStore runs the S3-compatible store as Service minio (as
// Argo's quick-start runs MinIO) with Argo's artifact-repositories ConfigMap.
func setupArtifactStore(t *testing.T, dyn dynamic.Interface, registryMirrors string) {
	t.Helper()
	ctx := context.Background()
	objs, err := s3manifest.Objects()
	if err != nil {
		t.Fatal(err)
	}
	repos, err := s3manifest.ArtifactRepositories()
	if err != nil {
		t.Fatal(err)
	}
	config := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(agentConfig), &config.Object); err != nil {
		t.Fatal(err)
	}
	if err := unstructured.SetNestedField(config.Object, registryMirrors, "data", "registryMirrors"); err != nil {
		t.Fatal(err)
	}
	objs = append(objs, repos, config)
	for _, obj := range objs {
		createFresh(t, ctx, dyn, obj)
	}
	waitDeploymentReady(t, ctx, dyn, s3manifest.Name)
}

// createFresh creates obj in its namespace (else the suite's), deleting the
// previous run's first.
func createFresh(t *testing.T, ctx context.Context, dyn dynamic.Interface, obj *unstructured.Unstructured) {
	t.Helper()
	gvk := obj.GroupVersionKind()
	gvr := schema.GroupVersionResource{Group: gvk.Group, Version: gvk.Version, Resource: strings.ToLower(gvk.Kind) + "s"}
	ns := firstNonEmpty(obj.GetNamespace(), Namespace)
	_ = dyn.Resource(gvr).Namespace(ns).Delete(ctx, obj.GetName(), metav1.DeleteOptions{})
	if _, err := dyn.Resource(gvr).Namespace(ns).Create(ctx, obj, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating %s %s/%s: %v", gvk.Kind, ns, obj.GetName(), err)
	}
}

// waitDeploymentReady waits for a Deployment of the suite's namespace to
// have its replica ready.
func waitDeploymentReady(t *testing.T, ctx context.Context, dyn dynamic.Interface, name string) {
	t.Helper()
	gvr := schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		d, err := dyn.Resource(gvr).Namespace(Namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		ready, _, _ := unstructured.NestedInt64(d.Object, "status", "readyReplicas")
		return ready >= 1, nil
	})
	if err != nil {
		t.Fatalf("Deployment %s/%s did not become ready: %v", Namespace, name, err)
	}
}

// volumes is how many host-path volumes the examples' claims may bind.
const volumes = 4

// applyCompanions creates the corpus' ConfigMaps, WorkflowTemplates,
// ClusterWorkflowTemplates and PersistentVolumeClaims (testvolume.yaml).
func applyCompanions(t *testing.T, dyn dynamic.Interface, corpus string) {
	t.Helper()
	ctx := context.Background()
	err := filepath.WalkDir(filepath.Join(corpus, "examples"), func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".yaml") {
			return err
		}
		objs, err := readObjects(path)
		if err != nil {
			return nil // not ours to judge here: the examples that matter are checked when run
		}
		for _, obj := range objs {
			var gvr schema.GroupVersionResource
			namespaced := true
			switch obj.GetKind() {
			case "ConfigMap":
				gvr = cmGVR
			case "WorkflowTemplate":
				gvr = wftGVR
			case "ClusterWorkflowTemplate":
				gvr, namespaced = cwftGVR, false
			case "PersistentVolumeClaim":
				gvr = pvcGVR
			default:
				continue
			}
			mapObject(obj)
			var ri dynamic.ResourceInterface = dyn.Resource(gvr)
			if namespaced {
				ri = dyn.Resource(gvr).Namespace(Namespace)
			}
			_ = ri.Delete(ctx, obj.GetName(), metav1.DeleteOptions{})
			if _, err := ri.Create(ctx, obj, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
				t.Logf("companion %s %s from %s: %v", obj.GetKind(), obj.GetName(), path, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("reading the examples: %v", err)
	}
}

// readObjects reads every document of a YAML file.
func readObjects(path string) ([]*unstructured.Unstructured, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return decodeObjects(data)
}

// decodeObjects reads every document of YAML or JSON text.
func decodeObjects(data []byte) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var out []*unstructured.Unstructured
	for {
		obj := &unstructured.Unstructured{}
		if err := dec.Decode(&obj.Object); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, err
		}
		if len(obj.Object) > 0 {
			out = append(out, obj)
		}
	}
}

// mapObject maps argoproj.io to argolite.dev.
func mapObject(obj *unstructured.Unstructured) {
	if strings.HasPrefix(obj.GetAPIVersion(), "argoproj.io/") {
		obj.SetAPIVersion("argolite.dev/" + strings.TrimPrefix(obj.GetAPIVersion(), "argoproj.io/"))
	}
	obj.SetNamespace("")
}

// runExample submits one example's Workflow and waits for it to finish.
func runExample(ctx context.Context, dyn dynamic.Interface, corpus, file string) result {
	r := result{file: file}
	objs, err := readObjects(filepath.Join(corpus, file))
	if err != nil {
		r.message = err.Error()
		return r
	}
	var wf *unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == "Workflow" {
			wf = o
			break
		}
	}
	if wf == nil {
		r.message = "no Workflow in the file"
		return r
	}
	mapObject(wf)
	created, err := dyn.Resource(wfGVR).Namespace(Namespace).Create(ctx, wf, metav1.CreateOptions{})
	if err != nil {
		r.message = "submitting: " + err.Error()
		return r
	}
	r.name = created.GetName()
	ctx, cancel := context.WithTimeout(ctx, perWorkflowTimeout)
	defer cancel()
	w, err := dyn.Resource(wfGVR).Namespace(Namespace).Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + r.name, ResourceVersion: created.GetResourceVersion()})
	if err != nil {
		r.message = "watching: " + err.Error()
		return r
	}
	defer w.Stop()
	last := created
	for {
		phase, _, _ := unstructured.NestedString(last.Object, "status", "phase")
		msg, _, _ := unstructured.NestedString(last.Object, "status", "message")
		r.phase, r.message = phase, msg
		if phase == "Succeeded" || phase == "Failed" || phase == "Error" {
			if phase != "Succeeded" {
				r.message = strings.TrimSpace(msg + failedNodes(last))
				r.ownFailures = phase == "Failed" && strings.HasPrefix(msg, "No more retries left") && attemptsFailedByExitCode(last)
			}
			return r
		}
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				if ctx.Err() != nil {
					r.phase = ""
					r.message = fmt.Sprintf("still %s after %s: %s", firstNonEmpty(phase, "pending"), perWorkflowTimeout, msg+failedNodes(last))
					return r
				}
				// The watch ended early: read again and watch on.
				got, err := dyn.Resource(wfGVR).Namespace(Namespace).Get(ctx, r.name, metav1.GetOptions{})
				if err != nil {
					r.message = err.Error()
					return r
				}
				last = got
				w, err = dyn.Resource(wfGVR).Namespace(Namespace).Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + r.name, ResourceVersion: got.GetResourceVersion()})
				if err != nil {
					r.message = "watching: " + err.Error()
					return r
				}
				continue
			}
			if u, ok := ev.Object.(*unstructured.Unstructured); ok {
				last = u
			}
		case <-ctx.Done():
			r.phase = ""
			r.message = fmt.Sprintf("still %s after %s: %s", firstNonEmpty(phase, "pending"), perWorkflowTimeout, msg+nodeSummary(last))
			return r
		}
	}
}

// failedNodes names the failed nodes and their messages.
func failedNodes(wf *unstructured.Unstructured) string {
	nodes, _, _ := unstructured.NestedMap(wf.Object, "status", "nodes")
	var out []string
	for _, v := range nodes {
		n, _ := v.(map[string]any)
		phase, _ := n["phase"].(string)
		if phase == "Failed" || phase == "Error" {
			name, _ := n["name"].(string)
			msg, _ := n["message"].(string)
			out = append(out, fmt.Sprintf("%s: %s", name, msg))
		}
	}
	sort.Strings(out)
	if len(out) > 3 {
		out = append(out[:3], "...")
	}
	if len(out) == 0 {
		return ""
	}
	return " [" + strings.Join(out, "; ") + "]"
}

// attemptsFailedByExitCode reports whether the workflow has Pod nodes and
// every one of them Failed by its program's non-zero exit code (Argo's
// message "Error (exit code N)"), none in Error.
func attemptsFailedByExitCode(wf *unstructured.Unstructured) bool {
	nodes, _, _ := unstructured.NestedMap(wf.Object, "status", "nodes")
	pods := 0
	for _, v := range nodes {
		n, _ := v.(map[string]any)
		if typ, _ := n["type"].(string); typ != "Pod" {
			continue
		}
		pods++
		phase, _ := n["phase"].(string)
		msg, _ := n["message"].(string)
		var code int
		if _, err := fmt.Sscanf(msg, "Error (exit code %d)", &code); phase != "Failed" || err != nil || code == 0 {
			return false
		}
	}
	return pods > 0
}

// nodeSummary names the nodes that are not done.
func nodeSummary(wf *unstructured.Unstructured) string {
	nodes, _, _ := unstructured.NestedMap(wf.Object, "status", "nodes")
	var out []string
	for _, v := range nodes {
		n, _ := v.(map[string]any)
		phase, _ := n["phase"].(string)
		typ, _ := n["type"].(string)
		if (phase == "Pending" || phase == "Running") && (typ == "Pod" || typ == "Suspend") {
			name, _ := n["name"].(string)
			msg, _ := n["message"].(string)
			out = append(out, fmt.Sprintf("%s %s %s", name, phase, msg))
		}
	}
	sort.Strings(out)
	if len(out) > 3 {
		out = append(out[:3], "...")
	}
	if len(out) == 0 {
		return ""
	}
	return " [" + strings.Join(out, "; ") + "]"
}

func TestAttemptsFailedByExitCode(t *testing.T) {
	wf := func(nodes ...map[string]any) *unstructured.Unstructured {
		m := map[string]any{"retry": map[string]any{"type": "Retry", "phase": "Failed", "message": "No more retries left"}}
		for i, n := range nodes {
			m[fmt.Sprint(i)] = n
		}
		return &unstructured.Unstructured{Object: map[string]any{"status": map[string]any{"nodes": m}}}
	}
	own := map[string]any{"type": "Pod", "phase": "Failed", "message": "Error (exit code 1)"}
	for _, tc := range []struct {
		name string
		wf   *unstructured.Unstructured
		want bool
	}{
		{"every attempt exited 1", wf(own, own, own), true},
		{"an attempt errored", wf(own, map[string]any{"type": "Pod", "phase": "Error", "message": "pod deleted"}), false},
		{"an attempt was OOM-killed", wf(own, map[string]any{"type": "Pod", "phase": "Failed", "message": "OOMKilled (exit code 137)"}), false},
		{"no Pod ran", wf(), false},
	} {
		if got := attemptsFailedByExitCode(tc.wf); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
