package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/argolite/argolite/plugin/cli"
	"github.com/argolite/argolite/shared/agentmeta"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
	"github.com/argolite/argolite/shared/appsource"
	"github.com/argolite/argolite/shared/git"
	"github.com/argolite/argolite/shared/render"
)

// Values of `app manifests --source`.
const (
	sourceGit  = "git"
	sourceLive = "live"
)

// ManifestsOptions are the flags and state of `kubectl argo app manifests`.
type ManifestsOptions struct {
	Common

	Name     string
	Revision string
	Local    string
	Source   string
	Output   string

	// cluster reads live objects; built in Complete unless a test set it.
	cluster cluster
	// cacheDir holds the Git cache; empty means the user's cache directory.
	cacheDir string
}

// NewManifestsOptions returns options with default flags.
func NewManifestsOptions(c Common) *ManifestsOptions {
	return &ManifestsOptions{Common: c, Source: sourceGit, Output: "yaml"}
}

func newManifestsCmd(o *ManifestsOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "manifests NAME",
		Short: "Print the manifests an Application would apply, rendered from Git or a working copy",
		Long: `Print what the agent would apply for an Application: its source fetched from Git
at the target revision (or --revision), rendered as the agent renders it (plain
YAML, Kustomize or Helm, with the spec's overrides), with the owner labels the
agent adds and the destination namespace filled in for namespaced kinds. Hooks
are included.

Git credentials come from the source's secretRef, or from Secrets labelled
argocd.argoproj.io/secret-type=repository (or argolite.dev/secret-type) in the
Application's namespace and in argolite-system, as the agent finds them.
Fetched repositories are cached under your user cache directory.

--local DIR renders a working copy instead of Git: DIR is the directory that
spec.source.path names. --source live prints the live objects the Application
manages instead.`,
		Example: `  kubectl argo app manifests guestbook

  # What a branch would apply
  kubectl argo app manifests guestbook --revision feature/x

  # What your working copy would apply
  kubectl argo app manifests guestbook --local ./guestbook

  # What is in the cluster now
  kubectl argo app manifests guestbook --source live -o json`,
		Args:              cobra.ExactArgs(1),
		RunE:              cli.RunE(o),
		ValidArgsFunction: completeNames(&o.Common, false),
	}
	f := cmd.Flags()
	f.StringVar(&o.Revision, "revision", "", "Branch, tag or commit to render instead of the target revision.")
	f.StringVar(&o.Local, "local", "", "Render this directory (the one spec.source.path names) instead of fetching it from Git.")
	f.StringVar(&o.Source, "source", o.Source, "Where the manifests come from: git (what would be applied) or live (what is in the cluster).")
	f.StringVarP(&o.Output, "output", "o", o.Output, "Output format. One of: (yaml, json).")
	_ = cmd.MarkFlagDirname("local")
	_ = cmd.RegisterFlagCompletionFunc("source", cobra.FixedCompletions([]string{sourceGit, sourceLive}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"yaml", "json"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// Complete takes the name and builds the clients.
func (o *ManifestsOptions) Complete(_ *cobra.Command, args []string) error {
	o.Name = args[0]
	if err := o.Common.Complete(); err != nil {
		return err
	}
	if o.Source == sourceLive && o.cluster == nil {
		c, err := newDynamicCluster(o.ConfigFlags, o.Clients.Mapper, o.ErrOut)
		if err != nil {
			return err
		}
		o.cluster = c
	}
	return nil
}

// Validate checks the flags.
func (o *ManifestsOptions) Validate() error {
	switch o.Output {
	case "yaml", "json":
	default:
		return fmt.Errorf("unknown output format %q: use yaml or json", o.Output)
	}
	switch o.Source {
	case sourceGit:
	case sourceLive:
		if o.Local != "" || o.Revision != "" {
			return errors.New("--source live prints what is in the cluster: it takes neither --local nor --revision")
		}
	default:
		return fmt.Errorf("--source %q: use git or live", o.Source)
	}
	return validateLocal(o.Local, o.Revision)
}

// validateLocal checks --local and that --revision does not come with it.
func validateLocal(local, revision string) error {
	if local == "" {
		return nil
	}
	if revision != "" {
		return errors.New("--revision names a Git revision of the source that --local replaces: give one of them")
	}
	fi, err := os.Stat(local)
	if err != nil {
		return fmt.Errorf("--local %s: %w", local, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("--local %s: not a directory: give the directory spec.source.path names", local)
	}
	return nil
}

// Run prints the manifests.
func (o *ManifestsOptions) Run(ctx context.Context) error {
	app, err := o.getApp(ctx, o.Name)
	if err != nil {
		return err
	}
	var objs []*unstructured.Unstructured
	if o.Source == sourceLive {
		objs, err = o.live(ctx, app)
	} else {
		progress := cli.NewProgress(o.ErrOut)
		var d *rendered
		d, err = o.render(ctx, app, renderRequest{revision: o.Revision, local: o.Local, cacheDir: o.cacheDir}, progress)
		progress.Clear()
		if d != nil {
			objs = append(d.objects, d.hooks...)
		}
	}
	if err != nil {
		return err
	}
	return printManifests(o.Out, objs, o.Output)
}

// live reads the objects status.resources lists; missing ones are noted on
// stderr.
func (o *ManifestsOptions) live(ctx context.Context, app *argov1.Application) ([]*unstructured.Unstructured, error) {
	if len(app.Status.Resources) == 0 {
		fmt.Fprintf(o.ErrOut, "Application %s lists no resources yet: the agent lists them after it has rendered the manifests.\n", o.Ref(app.Name))
		return nil, nil
	}
	var out []*unstructured.Unstructured
	for _, r := range app.Status.Resources {
		gvk := schema.GroupVersionKind{Group: r.Group, Version: r.Version, Kind: r.Kind}
		obj, err := o.cluster.Get(ctx, gvk, r.Namespace, r.Name)
		switch {
		case apierrors.IsNotFound(err) || meta.IsNoMatchError(err):
			fmt.Fprintf(o.ErrOut, "%s: not in the cluster\n", appsource.DescribeRef(gvk, r.Namespace, r.Name))
			continue
		case err != nil:
			return nil, o.Clients.Explain(fmt.Errorf("reading %s: %w", appsource.DescribeRef(gvk, r.Namespace, r.Name), err),
				"ask a cluster administrator for read access to the Application's objects, or use another --context")
		}
		unstructured.RemoveNestedField(obj.Object, "metadata", "managedFields")
		out = append(out, obj)
	}
	return out, nil
}

// printManifests writes objs as a YAML stream or a JSON List.
func printManifests(w io.Writer, objs []*unstructured.Unstructured, format string) error {
	if format == "json" {
		items := make([]any, 0, len(objs))
		for _, o := range objs {
			items = append(items, o.Object)
		}
		b, err := json.MarshalIndent(map[string]any{"apiVersion": "v1", "kind": "List", "items": items}, "", "    ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	var buf bytes.Buffer
	for i, o := range objs {
		b, err := yaml.Marshal(o.Object)
		if err != nil {
			return fmt.Errorf("%s: %w", appsource.Describe(o), err)
		}
		if i > 0 {
			buf.WriteString("---\n")
		}
		buf.Write(b)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// renderRequest says what to render instead of the spec's target.
type renderRequest struct {
	// revision replaces the first rendered source's targetRevision.
	revision string
	// local replaces the first rendered source's checkout with a directory.
	local string
	// cacheDir holds the Git cache; empty means the user's cache directory.
	cacheDir string
}

// rendered is what the agent would apply for an Application.
type rendered struct {
	// objects are the resources, labelled and with namespaces, sorted as the agent sorts them.
	objects []*unstructured.Unstructured
	// hooks are the hook objects, in render order (Skip hooks are left out).
	hooks []*unstructured.Unstructured
	// revision is the commit the first rendered source was rendered at ("" with --local).
	revision string
}

// render fetches the Application's sources and renders them as the agent
// does, reporting each step on progress; the caller clears it.
func (c *Common) render(ctx context.Context, app *argov1.Application, req renderRequest, progress *cli.Progress) (*rendered, error) {
	srcs := appsource.Sources(app, &argov1.SyncOperation{Revision: req.revision})
	if len(srcs) == 0 {
		return nil, &cli.Error{Problem: fmt.Sprintf("application %s has no source", c.Ref(app.Name)),
			Fix: "set spec.source (or spec.sources) to a Git repository"}
	}
	first := slices.IndexFunc(srcs, func(s argov1.ApplicationSource) bool { return !appsource.RefOnly(s) })
	if first < 0 {
		return nil, &cli.Error{Problem: fmt.Sprintf("application %s: every source in spec.sources has only a ref", c.Ref(app.Name)),
			Fix: "give at least one source a path to render"}
	}

	// Check out every source from Git, but the one --local replaces.
	dirs := make([]string, len(srcs))
	shas := make([]string, len(srcs))
	refs := map[string]string{}
	var cache *git.Cache
	creds := &credentialFinder{common: c, app: app}
	for i, src := range srcs {
		if i == first && req.local != "" {
			continue
		}
		if cache == nil {
			var err error
			var unlock func()
			if cache, unlock, err = newGitCache(req.cacheDir); err != nil {
				return nil, err
			}
			defer unlock()
		}
		auth, err := creds.find(ctx, src)
		if err != nil {
			return nil, err
		}
		progress.Update(fmt.Sprintf("Resolving %s of %s", target(&src), src.RepoURL))
		sha, err := cache.Resolve(ctx, src.RepoURL, auth, src.TargetRevision)
		if err != nil {
			return nil, err
		}
		progress.Update(fmt.Sprintf("Fetching %s at %s", src.RepoURL, shortRevision(sha)))
		dir, release, err := cache.Checkout(ctx, src.RepoURL, auth, sha)
		if err != nil {
			return nil, err
		}
		defer release()
		dirs[i], shas[i] = dir, sha
		if src.Ref != "" {
			refs[src.Ref] = dir
		}
	}
	if req.local != "" {
		root, p, err := localRoot(req.local, srcs[first].Path)
		if err != nil {
			return nil, err
		}
		dirs[first] = root
		srcs[first].Path = p
	}

	var objects []*unstructured.Unstructured
	for i, src := range srcs {
		if appsource.RefOnly(src) {
			continue
		}
		where := src.RepoURL
		if i == first && req.local != "" {
			where = req.local
		}
		progress.Update(fmt.Sprintf("Rendering %s of %s", orDot(src.Path), where))
		objs, err := render.Render(ctx, render.Input{
			Root:      dirs[i],
			Source:    src,
			Refs:      refs,
			AppName:   app.Name,
			Namespace: appsource.DestNamespace(app),
		})
		if err != nil {
			if i == first && req.local != "" {
				return nil, fmt.Errorf("--local %s: %w", req.local, err)
			}
			return nil, fmt.Errorf("%s at revision %s: %w", src.RepoURL, shortRevision(shas[i]), err)
		}
		objects = append(objects, objs...)
	}
	d, err := c.prepare(app, objects)
	if err != nil {
		return nil, err
	}
	d.revision = shas[first]
	return d, nil
}

func orDot(p string) string {
	if p == "" {
		return "."
	}
	return p
}

// newGitCache opens the Git cache in dir, or in the user's cache directory.
func newGitCache(dir string) (*git.Cache, func(), error) {
	if dir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return nil, nil, &cli.Error{Problem: "cannot find a cache directory for Git: " + err.Error(),
				Fix: "set XDG_CACHE_HOME or HOME", Err: err}
		}
		dir = filepath.Join(base, "argolite", "git")
	}
	// A cache directory serves one process at a time. When another
	// kubectl argo holds it, this one fetches into a private directory.
	unlock, ok := lockDir(dir)
	if !ok {
		private, err := os.MkdirTemp("", "argolite-git-")
		if err != nil {
			return nil, nil, fmt.Errorf("creating a private Git cache: %w", err)
		}
		dir = private
		unlock = func() { _ = os.RemoveAll(private) }
	}
	cache, err := git.NewCache(git.Options{Dir: dir})
	if err != nil {
		unlock()
		return nil, nil, err
	}
	return cache, unlock, nil
}

// staleLock is how old a cache lock may get before a crashed holder is assumed.
const staleLock = 15 * time.Minute

// lockDir takes dir's lock file, portably (O_EXCL), and returns its release.
func lockDir(dir string) (func(), bool) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, false
	}
	lock := filepath.Join(dir, ".lock")
	for range 2 {
		f, err := os.OpenFile(lock, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err == nil {
			_ = f.Close()
			return func() { _ = os.Remove(lock) }, true
		}
		st, serr := os.Stat(lock)
		if serr != nil || time.Since(st.ModTime()) < staleLock {
			return nil, false
		}
		_ = os.Remove(lock)
	}
	return nil, false
}

// localRoot maps --local DIR, the directory spec.source.path names, to the
// render root and path. When DIR ends with that path, the root is the
// directory above it, so that Kustomize bases and Helm value files elsewhere
// in the working copy resolve as they do in Git; otherwise DIR is the root.
func localRoot(dir, sourcePath string) (root, p string, err error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", "", fmt.Errorf("--local %s: %w", dir, err)
	}
	clean := path.Clean("/" + sourcePath)[1:] // relative, slash-separated, "" for the root
	if clean != "" {
		suffix := string(filepath.Separator) + filepath.FromSlash(clean)
		if strings.HasSuffix(abs, suffix) && len(abs) > len(suffix) {
			return abs[:len(abs)-len(suffix)], clean, nil
		}
	}
	return abs, "", nil
}

// credentialFinder finds a source's Git credentials as the agent does: the
// source's secretRef, else labelled repository Secrets in the Application's
// namespace and the agent's.
type credentialFinder struct {
	common *Common
	app    *argov1.Application
	listed []git.CredentialCandidate
	done   bool
}

func (f *credentialFinder) find(ctx context.Context, src argov1.ApplicationSource) (*git.Auth, error) {
	c := f.common
	if src.SecretRef != nil {
		key := client.ObjectKey{Namespace: f.app.Namespace, Name: src.SecretRef.Name}
		var s corev1.Secret
		if err := c.Clients.Client.Get(ctx, key, &s); err != nil {
			if apierrors.IsNotFound(err) {
				return nil, &cli.Error{
					Problem: fmt.Sprintf("source %s: secretRef %s not found in namespace %s", src.RepoURL, key.Name, key.Namespace),
					Fix:     "create it with the repository's username and password (or sshPrivateKey), or fix spec.source.secretRef",
					Err:     err,
				}
			}
			return nil, c.Clients.Explain(fmt.Errorf("reading Secret %s: %w", key, err),
				fmt.Sprintf("reading the repository credentials needs get on secrets in namespace %s: ask a cluster administrator, or use another --context", key.Namespace))
		}
		auth, _, err := git.AuthFromSecretData(s.Data)
		if err != nil {
			return nil, fmt.Errorf("repository Secret %s: %w", key, err)
		}
		return auth, nil
	}
	if !f.done {
		if err := f.list(ctx); err != nil {
			return nil, err
		}
		f.done = true
	}
	auth, _ := git.MatchCredentials(src.RepoURL, f.listed)
	return auth, nil
}

// list reads the labelled repository Secrets, noting on stderr the
// namespaces it may not list.
func (f *credentialFinder) list(ctx context.Context) error {
	c := f.common
	namespaces := []string{f.app.Namespace}
	if f.app.Namespace != agentmeta.Namespace {
		namespaces = append(namespaces, agentmeta.Namespace)
	}
	for _, ns := range namespaces {
		var found []git.CredentialCandidate
		forbidden := false
		for _, label := range git.CredentialLabels {
			var list corev1.SecretList
			err := c.Clients.Client.List(ctx, &list, client.InNamespace(ns), client.HasLabels{label})
			switch {
			case apierrors.IsForbidden(err):
				forbidden = true
				continue
			case err != nil:
				return c.Clients.Explain(fmt.Errorf("listing repository Secrets in namespace %s: %w", ns, err), "")
			}
			sort.SliceStable(list.Items, func(i, j int) bool { return list.Items[i].Name < list.Items[j].Name })
			found = append(found, git.CredentialCandidates(label, list.Items)...)
		}
		if forbidden {
			fmt.Fprintf(c.ErrOut, "note: you may not list Secrets in namespace %s: fetching without the repository credentials there\n", ns)
		}
		f.listed = append(f.listed, found...)
	}
	return nil
}

// prepare labels, namespaces and splits the rendered objects exactly as the
// agent does (shared/appsource), with errors that say what to do.
func (c *Common) prepare(app *argov1.Application, objects []*unstructured.Unstructured) (*rendered, error) {
	out, err := appsource.Prepare(app, objects, c.Clients.Mapper)
	var unknown *appsource.UnknownKindError
	var dup *appsource.DuplicateError
	var noName *appsource.NoNameError
	switch {
	case errors.As(err, &unknown):
		return nil, &cli.Error{
			Problem: fmt.Sprintf("%s %s: the cluster does not know kind %s in %s", unknown.GVK.Kind, unknown.Name, unknown.GVK.Kind, unknown.GVK.GroupVersion()),
			Fix:     "install its CRD first, or add the CRD to this application",
			Err:     unknown.Err,
		}
	case errors.As(err, &dup):
		return nil, &cli.Error{Problem: dup.Object + " appears twice in the rendered manifests", Fix: "remove one in Git"}
	case errors.As(err, &noName):
		return nil, &cli.Error{Problem: noName.Object + " has no metadata.name", Fix: "set metadata.name, or make it a hook (argocd.argoproj.io/hook or helm.sh/hook): only hooks may use generateName"}
	case err != nil:
		return nil, c.Clients.Explain(err, "")
	}
	return &rendered{objects: out.Objects, hooks: out.Hooks}, nil
}
