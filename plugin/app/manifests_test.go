package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/gittestserver"
	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/yaml"

	"github.com/argolite/argolite/plugin/cli"
	"github.com/argolite/argolite/plugin/clitest"
	"github.com/argolite/argolite/shared/agentmeta"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
	"github.com/argolite/argolite/shared/appsource"
)

// runOpts runs the command build returns, with clients, as `kubectl argo
// app` would; stdout goes to out when set (then the result's Out is empty).
func runOpts(t *testing.T, clients *cli.Clients, out io.Writer, build func(Common) *cobra.Command, args ...string) clitest.Result {
	t.Helper()
	return clitest.RunIO(t, clitest.IO{Stdout: out}, func(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
		c := Common{Common: cli.NewCommon(flags, streams)}
		clitest.Use(&c.Common, clients)
		return build(c)
	}, args...)
}

// manifests runs `app manifests args...` with the Git cache in a temporary
// directory and live objects from fake.
func manifests(t *testing.T, clients *cli.Clients, fake cluster, args ...string) clitest.Result {
	t.Helper()
	cacheDir := t.TempDir()
	return runOpts(t, clients, nil, func(c Common) *cobra.Command {
		o := NewManifestsOptions(c)
		o.cluster, o.cacheDir = fake, cacheDir
		return newManifestsCmd(o)
	}, args...)
}

// gitServer serves repositories over HTTP on loopback, with basic auth when
// user is set.
func gitServer(t *testing.T, user, pass string) *gittestserver.GitServer {
	t.Helper()
	// gitkit logs every request through the standard logger.
	prev := log.Writer()
	log.SetOutput(io.Discard)
	t.Cleanup(func() { log.SetOutput(prev) })
	srv := gittestserver.NewGitServer(t.TempDir())
	if user != "" {
		srv.Auth(user, pass)
	}
	if err := srv.StartHTTP(); err != nil {
		t.Fatalf("start git HTTP server: %v", err)
	}
	t.Cleanup(srv.StopHTTP)
	return srv
}

// gitRepo is a working copy pushing to a bare repository a gitServer serves.
type gitRepo struct {
	t    *testing.T
	dir  string
	repo *gogit.Repository
	url  string
	when time.Time
}

func newGitRepo(t *testing.T, srv *gittestserver.GitServer, path string) *gitRepo {
	t.Helper()
	bare := filepath.Join(srv.Root(), path)
	if _, err := gogit.PlainInit(bare, true); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	r, err := gogit.PlainInit(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{"file://" + bare}}); err != nil {
		t.Fatal(err)
	}
	return &gitRepo{t: t, dir: dir, repo: r, url: srv.HTTPAddress() + "/" + path, when: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
}

// commit writes files (an empty content removes the file), commits on the
// current branch (master, then named main) and pushes; it returns the SHA.
func (r *gitRepo) commit(files map[string]string) string {
	r.t.Helper()
	for name, content := range files {
		p := filepath.Join(r.dir, filepath.FromSlash(name))
		if content == "" {
			if err := os.Remove(p); err != nil {
				r.t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			r.t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			r.t.Fatal(err)
		}
	}
	wt, err := r.repo.Worktree()
	if err != nil {
		r.t.Fatal(err)
	}
	if err := wt.AddWithOptions(&gogit.AddOptions{All: true}); err != nil {
		r.t.Fatal(err)
	}
	r.when = r.when.Add(time.Minute)
	sig := &object.Signature{Name: "Test", Email: "test@example.com", When: r.when}
	h, err := wt.Commit("commit", &gogit.CommitOptions{Author: sig, Committer: sig})
	if err != nil {
		r.t.Fatal(err)
	}
	r.branch("main", h.String())
	return h.String()
}

// branch points branch name at sha and pushes it.
func (r *gitRepo) branch(name, sha string) {
	r.t.Helper()
	ref := plumbing.NewHashReference(plumbing.NewBranchReferenceName(name), plumbing.NewHash(sha))
	if err := r.repo.Storer.SetReference(ref); err != nil {
		r.t.Fatal(err)
	}
	err := r.repo.Push(&gogit.PushOptions{RemoteName: "origin", RefSpecs: []config.RefSpec{"+refs/heads/*:refs/heads/*"}})
	if err != nil && !errors.Is(err, gogit.NoErrAlreadyUpToDate) {
		r.t.Fatalf("push: %v", err)
	}
}

// deployFiles are the manifests of the test repository: a namespaced
// object without a namespace, one with, a cluster-scoped one, a CRD with
// its custom resource, a hook and a skipped hook.
var deployFiles = map[string]string{
	"deploy/config.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
  labels: {app: web}
data:
  greeting: hello
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: shared
  namespace: other
`,
	"deploy/rbac.yaml": `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: reader
  namespace: ignored
rules: []
`,
	"deploy/crd.yaml": `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
  versions:
    - name: v1
      served: true
      storage: true
      schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
---
apiVersion: example.com/v1
kind: Widget
metadata:
  name: w1
`,
	"deploy/hooks.yaml": `apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
  annotations:
    argocd.argoproj.io/hook: PreSync
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: migrate, image: busybox}]
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: never
  annotations:
    argolite.dev/hook: Skip
`,
}

// gitApp is an Application web rendering path of repoURL into namespace web.
func gitApp(repoURL, path string, mutate ...func(*argov1.Application)) *argov1.Application {
	return application("web", append([]func(*argov1.Application){func(a *argov1.Application) {
		a.Spec.Source = &argov1.ApplicationSource{RepoURL: repoURL, Path: path, TargetRevision: "main"}
		a.Spec.Destination.Namespace = "web"
	}}, mutate...)...)
}

// parseYAMLStream splits a `---` separated YAML stream into objects.
func parseYAMLStream(t *testing.T, s string) []*unstructured.Unstructured {
	t.Helper()
	var out []*unstructured.Unstructured
	for _, doc := range strings.Split(s, "---\n") {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		m := map[string]any{}
		if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
			t.Fatalf("output is not YAML: %v\n%s", err, doc)
		}
		out = append(out, &unstructured.Unstructured{Object: m})
	}
	return out
}

// summary lists objects as Kind/namespace/name, one a line.
func summary(objs []*unstructured.Unstructured) string {
	var lines []string
	for _, o := range objs {
		lines = append(lines, appsource.Describe(o))
	}
	return strings.Join(lines, "\n")
}

func TestManifestsFromGit(t *testing.T) {
	srv := gitServer(t, "", "")
	repo := newGitRepo(t, srv, "org/web.git")
	repo.commit(deployFiles)
	clients := clitest.NewClients(t, gitApp(repo.url, "deploy"))

	r := manifests(t, clients, nil, "web")
	clitest.WantErr(t, r.Err, "")
	objs := parseYAMLStream(t, r.Out)
	// Resources sorted as the agent sorts them (by inventory id), then hooks;
	// the Skip hook is left out.
	want := `ClusterRole/reader
CustomResourceDefinition/widgets.example.com
ConfigMap/other/shared
Widget/web/w1
ConfigMap/web/web-config
Job/web/migrate`
	if got := summary(objs); got != want {
		t.Errorf("objects:\n%s\nwant:\n%s\n(output:\n%s)", got, want, r.Out)
	}
	for _, o := range objs {
		l := o.GetLabels()
		if l[argov1.LabelAppName] != "web" || l[argov1.LabelAppNamespace] != ns {
			t.Errorf("%s has labels %v, want the owner labels of team/web", appsource.Describe(o), l)
		}
	}
	if got := objs[4].GetLabels()["app"]; got != "web" {
		t.Errorf("ConfigMap lost its own label app=web: %v", objs[4].GetLabels())
	}
	if !strings.HasPrefix(r.Out, "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\n") || strings.Count(r.Out, "---\n") != 5 {
		t.Errorf("output is not a YAML stream of 6 documents:\n%s", r.Out)
	}
	if !strings.Contains(r.ErrOut, "Resolving main of "+repo.url) || !strings.Contains(r.ErrOut, "Rendering deploy of "+repo.url) {
		t.Errorf("no progress on stderr:\n%s", r.ErrOut)
	}
}

func TestManifestsRevisionAndJSON(t *testing.T) {
	srv := gitServer(t, "", "")
	repo := newGitRepo(t, srv, "org/web.git")
	first := repo.commit(map[string]string{"deploy/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web-config}\ndata: {greeting: hello}\n"})
	repo.commit(map[string]string{"deploy/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web-config}\ndata: {greeting: hi}\n"})
	repo.branch("feature", first)
	clients := clitest.NewClients(t, gitApp(repo.url, "deploy"))

	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"web", "-o", "json"}, "hi"},
		{[]string{"web", "-o", "json", "--revision", "feature"}, "hello"},
		{[]string{"web", "-o", "json", "--revision", first[:7]}, "hello"},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			r := manifests(t, clients, nil, tt.args...)
			clitest.WantErr(t, r.Err, "")
			var list unstructured.UnstructuredList
			if err := list.UnmarshalJSON([]byte(r.Out)); err != nil {
				t.Fatalf("output is not a JSON List: %v\n%s", err, r.Out)
			}
			if len(list.Items) != 1 || list.GetKind() != "List" {
				t.Fatalf("list = %+v", list)
			}
			if got, _, _ := unstructured.NestedString(list.Items[0].Object, "data", "greeting"); got != tt.want {
				t.Errorf("greeting = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestManifestsCredentials(t *testing.T) {
	srv := gitServer(t, "bob", "s3cret")
	repo := newGitRepo(t, srv, "org/private.git")
	repo.commit(map[string]string{"deploy/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web-config}\n"})
	secret := func(namespace, name, label, url, pass string) *corev1.Secret {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
			Data: map[string][]byte{"username": []byte("bob"), "password": []byte(pass)}}
		if label != "" {
			s.Labels = map[string]string{label: "repository"}
		}
		if url != "" {
			s.Data["url"] = []byte(url)
		}
		return s
	}
	forbidAgentNamespace := interceptor.Funcs{List: func(ctx context.Context, c client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
		lo := &client.ListOptions{}
		lo.ApplyOptions(opts)
		if lo.Namespace == agentmeta.Namespace {
			return apierrors.NewForbidden(schema.GroupResource{Resource: "secrets"}, "", errors.New("no access"))
		}
		return c.List(ctx, list, opts...)
	}}
	withSecretRef := func(a *argov1.Application) { a.Spec.Source.SecretRef = &argov1.LocalSecretReference{Name: "web-repo"} }
	tests := []struct {
		name       string
		funcs      interceptor.Funcs
		app        *argov1.Application
		objs       []client.Object
		wantErr    string
		wantErrOut string
	}{
		{name: "labelled Secret in argolite-system", app: gitApp(repo.url, "deploy"),
			objs: []client.Object{secret(agentmeta.Namespace, "repo", "argocd.argoproj.io/secret-type", repo.url, "s3cret")}},
		{name: "argolite label, repo-creds prefix in the app's namespace", app: gitApp(repo.url, "deploy"),
			objs: []client.Object{secret(ns, "org", "argolite.dev/secret-type", srv.HTTPAddress()+"/org", "s3cret")}},
		{name: "secretRef", app: gitApp(repo.url, "deploy", withSecretRef),
			objs: []client.Object{
				secret(ns, "web-repo", "", "", "s3cret"),
				secret(ns, "wrong", "argocd.argoproj.io/secret-type", repo.url, "nope"),
			}},
		{name: "secretRef missing", app: gitApp(repo.url, "deploy", withSecretRef),
			wantErr: "secretRef web-repo not found in namespace team: create it"},
		{name: "no credentials", app: gitApp(repo.url, "deploy"),
			wantErr: "authentication required"},
		{name: "wrong password", app: gitApp(repo.url, "deploy"),
			objs:    []client.Object{secret(ns, "repo", "argocd.argoproj.io/secret-type", repo.url, "nope")},
			wantErr: "authentication failed: check the username and password"},
		{name: "agent's namespace forbidden", app: gitApp(repo.url, "deploy"), funcs: forbidAgentNamespace,
			objs:       []client.Object{secret(agentmeta.Namespace, "repo", "argocd.argoproj.io/secret-type", repo.url, "s3cret")},
			wantErr:    "authentication required",
			wantErrOut: "note: you may not list Secrets in namespace argolite-system: fetching without the repository credentials there\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clients := clitest.NewClientsWith(t, tt.funcs, append(tt.objs, tt.app)...)
			r := manifests(t, clients, nil, "web")
			clitest.WantErr(t, r.Err, tt.wantErr)
			if strings.Contains(fmt.Sprint(r.Err), "s3cret") {
				t.Errorf("error shows the password: %v", r.Err)
			}
			if tt.wantErr == "" && !strings.Contains(r.Out, "name: web-config") {
				t.Errorf("no manifests:\n%s", r.Out)
			}
			if tt.wantErrOut != "" && !strings.Contains(r.ErrOut, tt.wantErrOut) {
				t.Errorf("stderr:\n%s\nwant it to contain %q", r.ErrOut, tt.wantErrOut)
			}
		})
	}
}

func TestManifestsRefSources(t *testing.T) {
	srv := gitServer(t, "", "")
	charts := newGitRepo(t, srv, "org/charts.git")
	charts.commit(map[string]string{
		"chart/Chart.yaml":          "apiVersion: v2\nname: web\nversion: 0.1.0\n",
		"chart/values.yaml":         "greeting: default\n",
		"chart/templates/cm.yaml":   "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-config\ndata:\n  greeting: {{ .Values.greeting }}\n  namespace: {{ .Release.Namespace }}\n",
		"chart/templates/hook.yaml": "apiVersion: v1\nkind: Pod\nmetadata:\n  name: test\n  annotations: {helm.sh/hook: test}\nspec: {containers: [{name: t, image: busybox}]}\n",
	})
	values := newGitRepo(t, srv, "org/values.git")
	values.commit(map[string]string{"env/prod.yaml": "greeting: prod\n"})
	app := application("web", func(a *argov1.Application) {
		a.Spec.Source = nil
		a.Spec.Sources = []argov1.ApplicationSource{
			{RepoURL: values.url, TargetRevision: "main", Ref: "values"},
			{RepoURL: charts.url, TargetRevision: "main", Path: "chart",
				Helm: &argov1.ApplicationSourceHelm{ValueFiles: []string{"$values/env/prod.yaml"}}},
		}
		a.Spec.Destination.Namespace = "web"
	})
	r := manifests(t, clitest.NewClients(t, app), nil, "web")
	clitest.WantErr(t, r.Err, "")
	objs := parseYAMLStream(t, r.Out)
	if summary(objs) != "ConfigMap/web/web-config" {
		t.Fatalf("objects:\n%s", r.Out)
	}
	data, _, _ := unstructured.NestedStringMap(objs[0].Object, "data")
	if data["greeting"] != "prod" || data["namespace"] != "web" {
		t.Errorf("data = %v, want the value file of the ref source and the destination namespace", data)
	}
}

func TestManifestsErrors(t *testing.T) {
	srv := gitServer(t, "", "")
	repo := newGitRepo(t, srv, "org/web.git")
	repo.commit(map[string]string{
		"bad/cm.yaml":     "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a\n",
		"unknown/g.yaml":  "apiVersion: example.com/v1\nkind: Gadget\nmetadata: {name: g}\n",
		"twice/a.yaml":    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
		"twice/b.yaml":    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
		"fine/cm.yaml":    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
		"fine/README.txt": "not a manifest\n",
	})
	tests := []struct {
		name    string
		app     *argov1.Application
		args    []string
		wantErr string
	}{
		{name: "invalid YAML", app: gitApp(repo.url, "bad"), wantErr: "render bad/cm.yaml: "},
		{name: "missing path", app: gitApp(repo.url, "nope"), wantErr: "nope"},
		{name: "unknown kind", app: gitApp(repo.url, "unknown"),
			wantErr: "Gadget g: the cluster does not know kind Gadget in example.com/v1: install its CRD first, or add the CRD to this application"},
		{name: "duplicate", app: gitApp(repo.url, "twice"), wantErr: "ConfigMap/web/a appears twice in the rendered manifests: remove one in Git"},
		{name: "unknown revision", app: gitApp(repo.url, "fine"), args: []string{"--revision", "nope"}, wantErr: "nope"},
		{name: "unreachable", app: gitApp("http://127.0.0.1:1/web.git", "fine"), wantErr: "cannot reach the server"},
		{name: "no source", app: application("web", func(a *argov1.Application) { a.Spec.Source = nil }),
			wantErr: "application team/web has no source: set spec.source"},
		{name: "only refs", app: application("web", func(a *argov1.Application) {
			a.Spec.Source, a.Spec.Sources = nil, []argov1.ApplicationSource{{RepoURL: repo.url, Ref: "values"}}
		}), wantErr: "every source in spec.sources has only a ref: give at least one source a path"},
		{name: "bad output", app: gitApp(repo.url, "fine"), args: []string{"-o", "wide"}, wantErr: `unknown output format "wide": use yaml or json`},
		{name: "bad source", app: gitApp(repo.url, "fine"), args: []string{"--source", "cache"}, wantErr: `--source "cache": use git or live`},
		{name: "live with revision", app: gitApp(repo.url, "fine"), args: []string{"--source", "live", "--revision", "x"}, wantErr: "takes neither --local nor --revision"},
		{name: "local with revision", app: gitApp(repo.url, "fine"), args: []string{"--local", "testdata/local/plain", "--revision", "x"},
			wantErr: "--revision names a Git revision of the source that --local replaces"},
		{name: "local missing", app: gitApp(repo.url, "fine"), args: []string{"--local", "testdata/nope"}, wantErr: "--local testdata/nope: stat testdata/nope: no such file"},
		{name: "local not a directory", app: gitApp(repo.url, "fine"), args: []string{"--local", "testdata/local/plain/objects.yaml"}, wantErr: "not a directory"},
		{name: "not found", app: application("other"), wantErr: `application "web" not found in namespace team`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := manifests(t, clitest.NewClients(t, tt.app), nil, append([]string{"web"}, tt.args...)...)
			clitest.WantErr(t, r.Err, tt.wantErr)
			if r.Out != "" {
				t.Errorf("stdout on error:\n%s", r.Out)
			}
		})
	}
}

func TestManifestsLocal(t *testing.T) {
	tests := []struct {
		name, path, local string
		want              string
	}{
		// DIR ends with the source path: the directory above is the root,
		// so the Kustomize base two levels up resolves.
		{name: "kustomize with a base", path: "apps/web", local: "testdata/local/apps/web",
			want: "ConfigMap/web/web-config\nDeployment/web/web"},
		// Otherwise DIR is the root; the hook is included, the Skip hook not.
		{name: "directory", path: "deploy", local: "testdata/local/plain",
			want: "ConfigMap/web/web-config\nDeployment/web/web\nJob/web/smoke-test"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The repository is never fetched: its URL goes nowhere.
			clients := clitest.NewClients(t, gitApp("http://127.0.0.1:1/web.git", tt.path))
			r := manifests(t, clients, nil, "web", "--local", tt.local)
			clitest.WantErr(t, r.Err, "")
			objs := parseYAMLStream(t, r.Out)
			if got := summary(objs); got != tt.want {
				t.Errorf("objects:\n%s\nwant:\n%s", got, tt.want)
			}
			for _, o := range objs {
				if o.GetLabels()[argov1.LabelAppName] != "web" {
					t.Errorf("%s lacks the owner label: %v", appsource.Describe(o), o.GetLabels())
				}
			}
		})
	}
}

func TestManifestsLocalRenderError(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "cm.yaml"), []byte("kind: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := manifests(t, clitest.NewClients(t, gitApp("http://127.0.0.1:1/web.git", "deploy")), nil, "web", "--local", dir)
	clitest.WantErr(t, r.Err, "--local "+dir+": render cm.yaml: ")
}

func TestManifestsLive(t *testing.T) {
	app := application("web", func(a *argov1.Application) {
		a.Status.Resources = []argov1.ResourceStatus{
			{Version: "v1", Kind: "ConfigMap", Namespace: "web", Name: "web-config"},
			{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "web", Name: "gone"},
		}
	})
	fake := &fakeCluster{live: objectsByID(mustObjects(t, `apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
  namespace: web
  resourceVersion: "7"
  managedFields: [{manager: argolite, operation: Apply}]
data: {greeting: hello}
`))}
	r := manifests(t, clitest.NewClients(t, app), fake, "web", "--source", "live")
	clitest.WantErr(t, r.Err, "")
	want := `apiVersion: v1
data:
  greeting: hello
kind: ConfigMap
metadata:
  name: web-config
  namespace: web
  resourceVersion: "7"
`
	if r.Out != want {
		t.Errorf("output:\n%s\nwant:\n%s", r.Out, want)
	}
	if !strings.Contains(r.ErrOut, "Deployment/web/gone: not in the cluster\n") {
		t.Errorf("stderr does not note the missing object:\n%s", r.ErrOut)
	}

	r = manifests(t, clitest.NewClients(t, application("web")), fake, "web", "--source", "live")
	clitest.WantErr(t, r.Err, "")
	if r.Out != "" || !strings.Contains(r.ErrOut, "lists no resources yet") {
		t.Errorf("no resources: stdout %q, stderr %q", r.Out, r.ErrOut)
	}
}

func TestLocalRoot(t *testing.T) {
	abs := func(p string) string {
		a, err := filepath.Abs(p)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	tests := []struct {
		dir, path      string
		wantRoot, want string
	}{
		{"testdata/local/apps/web", "apps/web", abs("testdata/local"), "apps/web"},
		{"testdata/local/apps/web", "./apps/web/", abs("testdata/local"), "apps/web"},
		{"testdata/local/apps/web", "web", abs("testdata/local/apps"), "web"},
		{"testdata/local/apps/web", "other", abs("testdata/local/apps/web"), ""},
		{"testdata/local/apps/web", "", abs("testdata/local/apps/web"), ""},
		{"testdata/local/apps/web", ".", abs("testdata/local/apps/web"), ""},
		{"testdata/local/apps/web", "eb", abs("testdata/local/apps/web"), ""},
	}
	for _, tt := range tests {
		root, p, err := localRoot(tt.dir, tt.path)
		if err != nil || root != tt.wantRoot || p != tt.want {
			t.Errorf("localRoot(%q, %q) = %q, %q, %v; want %q, %q", tt.dir, tt.path, root, p, err, tt.wantRoot, tt.want)
		}
	}
}

// mustObjects parses a YAML stream.
func mustObjects(t *testing.T, s string) []*unstructured.Unstructured {
	t.Helper()
	return parseYAMLStream(t, s)
}

func objectsByID(objs []*unstructured.Unstructured) map[string]*unstructured.Unstructured {
	m := map[string]*unstructured.Unstructured{}
	for _, o := range objs {
		m[appsource.ObjectID(o)] = o
	}
	return m
}

func TestGitCacheLockFallsBackToAPrivateDirectory(t *testing.T) {
	dir := t.TempDir()
	first, unlockFirst, err := newGitCache(dir)
	if err != nil || first == nil {
		t.Fatalf("first cache: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, ".lock")); err != nil {
		t.Fatalf("the first process holds no lock: %v", err)
	}
	second, unlockSecond, err := newGitCache(dir)
	if err != nil || second == nil {
		t.Fatalf("second cache while the first holds the lock: %v", err)
	}
	unlockSecond()
	unlockFirst()
	if _, err := os.Stat(filepath.Join(dir, ".lock")); !os.IsNotExist(err) {
		t.Errorf("the lock outlived its holder: %v", err)
	}
	// A lock left by a crashed process is taken over once it is stale.
	if err := os.WriteFile(filepath.Join(dir, ".lock"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * staleLock)
	if err := os.Chtimes(filepath.Join(dir, ".lock"), old, old); err != nil {
		t.Fatal(err)
	}
	if unlock, ok := lockDir(dir); !ok {
		t.Error("a stale lock was not taken over")
	} else {
		unlock()
	}
}
