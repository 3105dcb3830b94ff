package app

import (
	"context"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/argolite/argolite/plugin/clitest"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

const repo = "https://github.com/argoproj/argocd-example-apps.git"

func TestCreateFromFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    argov1.ApplicationSpec
		wantNS  string
		wantOut string
	}{
		{
			name: "directory, manual sync, destination defaults to the app's namespace",
			args: []string{"guestbook", "--repo", repo, "--path", "guestbook"},
			want: argov1.ApplicationSpec{
				Source:      &argov1.ApplicationSource{RepoURL: repo, Path: "guestbook"},
				Destination: argov1.ApplicationDestination{Namespace: ns},
			},
			wantOut: "application.argolite.dev/guestbook created\nNext: kubectl argo app sync guestbook\n",
		},
		{
			name: "automated with prune, self-heal, options and recursion, in another namespace",
			args: []string{"guestbook", "-n", "apps", "--repo", repo, "--path", "guestbook", "--revision", "v1.2.0",
				"--dest-namespace", "guestbook", "--dest-server", argov1.InClusterServer, "--sync-policy", "auto", "--auto-prune", "--self-heal",
				"--allow-empty", "--sync-option", "CreateNamespace=true", "--sync-option", "PruneLast=true", "--directory-recurse"},
			want: argov1.ApplicationSpec{
				Source: &argov1.ApplicationSource{RepoURL: repo, Path: "guestbook", TargetRevision: "v1.2.0",
					Directory: &argov1.ApplicationSourceDirectory{Recurse: true}},
				Destination: argov1.ApplicationDestination{Server: argov1.InClusterServer, Namespace: "guestbook"},
				SyncPolicy: &argov1.SyncPolicy{
					Automated:   &argov1.SyncPolicyAutomated{Prune: true, SelfHeal: true, AllowEmpty: true},
					SyncOptions: []string{"CreateNamespace=true", "PruneLast=true"},
				},
			},
			wantNS:  "apps",
			wantOut: "application.argolite.dev/guestbook created\nNext: kubectl argo app wait guestbook -n apps\n",
		},
		{
			name: "helm",
			args: []string{"web", "--repo", repo, "--path", "helm-guestbook", "--sync-policy", "automated",
				"--values", "values-prod.yaml", "--values", "values-eu.yaml", "--helm-set", "replicaCount=3",
				"--helm-set", "ingress.hosts[0]=a=b", "--helm-set-string", "image.tag=1.10", "--release-name", "gb"},
			want: argov1.ApplicationSpec{
				Source: &argov1.ApplicationSource{RepoURL: repo, Path: "helm-guestbook", Helm: &argov1.ApplicationSourceHelm{
					ValueFiles: []string{"values-prod.yaml", "values-eu.yaml"},
					Parameters: []argov1.HelmParameter{
						{Name: "replicaCount", Value: "3"},
						{Name: "ingress.hosts[0]", Value: "a=b"},
						{Name: "image.tag", Value: "1.10", ForceString: true},
					},
					ReleaseName: "gb",
				}},
				Destination: argov1.ApplicationDestination{Namespace: ns},
				SyncPolicy:  &argov1.SyncPolicy{Automated: &argov1.SyncPolicyAutomated{}},
			},
			wantOut: "application.argolite.dev/web created\nNext: kubectl argo app wait web\n",
		},
		{
			name: "kustomize",
			args: []string{"api", "--repo", repo, "--path", "kustomize-guestbook", "--kustomize-image", "gb=registry.example.com/gb:2"},
			want: argov1.ApplicationSpec{
				Source: &argov1.ApplicationSource{RepoURL: repo, Path: "kustomize-guestbook",
					Kustomize: &argov1.ApplicationSourceKustomize{Images: []string{"gb=registry.example.com/gb:2"}}},
				Destination: argov1.ApplicationDestination{Namespace: ns},
			},
			wantOut: "application.argolite.dev/api created\nNext: kubectl argo app sync api\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clients := clitest.NewClients(t)
			r := run(t, clients, append([]string{"create"}, tt.args...)...)
			clitest.WantErr(t, r.Err, "")
			if r.Out != tt.wantOut {
				t.Errorf("output:\n%s\nwant:\n%s", r.Out, tt.wantOut)
			}
			namespace := ns
			if tt.wantNS != "" {
				namespace = tt.wantNS
			}
			got := &argov1.Application{}
			if err := clients.Client.Get(context.Background(), client.ObjectKey{Namespace: namespace, Name: tt.args[0]}, got); err != nil {
				t.Fatal(err)
			}
			if !equality.Semantic.DeepEqual(got.Spec, tt.want) {
				t.Errorf("spec:\n%+v\nwant:\n%+v", got.Spec, tt.want)
			}
			if len(got.Finalizers) > 0 || got.Operation != nil {
				t.Errorf("created with finalizers %v, operation %v", got.Finalizers, got.Operation)
			}
		})
	}
}

func TestCreateRejects(t *testing.T) {
	fleet := "argolite deploys only to the cluster its agent runs in: install the agent in that cluster and create " +
		"the Application there (multi-cluster views arrive with the fleet roadmap item)"
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"no name", []string{"--repo", repo}, "NAME is required: kubectl argo app create NAME --repo URL [flags], or kubectl argo app create -f FILE"},
		{"no repo", []string{"web", "--path", "x"}, "--repo is required"},
		{"another cluster", []string{"web", "--repo", repo, "--dest-server", "https://prod.example.com:6443"},
			"--dest-server https://prod.example.com:6443: " + fleet},
		{"unknown sync policy", []string{"web", "--repo", repo, "--sync-policy", "sometimes"}, `--sync-policy "sometimes": use auto`},
		{"self-heal without auto", []string{"web", "--repo", repo, "--self-heal"}, "--self-heal tunes automated sync: add --sync-policy auto"},
		{"allow-empty without prune", []string{"web", "--repo", repo, "--sync-policy", "auto", "--allow-empty"}, "--allow-empty lets automated prune delete everything: it needs --auto-prune"},
		{"helm-set without value", []string{"web", "--repo", repo, "--helm-set", "replicas"}, `--helm-set "replicas": use NAME=VALUE`},
		{"helm and kustomize", []string{"web", "--repo", repo, "--values", "v.yaml", "--kustomize-image", "a=b"}, "cannot be combined with --kustomize-image"},
		{"recurse and helm", []string{"web", "--repo", repo, "--directory-recurse", "--helm-set", "a=b"}, "--directory-recurse reads plain manifests"},
		{"bad sync option", []string{"web", "--repo", repo, "--sync-option", "CreateNamespace"}, `--sync-option "CreateNamespace": use NAME=VALUE`},
		{"file and flags", []string{"-f", "testdata/argocd-guestbook.yaml", "--repo", repo, "--path", "x"}, "-f cannot be combined with --path, --repo: put these fields in the file"},
		{"file and name", []string{"web", "-f", "testdata/argocd-guestbook.yaml"}, `NAME "web" and -f cannot be combined`},
		{"missing file", []string{"-f", "testdata/nope.yaml"}, "-f testdata/nope.yaml: stat testdata/nope.yaml: no such file or directory"},
		{"unsupported fields", []string{"-f", "testdata/argocd-plugin.yaml"},
			"testdata/argocd-plugin.yaml: Application tanka: spec.source.plugin: not supported by argolite (field names follow Argo CD; see docs/gitops.md); " +
				"spec.syncPolicy.managedNamespaceMetadata: not supported by argolite (field names follow Argo CD; see docs/gitops.md)"},
		{"file for another cluster", []string{"-f", "testdata/argocd-remote-cluster.yaml"},
			"testdata/argocd-remote-cluster.yaml: Application remote: spec.destination.server https://prod.example.com:6443: " + fleet},
		{"file namespace against -n", []string{"-f", "testdata/argolite-other-namespace.yaml", "-n", "team"},
			"Application billing: metadata.namespace is billing but -n says team: drop -n, or change metadata.namespace"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clients := clitest.NewClients(t)
			r := run(t, clients, append([]string{"create"}, tt.args...)...)
			clitest.WantErr(t, r.Err, tt.wantErr)
			list := &argov1.ApplicationList{}
			if err := clients.Client.List(context.Background(), list); err != nil {
				t.Fatal(err)
			}
			if len(list.Items) > 0 {
				t.Errorf("created %d applications despite the error", len(list.Items))
			}
		})
	}
}

func TestCreateFromArgoCDFile(t *testing.T) {
	clients := clitest.NewClients(t)
	r := run(t, clients, "create", "-f", "testdata/argocd-guestbook.yaml")
	clitest.WantErr(t, r.Err, "")
	if want := "application.argolite.dev/guestbook created\nNext: kubectl argo app wait guestbook\n"; r.Out != want {
		t.Errorf("output:\n%s\nwant:\n%s", r.Out, want)
	}
	if !strings.Contains(r.ErrOut, "creating it in namespace team, not in Argo CD's argocd") {
		t.Errorf("no note about the namespace on stderr: %q", r.ErrOut)
	}
	got := get(t, clients, "guestbook")
	wantSpec := argov1.ApplicationSpec{
		Project:     "default",
		Source:      &argov1.ApplicationSource{RepoURL: repo, TargetRevision: "HEAD", Path: "guestbook"},
		Destination: argov1.ApplicationDestination{Server: argov1.InClusterServer, Namespace: "guestbook"},
		SyncPolicy: &argov1.SyncPolicy{
			Automated:   &argov1.SyncPolicyAutomated{Prune: true, SelfHeal: true},
			SyncOptions: []string{"CreateNamespace=true"},
			Retry: &argov1.RetryStrategy{Limit: 5, Backoff: &argov1.Backoff{Duration: "5s", Factor: ptr.To[int64](2),
				MaxDuration: "3m"}},
		},
	}
	if !equality.Semantic.DeepEqual(got.Spec, wantSpec) {
		t.Errorf("spec:\n%+v\nwant:\n%+v", got.Spec, wantSpec)
	}
	if want := []string{argov1.ResourcesFinalizer}; !equality.Semantic.DeepEqual(got.Finalizers, want) {
		t.Errorf("finalizers %v, want %v", got.Finalizers, want)
	}
	if got.Labels["team"] != "web" {
		t.Errorf("labels %v lost", got.Labels)
	}
	if got.Operation != nil || got.Status.Sync.Status != "" || got.Status.OperationState != nil {
		t.Errorf("operation %+v or status %+v kept from the file", got.Operation, got.Status)
	}
	if got.UID == "0b5b0a55-3c1e-4c8a-9d3b-0e6f9c1b2a11" || got.Generation == 3 {
		t.Errorf("server-set metadata kept from the file: uid %s, generation %d", got.UID, got.Generation)
	}
}

func TestCreateMultipleDocuments(t *testing.T) {
	clients := clitest.NewClients(t)
	r := run(t, clients, "create", "-f", "testdata/argocd-helm.yaml", "-n", "platform")
	clitest.WantErr(t, r.Err, "")
	if want := "application.argolite.dev/web created\napplication.argolite.dev/api created\n"; r.Out != want {
		t.Errorf("output:\n%s\nwant:\n%s", r.Out, want)
	}
	web := &argov1.Application{}
	if err := clients.Client.Get(context.Background(), client.ObjectKey{Namespace: "platform", Name: "web"}, web); err != nil {
		t.Fatal(err)
	}
	if n := len(web.Spec.Sources); n != 2 || web.Spec.Sources[0].Helm.Parameters[1].ForceString != true ||
		web.Spec.Sources[1].Ref != "values" || len(web.Spec.IgnoreDifferences) != 1 {
		t.Errorf("web spec not decoded whole: %+v", web.Spec)
	}
	api := &argov1.Application{}
	if err := clients.Client.Get(context.Background(), client.ObjectKey{Namespace: "platform", Name: "api"}, api); err != nil {
		t.Fatal(err)
	}
	if api.Spec.Source.Kustomize.NamePrefix != "prod-" {
		t.Errorf("api spec not decoded whole: %+v", api.Spec.Source)
	}
}

func TestCreateFromStdin(t *testing.T) {
	clients := clitest.NewClients(t)
	r := runWithInput(t, clients, `{"apiVersion": "argolite.dev/v1alpha1", "kind": "Application",
		"metadata": {"name": "web"}, "spec": {"source": {"repoURL": "`+repo+`"}, "destination": {}}}`, "create", "-f", "-")
	clitest.WantErr(t, r.Err, "")
	if got := get(t, clients, "web"); got.Spec.Source.RepoURL != repo {
		t.Errorf("spec %+v", got.Spec)
	}

	for _, tt := range []struct{ doc, wantErr string }{
		{"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n", `stdin: ConfigMap x: kind "ConfigMap": app create reads Applications only`},
		{"apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: x}\nspec: {destination: {}}\n", "stdin: Application x: spec.source is required"},
		{"apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: x}\nspec: {source: {repoURL: r}, destination: {name: prod}}\n",
			`spec.destination.name "prod": argolite deploys only to the cluster its agent runs in`},
		{"apiVersion: argoproj.io/v1beta1\nkind: Application\nmetadata: {name: x}\n", `apiVersion "argoproj.io/v1beta1": use argolite.dev/v1alpha1`},
		{"apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: x}\nspec: {source: {repoURL: 5}}\n", "stdin: Application x: json: cannot unmarshal number"},
		{"", "no Application in -"},
	} {
		r := runWithInput(t, clitest.NewClients(t), tt.doc, "create", "-f", "-")
		clitest.WantErr(t, r.Err, tt.wantErr)
	}
}

func TestCreateExisting(t *testing.T) {
	existing := application("guestbook", func(a *argov1.Application) {
		a.Labels = map[string]string{"owner": "web"}
		a.Finalizers = []string{argov1.ResourcesFinalizer}
	})
	clients := clitest.NewClients(t, existing)
	args := []string{"create", "guestbook", "--repo", repo, "--path", "guestbook", "--dest-namespace", "guestbook"}

	r := run(t, clients, args...)
	clitest.WantErr(t, r.Err, "application team/guestbook already exists: replace its spec with --upsert, or pick another name")

	r = run(t, clients, append(args, "--upsert")...)
	clitest.WantErr(t, r.Err, "")
	if !strings.HasPrefix(r.Out, "application.argolite.dev/guestbook updated\n") {
		t.Errorf("output %q", r.Out)
	}
	got := get(t, clients, "guestbook")
	if got.Spec.Source.RepoURL != repo || got.Spec.Project != "" || got.Labels["owner"] != "web" ||
		len(got.Finalizers) != 1 || got.Status.Sync.Status != argov1.SyncStatusSynced {
		t.Errorf("upsert changed more or less than the spec: %+v", got)
	}

	r = run(t, clients, append(args, "--upsert")...)
	clitest.WantErr(t, r.Err, "")
	if !strings.HasPrefix(r.Out, "application.argolite.dev/guestbook unchanged\n") {
		t.Errorf("output %q", r.Out)
	}
}
