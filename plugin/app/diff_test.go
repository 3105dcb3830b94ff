package app

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/argolite/argolite/plugin/cli"
	"github.com/argolite/argolite/plugin/clitest"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
	"github.com/argolite/argolite/shared/appsource"
)

// fakeCluster holds live objects by inventory id. Its dry-run apply merges
// the applied object into the live one (maps merge, lists are replaced),
// as server-side apply does for the fields the tests use.
type fakeCluster struct {
	mu        sync.Mutex
	live      map[string]*unstructured.Unstructured
	dryRunErr map[string]error
	getErr    error
	dryRuns   []string
}

func (f *fakeCluster) Get(_ context.Context, gvk schema.GroupVersionKind, namespace, name string) (*unstructured.Unstructured, error) {
	if f.getErr != nil {
		return nil, f.getErr
	}
	if o, ok := f.live[appsource.RefID(gvk.Group, gvk.Kind, namespace, name)]; ok {
		return o.DeepCopy(), nil
	}
	return nil, apierrors.NewNotFound(schema.GroupResource{Group: gvk.Group, Resource: strings.ToLower(gvk.Kind) + "s"}, name)
}

func (f *fakeCluster) DryRunApply(_ context.Context, obj *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	id := appsource.ObjectID(obj)
	f.mu.Lock()
	f.dryRuns = append(f.dryRuns, id)
	f.mu.Unlock()
	if err := f.dryRunErr[id]; err != nil {
		return nil, err
	}
	live, ok := f.live[id]
	if !ok {
		return obj.DeepCopy(), nil
	}
	merged := live.DeepCopy()
	mergeInto(merged.Object, obj.DeepCopy().Object)
	return merged, nil
}

func mergeInto(dst, src map[string]any) {
	for k, v := range src {
		if sm, ok := v.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				mergeInto(dm, sm)
				continue
			}
		}
		dst[k] = v
	}
}

// Live objects of the Application web (namespace team) rendered from
// testdata/local/plain into namespace web, as the API server returns them.
const (
	liveConfigMap = `apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
  namespace: web
  labels: {argolite.dev/app-name: web, argolite.dev/app-namespace: team}
  resourceVersion: "11"
  uid: 6f0c1f9e-0000-4000-8000-000000000001
  creationTimestamp: "2026-03-01T10:00:00Z"
  managedFields: [{manager: argolite, operation: Apply, apiVersion: v1}]
data:
  greeting: hello
`
	liveDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: web
  labels: {argolite.dev/app-name: web, argolite.dev/app-namespace: team}
  resourceVersion: "12"
  generation: 3
spec:
  replicas: 2
  revisionHistoryLimit: 10
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: nginx:1.27
status:
  replicas: 2
`
	// liveOld is an object the agent applied before it left Git.
	liveOld = `apiVersion: v1
kind: Service
metadata:
  name: old
  namespace: web
  labels: {argolite.dev/app-name: web, argolite.dev/app-namespace: team}
spec:
  ports: [{port: 80}]
`
	// liveAdopted was in the inventory but another application owns it now.
	liveAdopted = `apiVersion: v1
kind: ConfigMap
metadata:
  name: adopted
  namespace: web
  labels: {argolite.dev/app-name: other, argolite.dev/app-namespace: team}
`
)

// removedOld is the diff of liveOld, which left Git.
const removedOld = `--- live/v1/Service/web/old
+++ desired/v1/Service/web/old
@@ -1,11 +0,0 @@
-apiVersion: v1
-kind: Service
-metadata:
-  labels:
-    argolite.dev/app-name: web
-    argolite.dev/app-namespace: team
-  name: old
-  namespace: web
-spec:
-  ports:
-  - port: 80
`

// localApp is the Application web whose source path corresponds to --local testdata/local/plain.
func localApp(mutate ...func(*argov1.Application)) *argov1.Application {
	return gitApp("http://127.0.0.1:1/web.git", "deploy", mutate...)
}

func withInventory(a *argov1.Application) {
	a.Status.Inventory = &argov1.ResourceInventory{Entries: []argov1.InventoryEntry{
		{ID: "web_web-config__ConfigMap", Version: "v1"},
		{ID: "web_web_apps_Deployment", Version: "v1"},
		{ID: "web_old__Service", Version: "v1"},
		{ID: "web_adopted__ConfigMap", Version: "v1"},
		{ID: "web_pruned-already__ConfigMap", Version: "v1"},
	}}
}

// runDiff runs `app diff args...` against fake with stdout to out (a buffer when nil).
func runDiff(t *testing.T, clients *cli.Clients, fake cluster, out io.Writer, args ...string) clitest.Result {
	t.Helper()
	return runOpts(t, clients, out, func(c Common) *cobra.Command {
		o := NewDiffOptions(c)
		o.cluster, o.cacheDir = fake, t.TempDir()
		return newDiffCmd(o)
	}, args...)
}

func TestDiff(t *testing.T) {
	tests := []struct {
		name      string
		app       *argov1.Application
		live      []string
		dryRunErr map[string]error
		args      []string
		wantCode  int // 0: no error
		wantOut   string
	}{
		{
			name: "no change",
			app:  localApp(),
			live: []string{liveConfigMap, liveDeployment},
		},
		{
			name:     "changed field",
			app:      localApp(),
			live:     []string{strings.Replace(liveConfigMap, "greeting: hello", "greeting: hi", 1), liveDeployment},
			wantCode: 1,
			wantOut: `--- live/v1/ConfigMap/web/web-config
+++ desired/v1/ConfigMap/web/web-config
@@ -1,6 +1,6 @@
 apiVersion: v1
 data:
-  greeting: hi
+  greeting: hello
 kind: ConfigMap
 metadata:
   labels:
`,
		},
		{
			name: "changed field, --exit-code=false",
			app:  localApp(),
			live: []string{liveConfigMap, strings.Replace(liveDeployment, "replicas: 2\n  revision", "replicas: 5\n  revision", 1)},
			args: []string{"--exit-code=false"},
			wantOut: `--- live/apps/v1/Deployment/web/web
+++ desired/apps/v1/Deployment/web/web
@@ -7,7 +7,7 @@
   name: web
   namespace: web
 spec:
-  replicas: 5
+  replicas: 2
   revisionHistoryLimit: 10
   selector:
     matchLabels:
`,
		},
		{
			name: "ignoreDifferences",
			app: localApp(func(a *argov1.Application) {
				a.Spec.IgnoreDifferences = []argov1.ResourceIgnoreDifferences{{Group: "apps", Kind: "Deployment", JSONPointers: []string{"/spec/replicas"}}}
			}),
			live: []string{liveConfigMap, strings.Replace(liveDeployment, "replicas: 2\n  revision", "replicas: 5\n  revision", 1)},
		},
		{
			name:     "missing live: all added",
			app:      localApp(),
			live:     []string{liveDeployment},
			wantCode: 1,
			wantOut: `--- live/v1/ConfigMap/web/web-config
+++ desired/v1/ConfigMap/web/web-config
@@ -0,0 +1,10 @@
+apiVersion: v1
+data:
+  greeting: hello
+kind: ConfigMap
+metadata:
+  labels:
+    argolite.dev/app-name: web
+    argolite.dev/app-namespace: team
+  name: web-config
+  namespace: web
`,
		},
		{
			name:     "extraneous: all removed",
			app:      localApp(withInventory),
			live:     []string{liveConfigMap, liveDeployment, liveOld, liveAdopted},
			wantCode: 1,
			wantOut:  removedOld,
		},
		{
			name: "requires pruning without inventory",
			app: localApp(func(a *argov1.Application) {
				a.Status.Resources = []argov1.ResourceStatus{{Version: "v1", Kind: "Service", Namespace: "web", Name: "old", RequiresPruning: true}}
			}),
			live:     []string{liveConfigMap, liveDeployment, liveOld},
			wantCode: 1,
			wantOut:  removedOld,
		},
		{
			name: "dry-run refused: header and reason, the others still compared",
			app:  localApp(),
			live: []string{strings.Replace(liveConfigMap, "greeting: hello", "greeting: hi", 1), liveDeployment},
			dryRunErr: map[string]error{"web_web_apps_Deployment": apierrors.NewInvalid(schema.GroupKind{Group: "apps", Kind: "Deployment"}, "web",
				nil)},
			wantCode: 1,
			wantOut: `--- live/v1/ConfigMap/web/web-config
+++ desired/v1/ConfigMap/web/web-config
@@ -1,6 +1,6 @@
 apiVersion: v1
 data:
-  greeting: hi
+  greeting: hello
 kind: ConfigMap
 metadata:
   labels:
--- live/apps/v1/Deployment/web/web
+++ desired/apps/v1/Deployment/web/web
# server-side dry-run failed: Deployment.apps "web" is invalid
`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeCluster{live: map[string]*unstructured.Unstructured{}, dryRunErr: tt.dryRunErr}
			for _, s := range tt.live {
				for id, o := range objectsByID(mustObjects(t, s)) {
					fake.live[id] = o
				}
			}
			r := runDiff(t, clitest.NewClients(t, tt.app), fake, nil, append([]string{"web", "--local", "testdata/local/plain"}, tt.args...)...)
			checkExit(t, r.Err, tt.wantCode)
			if r.Out != tt.wantOut {
				t.Errorf("output:\n%s\nwant:\n%s", r.Out, tt.wantOut)
			}
			if strings.Contains(r.Out, "\x1b[") {
				t.Errorf("colour escapes in output to a buffer:\n%q", r.Out)
			}
			for _, id := range fake.dryRuns {
				if strings.Contains(id, "smoke-test") || strings.Contains(id, "skipped") {
					t.Errorf("hook %s was dry-run: hooks are not compared", id)
				}
			}
		})
	}
}

// checkExit checks that err ends the command with code (0: no error).
func checkExit(t *testing.T, err error, code int) {
	t.Helper()
	if code == 0 {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	var exit *cli.ExitError
	if !errors.As(err, &exit) || exit.Code != code {
		t.Fatalf("error %v (%T), want an *cli.ExitError with code %d", err, err, code)
	}
	if silent := code == exitDifferences; exit.Silent != silent {
		t.Errorf("ExitError.Silent = %v, want %v", exit.Silent, silent)
	}
}

func TestDiffOrderAndCount(t *testing.T) {
	fake := &fakeCluster{live: objectsByID(mustObjects(t, strings.Replace(liveDeployment, "image: nginx:1.27", "image: nginx:1.26", 1)+"---\n"+liveOld))}
	r := runDiff(t, clitest.NewClients(t, localApp(withInventory)), fake, nil, "web", "--local", "testdata/local/plain")
	checkExit(t, r.Err, exitDifferences)
	var headers []string
	for _, l := range strings.Split(r.Out, "\n") {
		if strings.HasPrefix(l, "--- ") {
			headers = append(headers, l)
		}
	}
	want := []string{"--- live/v1/ConfigMap/web/web-config", "--- live/apps/v1/Deployment/web/web", "--- live/v1/Service/web/old"}
	if strings.Join(headers, "\n") != strings.Join(want, "\n") {
		t.Errorf("objects in the output:\n%s\nwant:\n%s", strings.Join(headers, "\n"), strings.Join(want, "\n"))
	}
	if !strings.Contains(r.Out, "-      - image: nginx:1.26\n+      - image: nginx:1.27\n") {
		t.Errorf("no image change in:\n%s", r.Out)
	}
	if got := r.Err.Error(); got != "3 objects of team/web differ from the cluster" {
		t.Errorf("error text = %q", got)
	}
}

func TestDiffErrors(t *testing.T) {
	tests := []struct {
		name    string
		clients *cli.Clients
		fake    *fakeCluster
		args    []string
		wantErr string
	}{
		{name: "not found", clients: clitest.NewClients(t), fake: &fakeCluster{},
			args: []string{"web"}, wantErr: `application "web" not found`},
		{name: "cannot read live", clients: clitest.NewClients(t, localApp()),
			fake: &fakeCluster{getErr: apierrors.NewForbidden(schema.GroupResource{Resource: "configmaps"}, "web-config", errors.New("no"))},
			args: []string{"web", "--local", "testdata/local/plain"}, wantErr: "permission denied"},
		{name: "--local missing", clients: clitest.NewClients(t, localApp()), fake: &fakeCluster{},
			args: []string{"web", "--local", "testdata/local/plain/../../nope"}, wantErr: "no such file"},
		{name: "bad ignoreDifferences", clients: clitest.NewClients(t, localApp(func(a *argov1.Application) {
			a.Spec.IgnoreDifferences = []argov1.ResourceIgnoreDifferences{{Kind: "Deployment", JQPathExpressions: []string{".spec[["}}}
		})), fake: &fakeCluster{}, args: []string{"web", "--local", "testdata/local/plain"}, wantErr: "fix spec.ignoreDifferences"},
		{name: "git unreachable", clients: clitest.NewClients(t, localApp()), fake: &fakeCluster{},
			args: []string{"web"}, wantErr: "cannot reach the server"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runDiff(t, tt.clients, tt.fake, nil, tt.args...)
			checkExit(t, r.Err, exitError)
			clitest.WantErr(t, r.Err, tt.wantErr)
		})
	}
}

func TestDiffFromGit(t *testing.T) {
	srv := gitServer(t, "", "")
	repo := newGitRepo(t, srv, "org/web.git")
	repo.commit(map[string]string{"deploy/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web-config}\ndata: {greeting: hello}\n"})
	first := repo.commit(map[string]string{"deploy/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web-config}\ndata: {greeting: hi}\n"})
	repo.commit(map[string]string{"deploy/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web-config}\ndata: {greeting: hello}\n"})
	fake := &fakeCluster{live: objectsByID(mustObjects(t, liveConfigMap))}
	clients := clitest.NewClients(t, gitApp(repo.url, "deploy"))

	r := runDiff(t, clients, fake, nil, "web")
	checkExit(t, r.Err, 0)
	if r.Out != "" {
		t.Errorf("output at main:\n%s", r.Out)
	}
	r = runDiff(t, clients, fake, nil, "web", "--revision", first)
	checkExit(t, r.Err, exitDifferences)
	if !strings.Contains(r.Out, "-  greeting: hello\n+  greeting: hi\n") {
		t.Errorf("output at %s:\n%s", first[:7], r.Out)
	}
}
