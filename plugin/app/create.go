package app

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/argolite/argolite/plugin/cli"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// Sync policies --sync-policy accepts, with Argo CD's aliases.
var (
	autoPolicies   = []string{"auto", "automated", "automatic"}
	manualPolicies = []string{"none", "manual"}
)

// CreateOptions are the flags and state of `kubectl argo app create`.
type CreateOptions struct {
	Common

	Name      string
	Filenames []string
	Upsert    bool

	Repo             string
	Path             string
	Revision         string
	DestNamespace    string
	DestServer       string
	SyncPolicy       string
	SelfHeal         bool
	AutoPrune        bool
	AllowEmpty       bool
	SyncOptions      []string
	HelmSets         []string
	HelmSetStrings   []string
	ValueFiles       []string
	ReleaseName      string
	KustomizeImages  []string
	DirectoryRecurse bool

	// specFlags are the spec flags given on the command line, which -f excludes.
	specFlags []string
}

// specFlagNames are the flags that describe the Application: -f replaces them.
var specFlagNames = []string{"repo", "path", "revision", "dest-namespace", "dest-server", "sync-policy",
	"self-heal", "auto-prune", "allow-empty", "sync-option", "helm-set", "helm-set-string", "values",
	"release-name", "kustomize-image", "directory-recurse"}

func newCreateCmd(o *CreateOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "create (NAME --repo URL | -f FILE)",
		Short: "Create an Application from flags or from a file (Argo CD's files too)",
		Long: `Create an Application in the current namespace (-n, or the kubeconfig's), from
flags or from a file.

From flags, NAME and --repo are required. --path is the directory in the
repository; the agent renders it as plain YAML, as a Kustomize overlay when it
holds a kustomization.yaml, or as a Helm chart when it holds a Chart.yaml. The
--helm-* and --values flags set Helm options, --kustomize-image Kustomize's.
--dest-namespace defaults to the Application's namespace.

From a file (-f FILE, a directory of files, or - for stdin), each document is an
Application: argolite's (argolite.dev/v1alpha1) or Argo CD's
(argoproj.io/v1alpha1), which is mapped: the apiVersion becomes argolite's,
Argo CD's resources finalizer becomes argolite.dev/resources-finalizer, and
status and operation are dropped. Argo CD keeps Applications in its argocd
namespace; argolite keeps them where you create them, so an Application in the
argocd namespace goes to the current namespace instead. A field argolite does
not support is an error that names it, never silently ignored.

argolite deploys only to the cluster its agent runs in: the destination server
must be empty or https://kubernetes.default.svc.

An Application that exists already is an error, unless --upsert replaces its
spec.`,
		Example: `  # A directory of manifests, synced automatically with pruning and self-heal
  kubectl argo app create guestbook --repo https://github.com/argoproj/argocd-example-apps \
      --path guestbook --dest-namespace guestbook --sync-policy auto --auto-prune --self-heal \
      --sync-option CreateNamespace=true

  # A Helm chart from Git with values, synced by hand (kubectl argo app sync)
  kubectl argo app create web --repo https://git.example.com/platform/charts.git --path charts/web \
      --revision v1.4.0 --values values-prod.yaml --helm-set replicaCount=3

  # An Argo CD Application file, as it is
  kubectl argo app create -f guestbook-argocd.yaml

  # Update the spec of an Application that exists
  kubectl argo app create -f web.yaml --upsert`,
		Args:              cobra.MaximumNArgs(1),
		RunE:              cli.RunE(o),
		ValidArgsFunction: cobra.NoFileCompletions,
	}
	f := cmd.Flags()
	cli.AddFilenameFlag(cmd, &o.Filenames, "Files (or directories of .yaml, .yml and .json files, or - for stdin) holding Applications, argolite's or Argo CD's.")
	f.BoolVar(&o.Upsert, "upsert", false, "Replace the spec of an Application that exists instead of failing.")
	f.StringVar(&o.Repo, "repo", "", "Git repository URL (HTTPS or SSH) of the manifests.")
	f.StringVar(&o.Path, "path", "", "Directory of the manifests in the repository.")
	f.StringVar(&o.Revision, "revision", "", "Branch, tag or commit to deploy (default: the remote HEAD).")
	f.StringVar(&o.DestNamespace, "dest-namespace", "", "Namespace of namespaced objects that name none (default: the Application's namespace).")
	f.StringVar(&o.DestServer, "dest-server", "", "Destination cluster: only https://kubernetes.default.svc, the agent's own cluster, is supported.")
	f.StringVar(&o.SyncPolicy, "sync-policy", "none", "auto: sync whenever Git or the cluster changes; none: sync only with kubectl argo app sync.")
	f.BoolVar(&o.SelfHeal, "self-heal", false, "With --sync-policy auto: re-apply when the live objects drift from Git.")
	f.BoolVar(&o.AutoPrune, "auto-prune", false, "With --sync-policy auto: delete objects that left Git.")
	f.BoolVar(&o.AllowEmpty, "allow-empty", false, "With --sync-policy auto and --auto-prune: allow a sync that prunes every object when Git renders none.")
	f.StringArrayVar(&o.SyncOptions, "sync-option", nil, "Argo CD sync option such as CreateNamespace=true or PruneLast=true (repeatable).")
	f.StringArrayVar(&o.HelmSets, "helm-set", nil, "Helm value NAME=VALUE, as helm --set (repeatable).")
	f.StringArrayVar(&o.HelmSetStrings, "helm-set-string", nil, "Helm string value NAME=VALUE, as helm --set-string (repeatable).")
	f.StringArrayVar(&o.ValueFiles, "values", nil, "Helm values file, relative to the chart in the repository (repeatable).")
	f.StringVar(&o.ReleaseName, "release-name", "", "Helm release name (default: the Application's name).")
	f.StringArrayVar(&o.KustomizeImages, "kustomize-image", nil, "Kustomize image override such as web=registry.example.com/web:1.2 (repeatable).")
	f.BoolVar(&o.DirectoryRecurse, "directory-recurse", false, "Read the manifests of subdirectories of --path too.")
	_ = cmd.RegisterFlagCompletionFunc("sync-policy", cobra.FixedCompletions([]cobra.Completion{"auto", "none"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// Complete takes the name and the spec flags given, and builds the clients.
func (o *CreateOptions) Complete(cmd *cobra.Command, args []string) error {
	if len(args) == 1 {
		o.Name = args[0]
	}
	cmd.Flags().Visit(func(f *pflag.Flag) {
		if slices.Contains(specFlagNames, f.Name) {
			o.specFlags = append(o.specFlags, "--"+f.Name)
		}
	})
	return o.Common.Complete()
}

// Validate checks the flags, before any request.
func (o *CreateOptions) Validate() error {
	if len(o.Filenames) > 0 {
		if o.Name != "" {
			return fmt.Errorf("NAME %q and -f cannot be combined: the file names the Application", o.Name)
		}
		if len(o.specFlags) > 0 {
			return fmt.Errorf("-f cannot be combined with %s: put these fields in the file", strings.Join(o.specFlags, ", "))
		}
		return nil
	}
	if o.Name == "" {
		return errors.New("NAME is required: kubectl argo app create NAME --repo URL [flags], or kubectl argo app create -f FILE")
	}
	if o.Repo == "" {
		return errors.New("--repo is required: the Git repository that holds the manifests")
	}
	if err := checkDestination(o.DestServer, "--dest-server"); err != nil {
		return err
	}
	auto := slices.Contains(autoPolicies, o.SyncPolicy)
	if !auto && !slices.Contains(manualPolicies, o.SyncPolicy) {
		return fmt.Errorf("--sync-policy %q: use auto (sync on every change) or none (sync only with kubectl argo app sync)", o.SyncPolicy)
	}
	for flag, set := range map[string]bool{"--self-heal": o.SelfHeal, "--auto-prune": o.AutoPrune, "--allow-empty": o.AllowEmpty} {
		if set && !auto {
			return fmt.Errorf("%s tunes automated sync: add --sync-policy auto", flag)
		}
	}
	if o.AllowEmpty && !o.AutoPrune {
		return errors.New("--allow-empty lets automated prune delete everything: it needs --auto-prune")
	}
	helm := len(o.HelmSets) > 0 || len(o.HelmSetStrings) > 0 || len(o.ValueFiles) > 0 || o.ReleaseName != ""
	kustomize := len(o.KustomizeImages) > 0
	switch {
	case helm && kustomize:
		return errors.New("the --helm-*, --values and --release-name flags cannot be combined with --kustomize-image: a path is rendered by Helm or by Kustomize")
	case o.DirectoryRecurse && (helm || kustomize):
		return errors.New("--directory-recurse reads plain manifests: it cannot be combined with Helm or Kustomize flags")
	}
	if _, err := helmParameters(o.HelmSets, o.HelmSetStrings); err != nil {
		return err
	}
	for _, opt := range o.SyncOptions {
		if !strings.Contains(opt, "=") {
			return fmt.Errorf("--sync-option %q: use NAME=VALUE, such as CreateNamespace=true", opt)
		}
	}
	return nil
}

// fleetFix is the fix for a destination outside the agent's cluster.
const fleetFix = "install the agent in that cluster and create the Application there (multi-cluster views arrive with the fleet roadmap item)"

// checkDestination rejects a destination server other than the agent's own
// cluster; field names the flag or field that set it.
func checkDestination(server, field string) error {
	if server != "" && strings.TrimSuffix(server, "/") != argov1.InClusterServer {
		return &cli.Error{
			Problem: fmt.Sprintf("%s %s: argolite deploys only to the cluster its agent runs in", field, server),
			Fix:     fleetFix,
		}
	}
	return nil
}

// checkDestinationName rejects a destination cluster name other than in-cluster.
func checkDestinationName(name string) error {
	if name != "" && name != "in-cluster" {
		return &cli.Error{
			Problem: fmt.Sprintf("spec.destination.name %q: argolite deploys only to the cluster its agent runs in (in-cluster)", name),
			Fix:     fleetFix,
		}
	}
	return nil
}

func helmParameters(sets, setStrings []string) ([]argov1.HelmParameter, error) {
	var params []argov1.HelmParameter
	for _, group := range []struct {
		flag   string
		values []string
		force  bool
	}{{"--helm-set", sets, false}, {"--helm-set-string", setStrings, true}} {
		for _, kv := range group.values {
			name, value, ok := strings.Cut(kv, "=")
			if !ok || name == "" {
				return nil, fmt.Errorf("%s %q: use NAME=VALUE, such as image.tag=1.2", group.flag, kv)
			}
			params = append(params, argov1.HelmParameter{Name: name, Value: value, ForceString: group.force})
		}
	}
	return params, nil
}

// Run creates the Applications (or with --upsert updates them).
func (o *CreateOptions) Run(ctx context.Context) error {
	var apps []*argov1.Application
	if len(o.Filenames) > 0 {
		read, err := o.readFiles()
		if err != nil {
			return err
		}
		apps = read
	} else {
		app, err := o.fromFlags()
		if err != nil {
			return err
		}
		apps = []*argov1.Application{app}
	}
	for _, app := range apps {
		if err := o.create(ctx, app); err != nil {
			return err
		}
	}
	if len(apps) == 1 {
		app := apps[0]
		next := "kubectl argo app sync " + app.Name + o.NSFlag(app.Namespace)
		if app.Spec.SyncPolicy != nil && app.Spec.SyncPolicy.Automated != nil {
			next = "kubectl argo app wait " + app.Name + o.NSFlag(app.Namespace)
		}
		fmt.Fprintln(o.Out, "Next: "+next)
	}
	return nil
}

// fromFlags builds the Application the flags describe.
func (o *CreateOptions) fromFlags() (*argov1.Application, error) {
	src := &argov1.ApplicationSource{RepoURL: o.Repo, Path: o.Path, TargetRevision: o.Revision}
	if o.DirectoryRecurse {
		src.Directory = &argov1.ApplicationSourceDirectory{Recurse: true}
	}
	params, err := helmParameters(o.HelmSets, o.HelmSetStrings)
	if err != nil {
		return nil, err
	}
	if len(params) > 0 || len(o.ValueFiles) > 0 || o.ReleaseName != "" {
		src.Helm = &argov1.ApplicationSourceHelm{Parameters: params, ValueFiles: o.ValueFiles, ReleaseName: o.ReleaseName}
	}
	if len(o.KustomizeImages) > 0 {
		src.Kustomize = &argov1.ApplicationSourceKustomize{Images: o.KustomizeImages}
	}
	dest := o.DestNamespace
	if dest == "" {
		dest = o.Namespace
	}
	app := &argov1.Application{
		ObjectMeta: metav1.ObjectMeta{Name: o.Name, Namespace: o.Namespace},
		Spec: argov1.ApplicationSpec{
			Source:      src,
			Destination: argov1.ApplicationDestination{Server: o.DestServer, Namespace: dest},
		},
	}
	var policy argov1.SyncPolicy
	if slices.Contains(autoPolicies, o.SyncPolicy) {
		policy.Automated = &argov1.SyncPolicyAutomated{Prune: o.AutoPrune, SelfHeal: o.SelfHeal, AllowEmpty: o.AllowEmpty}
	}
	policy.SyncOptions = o.SyncOptions
	if policy.Automated != nil || len(policy.SyncOptions) > 0 {
		app.Spec.SyncPolicy = &policy
	}
	return app, nil
}

// create creates app; when it exists, --upsert replaces its spec.
func (o *CreateOptions) create(ctx context.Context, app *argov1.Application) error {
	ref := app.Namespace + "/" + app.Name
	err := o.Clients.Client.Create(ctx, app.DeepCopy())
	switch {
	case err == nil:
		fmt.Fprintf(o.Out, "%s/%s created\n", Resource, app.Name)
		return nil
	case apierrors.IsAlreadyExists(err) && !o.Upsert:
		return &cli.Error{
			Problem: fmt.Sprintf("application %s already exists", ref),
			Fix:     "replace its spec with --upsert, or pick another name",
			Err:     err,
		}
	case apierrors.IsAlreadyExists(err):
		return o.upsert(ctx, app)
	case apierrors.IsInvalid(err):
		return cli.Rejected("application "+ref, err)
	case apierrors.IsNotFound(err):
		return &cli.Error{Problem: fmt.Sprintf("cannot create application %s: %v", ref, cli.APIMessage(err)),
			Fix: "create the namespace first (kubectl create namespace " + app.Namespace + "), or pick another with -n", Err: err}
	}
	return o.explain(fmt.Errorf("creating application %s: %w", ref, err))
}

// upsert replaces the spec of the Application that exists with app's, and
// adds app's labels, annotations and finalizers to it.
func (o *CreateOptions) upsert(ctx context.Context, app *argov1.Application) error {
	live := &argov1.Application{}
	if err := o.Clients.Client.Get(ctx, client.ObjectKeyFromObject(app), live); err != nil {
		return o.explain(fmt.Errorf("reading application %s/%s: %w", app.Namespace, app.Name, err))
	}
	updated := live.DeepCopy()
	updated.Spec = app.Spec
	if len(app.Labels) > 0 {
		if updated.Labels == nil {
			updated.Labels = map[string]string{}
		}
		maps.Copy(updated.Labels, app.Labels)
	}
	if len(app.Annotations) > 0 {
		if updated.Annotations == nil {
			updated.Annotations = map[string]string{}
		}
		maps.Copy(updated.Annotations, app.Annotations)
	}
	for _, f := range app.Finalizers {
		if !slices.Contains(updated.Finalizers, f) {
			updated.Finalizers = append(updated.Finalizers, f)
		}
	}
	if equality.Semantic.DeepEqual(live, updated) {
		fmt.Fprintf(o.Out, "%s/%s unchanged\n", Resource, app.Name)
		return nil
	}
	if err := o.Clients.Client.Update(ctx, updated); err != nil {
		if apierrors.IsConflict(err) {
			return &cli.Error{Problem: fmt.Sprintf("application %s/%s changed while updating it", app.Namespace, app.Name),
				Fix: "run the command again", Err: err}
		}
		if apierrors.IsInvalid(err) {
			return cli.Rejected("application "+app.Namespace+"/"+app.Name, err)
		}
		return o.explain(fmt.Errorf("updating application %s/%s: %w", app.Namespace, app.Name, err))
	}
	// The API server defaults fields a file leaves out: an update that
	// changed nothing keeps the resourceVersion.
	if updated.ResourceVersion == live.ResourceVersion {
		fmt.Fprintf(o.Out, "%s/%s unchanged\n", Resource, app.Name)
		return nil
	}
	fmt.Fprintf(o.Out, "%s/%s updated\n", Resource, app.Name)
	return nil
}
