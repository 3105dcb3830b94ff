package rollout

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/argolite/argolite/plugin/cli"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
	"github.com/argolite/argolite/shared/rolloutspec"
	"github.com/argolite/argolite/shared/rolloutstrict"
	"github.com/argolite/argolite/shared/strict"
)

type promoteOptions struct {
	cli.Common
	Name string
	Full bool
}

func newPromoteCmd(o *promoteOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "promote NAME",
		Short: "Go on past a pause, skip the current step, or (--full) skip every step and analysis",
		Long: `Promote a Rollout as kubectl-argo-rollouts does: a paused Rollout resumes
(spec.paused false, status.pauseConditions cleared); a canary not paused skips
its current step (status.currentStepIndex + 1); --full sets status.promoteFull,
which skips the remaining steps and analysis and goes straight to the new
version. A failed AnalysisRun does not block --full.`,
		Example: `  kubectl argo rollout promote rollouts-demo
  kubectl argo rollout promote rollouts-demo --full`,
		Args: cobra.ExactArgs(1),
		RunE: cli.RunE(o),
	}
	cmd.Flags().BoolVar(&o.Full, "full", false, "Skip every remaining step and analysis.")
	return cmd
}

func (o *promoteOptions) Complete(_ *cobra.Command, args []string) error {
	o.Name = args[0]
	return o.Common.Complete()
}
func (o *promoteOptions) Validate() error { return nil }

func (o *promoteOptions) Run(ctx context.Context) error {
	ro, err := getRollout(ctx, &o.Common, o.Name)
	if err != nil {
		return err
	}
	if ro.Spec.Paused {
		if _, err := patchRollout(ctx, &o.Common, o.Name, "promote", false, func(r *argov1.Rollout) error {
			r.Spec.Paused = false
			return nil
		}); err != nil {
			return err
		}
	}
	_, err = patchRollout(ctx, &o.Common, o.Name, "promote", true, func(r *argov1.Rollout) error {
		st := &r.Status
		switch {
		case o.Full:
			st.PromoteFull = true
			st.PauseConditions = nil
			if st.Abort {
				st.Abort = false
			}
		case len(st.PauseConditions) > 0:
			st.PauseConditions = nil
		case r.Spec.Strategy.Canary != nil && len(r.Spec.Strategy.Canary.Steps) > 0 && !ro.Spec.Paused:
			idx := int32(0)
			if st.CurrentStepIndex != nil {
				idx = *st.CurrentStepIndex
			}
			if int(idx) < len(r.Spec.Strategy.Canary.Steps) {
				idx++
				st.CurrentStepIndex = &idx
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "rollout '%s' promoted\n", o.Name)
	return nil
}

// simpleOptions are the flags of abort, retry and pause.
type simpleOptions struct {
	cli.Common
	Name string
}

func (o *simpleOptions) Complete(_ *cobra.Command, args []string) error {
	o.Name = args[0]
	return o.Common.Complete()
}
func (o *simpleOptions) Validate() error { return nil }

// simple is a command that patches the Rollout once and says so.
type simple struct {
	*simpleOptions
	verb, done string
	status     bool
	change     func(*argov1.Rollout) error
}

func (s *simple) Run(ctx context.Context) error {
	if _, err := patchRollout(ctx, &s.Common, s.Name, s.verb, s.status, s.change); err != nil {
		return err
	}
	fmt.Fprintf(s.Out, "rollout '%s' %s\n", s.Name, s.done)
	return nil
}

func newAbortCmd(o *simpleOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "abort NAME",
		Short: "Abort the update: every request and Pod goes back to the stable version",
		Long: `Abort a Rollout's update (status.abort): the stable version takes all traffic
and its full scale, the canary or preview is scaled down, analysis ends. The
Rollout is Degraded until it is retried or its template changes.`,
		Example: `  kubectl argo rollout abort rollouts-demo`,
		Args:    cobra.ExactArgs(1),
		RunE: cli.RunE(&simple{simpleOptions: o, verb: "abort", done: "aborted", status: true, change: func(r *argov1.Rollout) error {
			r.Status.Abort = true
			return nil
		}}),
	}
}

func newRetryCmd(o *simpleOptions) *cobra.Command {
	return &cobra.Command{
		Use:     "retry NAME",
		Short:   "Retry an aborted update from its first step, with new AnalysisRuns",
		Example: `  kubectl argo rollout retry rollouts-demo`,
		Args:    cobra.ExactArgs(1),
		RunE: cli.RunE(&simple{simpleOptions: o, verb: "retry", done: "retried", status: true, change: func(r *argov1.Rollout) error {
			if !r.Status.Abort {
				return &cli.Error{Problem: fmt.Sprintf("rollout %s/%s is not aborted: there is nothing to retry", r.Namespace, r.Name),
					Fix: "see its state with kubectl argo rollout get " + r.Name}
			}
			r.Status.Abort = false
			return nil
		}}),
	}
}

func newPauseCmd(o *simpleOptions) *cobra.Command {
	return &cobra.Command{
		Use:     "pause NAME",
		Short:   "Pause a Rollout where it is (spec.paused); promote resumes it",
		Example: `  kubectl argo rollout pause rollouts-demo`,
		Args:    cobra.ExactArgs(1),
		RunE: cli.RunE(&simple{simpleOptions: o, verb: "pause", done: "paused", change: func(r *argov1.Rollout) error {
			r.Spec.Paused = true
			return nil
		}}),
	}
}

type restartOptions struct {
	cli.Common
	Name string
	In   time.Duration
}

func newRestartCmd(o *restartOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "restart NAME",
		Short: "Restart the Rollout's Pods (now or --in a while), a few at a time",
		Long: `Restart every Pod of a Rollout, as kubectl-argo-rollouts restart does: it sets
spec.restartAt, and the agent evicts the Pods created before it as many at a
time as maxUnavailable allows (at least one; PodDisruptionBudgets are
honoured), then records status.restartedAt. No new revision is made.`,
		Example: `  kubectl argo rollout restart rollouts-demo
  kubectl argo rollout restart rollouts-demo --in 10m`,
		Args: cobra.ExactArgs(1),
		RunE: cli.RunE(o),
	}
	cmd.Flags().DurationVarP(&o.In, "in", "i", 0, "Restart after this long rather than now (e.g. 30s, 5m, 1h).")
	return cmd
}

func (o *restartOptions) Complete(_ *cobra.Command, args []string) error {
	o.Name = args[0]
	return o.Common.Complete()
}

func (o *restartOptions) Validate() error {
	if o.In < 0 {
		return &cli.Error{Problem: fmt.Sprintf("--in %s is in the past", o.In), Fix: "pass 0 (now) or a positive duration such as 10m"}
	}
	return nil
}

func (o *restartOptions) Run(ctx context.Context) error {
	at := metav1.NewTime(o.Now().Add(o.In).UTC().Truncate(time.Second))
	if _, err := patchRollout(ctx, &o.Common, o.Name, "restart", false, func(r *argov1.Rollout) error {
		r.Spec.RestartAt = &at
		return nil
	}); err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "rollout '%s' restarts in %s\n", o.Name, o.In)
	return nil
}

type undoOptions struct {
	cli.Common
	Name       string
	ToRevision int
}

func newUndoCmd(o *undoOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "undo NAME",
		Short: "Go back to the previous revision (or --to-revision N) as a new update",
		Long: `Put the Pod template of an earlier revision back into the Rollout's spec, as
kubectl-argo-rollouts undo does; the agent rolls it out as any update.`,
		Example: `  kubectl argo rollout undo rollouts-demo
  kubectl argo rollout undo rollouts-demo --to-revision 3`,
		Args: cobra.ExactArgs(1),
		RunE: cli.RunE(o),
	}
	cmd.Flags().IntVar(&o.ToRevision, "to-revision", 0, "The revision to go back to (default: the one before the current).")
	return cmd
}

func (o *undoOptions) Complete(_ *cobra.Command, args []string) error {
	o.Name = args[0]
	return o.Common.Complete()
}

func (o *undoOptions) Validate() error {
	if o.ToRevision < 0 {
		return &cli.Error{Problem: "--to-revision must be 0 or more", Fix: "pass a revision shown by kubectl argo rollout get"}
	}
	return nil
}

func (o *undoOptions) Run(ctx context.Context) error {
	ro, err := getRollout(ctx, &o.Common, o.Name)
	if err != nil {
		return err
	}
	if err := templateInDeployment(ro, "kubectl rollout undo deployment/%s"); err != nil {
		return err
	}
	own, err := readOwned(ctx, &o.Common, ro)
	if err != nil {
		return err
	}
	var target *appsv1.ReplicaSet
	var revs []string
	current := 0
	for i := range own.replicaSets {
		rs := &own.replicaSets[i]
		revs = append(revs, strconv.Itoa(revision(rs)))
		if rs.Labels[labelPodTemplateHash] == ro.Status.CurrentPodHash {
			current = revision(rs)
		}
	}
	for i := range own.replicaSets { // newest first
		rs := &own.replicaSets[i]
		r := revision(rs)
		if (o.ToRevision == 0 && r < current) || (o.ToRevision != 0 && r == o.ToRevision) {
			target = rs
			break
		}
	}
	if target == nil {
		return &cli.Error{Problem: fmt.Sprintf("rollout %s has no revision %s to go back to (it has %s)", o.Ref(o.Name), undoWanted(o.ToRevision), strings.Join(revs, ", ")),
			Fix: "pick one with --to-revision; kubectl argo rollout get " + o.Name + " lists them"}
	}
	template := target.Spec.Template.DeepCopy()
	delete(template.Labels, labelPodTemplateHash)
	if _, err := patchRollout(ctx, &o.Common, o.Name, "undo", false, func(r *argov1.Rollout) error {
		r.Spec.Template = *template
		return nil
	}); err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "rollout '%s' undo to revision %d\n", o.Name, revision(target))
	return nil
}

func undoWanted(n int) string {
	if n == 0 {
		return "before the current one"
	}
	return strconv.Itoa(n)
}

func newSetCmd(common func() cli.Common) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "set",
		Short: "Change a Rollout's Pod template",
	}
	cmd.AddCommand(newSetImageCmd(&setImageOptions{Common: common()}))
	return cmd
}

type setImageOptions struct {
	cli.Common
	Name   string
	Images map[string]string
}

func newSetImageCmd(o *setImageOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "image NAME CONTAINER=IMAGE...",
		Short: "Set the image of containers (* for every one): starts an update",
		Example: `  kubectl argo rollout set image rollouts-demo rollouts-demo=argoproj/rollouts-demo:yellow
  kubectl argo rollout set image rollouts-demo '*=argoproj/rollouts-demo:green'`,
		Args: cobra.MinimumNArgs(2),
		RunE: cli.RunE(o),
	}
}

func (o *setImageOptions) Complete(_ *cobra.Command, args []string) error {
	o.Name = args[0]
	o.Images = map[string]string{}
	for _, a := range args[1:] {
		name, image, ok := strings.Cut(a, "=")
		if !ok || name == "" || image == "" {
			return &cli.Error{Problem: fmt.Sprintf("%q is not CONTAINER=IMAGE", a), Fix: "write each as container=image, such as rollouts-demo=argoproj/rollouts-demo:yellow"}
		}
		o.Images[name] = image
	}
	return o.Common.Complete()
}
func (o *setImageOptions) Validate() error { return nil }

func (o *setImageOptions) Run(ctx context.Context) error {
	_, err := patchRollout(ctx, &o.Common, o.Name, "set the image of", false, func(r *argov1.Rollout) error {
		if err := templateInDeployment(r, "kubectl set image deployment/%s CONTAINER=IMAGE"); err != nil {
			return err
		}
		found := map[string]bool{}
		spec := &r.Spec.Template.Spec
		for i := range spec.InitContainers {
			if im, ok := pick(o.Images, spec.InitContainers[i].Name); ok {
				spec.InitContainers[i].Image = im
				found[spec.InitContainers[i].Name] = true
			}
		}
		for i := range spec.Containers {
			if im, ok := pick(o.Images, spec.Containers[i].Name); ok {
				spec.Containers[i].Image = im
				found[spec.Containers[i].Name] = true
			}
		}
		for name := range o.Images {
			if name != "*" && !found[name] {
				return &cli.Error{Problem: fmt.Sprintf("rollout %s/%s has no container %q", r.Namespace, r.Name, name),
					Fix: "name one of its containers, or * for every one"}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "rollout \"%s\" image updated\n", o.Name)
	return nil
}

func pick(images map[string]string, container string) (string, bool) {
	if im, ok := images[container]; ok {
		return im, true
	}
	im, ok := images["*"]
	return im, ok
}

// createOptions are the flags of `rollout create -f`.
type createOptions struct {
	cli.Common
	Filenames []string
}

func newCreateCmd(o *createOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "create -f FILE",
		Short: "Create Rollouts, Experiments, AnalysisTemplates and the Services next to them from files",
		Long: `Create the objects of YAML or JSON files: Rollouts, Experiments, AnalysisTemplates,
ClusterAnalysisTemplates and AnalysisRuns (Argo's argoproj.io/v1alpha1 is
mapped to argolite.dev/v1alpha1), and any other kind in the same files (the
Services and HTTPRoutes a Rollout names) as they are. A field argolite does not
have is an error naming it; nothing is created then.`,
		Example: `  kubectl argo rollout create -f examples/rollout-canary/`,
		Args:    cobra.NoArgs,
		RunE:    cli.RunE(o),
	}
	cli.AddFilenameFlag(cmd, &o.Filenames, "The files or directories to create from (- for stdin).")
	return cmd
}

func (o *createOptions) Complete(*cobra.Command, []string) error { return o.Common.Complete() }
func (o *createOptions) Validate() error {
	if len(o.Filenames) == 0 {
		return &cli.Error{Problem: "no file given", Fix: "pass -f FILE"}
	}
	return nil
}

// ourKinds are the kinds create -f checks strictly, with the agent's rules.
var ourKinds = map[string]func() any{
	"Rollout":                 func() any { return &argov1.Rollout{} },
	"AnalysisTemplate":        func() any { return &argov1.AnalysisTemplate{} },
	"ClusterAnalysisTemplate": func() any { return &argov1.ClusterAnalysisTemplate{} },
	"AnalysisRun":             func() any { return &argov1.AnalysisRun{} },
	"Experiment":              func() any { return &argov1.Experiment{} },
}

func (o *createOptions) Run(ctx context.Context) error {
	srcs, err := cli.ReadSources(o.Filenames, o.In)
	if err != nil {
		return &cli.Error{Problem: err.Error(), Fix: "check the path"}
	}
	docs, problems := decodeDocuments(srcs, false)
	var objs []*unstructured.Unstructured
	for _, d := range docs {
		if d.obj.GetNamespace() == "" && d.obj.GetKind() != "ClusterAnalysisTemplate" {
			d.obj.SetNamespace(o.Namespace)
		}
		objs = append(objs, d.obj)
	}
	if len(problems) > 0 {
		return &cli.Error{Problem: "nothing created:\n  " + strings.Join(problems, "\n  "), Fix: "fix the files and run the command again"}
	}
	for _, u := range objs {
		if err := o.Clients.Client.Create(ctx, u); err != nil {
			if apierrors.IsAlreadyExists(err) {
				return &cli.Error{Problem: fmt.Sprintf("%s %s/%s already exists", u.GetKind(), u.GetNamespace(), u.GetName()), Fix: "delete it first, or change it with kubectl apply", Err: err}
			}
			return o.Explain(fmt.Errorf("creating %s %s/%s: %w", u.GetKind(), u.GetNamespace(), u.GetName(), err), forbidden)
		}
		fmt.Fprintf(o.Out, "%s/%s created\n", strings.ToLower(u.GetKind()), u.GetName())
	}
	return nil
}

// document is one object of a file, with where it was.
type document struct {
	obj   *unstructured.Unstructured
	where string // FILE (document N, KIND NAME)
}

// decodeDocuments decodes every document of srcs, maps Argo's
// argoproj.io/v1alpha1 to argolite.dev and checks argolite's objects as
// the agent will (checkOurs; with validate, Argo's rules for Rollouts too).
// It returns the documents that passed and one message per problem.
func decodeDocuments(srcs []cli.Source, validate bool) ([]document, []string) {
	var docs []document
	var problems []string
	for _, src := range srcs {
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(src.Data), 4096)
		for n := 1; ; n++ {
			var raw map[string]any
			if err := dec.Decode(&raw); err != nil {
				if !errors.Is(err, io.EOF) {
					problems = append(problems, fmt.Sprintf("%s (document %d): %v", src.Name, n, err))
				}
				break
			}
			if raw == nil {
				continue
			}
			u := &unstructured.Unstructured{Object: raw}
			where := fmt.Sprintf("%s (document %d, %s %s)", src.Name, n, u.GetKind(), u.GetName())
			if u.GetAPIVersion() == "argoproj.io/v1alpha1" {
				u.SetAPIVersion(argov1.GroupVersion.String())
			}
			if u.GetAPIVersion() == argov1.GroupVersion.String() {
				problem := checkOurs(u)
				if problem == "" && validate {
					problem = validateOurs(u)
				}
				if problem != "" {
					problems = append(problems, where+": "+problem)
					continue
				}
			}
			docs = append(docs, document{obj: u, where: where})
		}
	}
	return docs, problems
}

// validateOurs runs Argo's validation rules (the agent's) on a Rollout or
// an Experiment that passed the strict check.
func validateOurs(u *unstructured.Unstructured) string {
	switch u.GetKind() {
	case "Rollout":
		return validateRollout(u)
	case "Experiment":
		ex := &argov1.Experiment{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, ex); err != nil {
			return err.Error()
		}
		return rolloutspec.ValidateExperiment(ex)
	}
	return ""
}

func validateRollout(u *unstructured.Unstructured) string {
	ro := &argov1.Rollout{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, ro); err != nil {
		return err.Error()
	}
	if ro.Spec.WorkloadRef != nil {
		return "" // its template is the Deployment's, in the cluster
	}
	if err := rolloutspec.Validate(ro); err != nil {
		return err.Error()
	}
	return ""
}

// checkOurs checks an argolite object from a file as the agent will: a
// kind create -f takes, and only fields argolite has. It returns the
// problem, or "".
func checkOurs(u *unstructured.Unstructured) string {
	build, ok := ourKinds[u.GetKind()]
	if !ok {
		return fmt.Sprintf("kind %s is not one create -f takes: Rollout, Experiment, AnalysisTemplate, ClusterAnalysisTemplate, AnalysisRun", u.GetKind())
	}
	raw := runtime.DeepCopyJSON(u.Object)
	delete(raw, "status")
	var faults []strict.Fault
	switch u.GetKind() {
	case "Rollout":
		faults = rolloutstrict.Rollout(raw)
	case "Experiment":
		faults = rolloutstrict.Experiment(raw)
	default:
		faults = rolloutstrict.Analysis(raw, build())
	}
	if len(faults) > 0 {
		return rolloutstrict.Text(faults) + " (field names follow Argo Rollouts; see docs/rollouts.md)"
	}
	return ""
}

// templateInDeployment refuses to change the Pod template of a Rollout
// whose template is its workloadRef Deployment's: fix (with the
// Deployment's name for %s) changes it there.
func templateInDeployment(ro *argov1.Rollout, fix string) error {
	if ref := ro.Spec.WorkloadRef; ref != nil {
		return &cli.Error{Problem: fmt.Sprintf("rollout %s/%s takes its Pod template from Deployment %s (workloadRef)", ro.Namespace, ro.Name, ref.Name),
			Fix: "change the Deployment: " + fmt.Sprintf(fix, ref.Name)}
	}
	return nil
}

// lintOptions are the flags of `rollout lint`.
type lintOptions struct {
	cli.Common
	Filenames []string
}

func newLintCmd(o *lintOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "lint (FILE | DIR)...",
		Short: "Check Rollout and analysis files with the agent's rules, without a cluster",
		Long: `Check the Rollouts, Experiments, AnalysisTemplates, ClusterAnalysisTemplates
and AnalysisRuns of files and directories (.yaml, .yml, .json, recursively; - for
stdin) as the agent will: every field must be one argolite has (a misspelt
or unsupported one is named, with the fix), and a Rollout must pass Argo
Rollouts' validation rules (an Experiment too). Argo's argoproj.io/v1alpha1 files are taken as
they are; other kinds are skipped. It exits 1 when a file has a problem.`,
		Example: `  kubectl argo rollout lint examples/rollout-canary/
  kubectl argo rollout lint rollout.yaml analysis.yaml`,
		Args: cobra.MinimumNArgs(1),
		RunE: cli.RunE(o),
	}
}

func (o *lintOptions) Complete(_ *cobra.Command, args []string) error {
	o.Filenames = args
	return nil
}
func (o *lintOptions) Validate() error { return nil }

func (o *lintOptions) Run(context.Context) error {
	srcs, err := cli.ReadSources(o.Filenames, o.In)
	if err != nil {
		return &cli.Error{Problem: err.Error(), Fix: "check the path"}
	}
	docs, problems := decodeDocuments(srcs, true)
	for _, src := range srcs {
		var mine []string
		for _, p := range problems {
			if rest, ok := strings.CutPrefix(p, src.Name+" ("); ok {
				mine = append(mine, "("+rest)
			}
		}
		if len(mine) == 0 {
			fmt.Fprintf(o.Out, "✔ %s\n", src.Name)
			continue
		}
		fmt.Fprintf(o.Out, "✖ %s\n", src.Name)
		for _, p := range mine {
			fmt.Fprintf(o.Out, "    %s\n", p)
		}
	}
	checked := 0
	for _, d := range docs {
		if d.obj.GetAPIVersion() == argov1.GroupVersion.String() {
			checked++
		}
	}
	if len(problems) > 0 {
		fmt.Fprintf(o.Out, "%d problem(s) in %d file(s)\n", len(problems), len(srcs))
		return &cli.ExitError{Code: 1, Silent: true}
	}
	fmt.Fprintf(o.Out, "%d object(s) in %d file(s): no problems\n", checked, len(srcs))
	return nil
}
