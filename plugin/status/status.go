// Package status owns `kubectl argo status`: whether argolite is healthy in
// the cluster (CRDs, agent rollout, leader, version skew) and its replicas.
package status

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/argolite/argolite/manifests"
	"github.com/argolite/argolite/plugin/agent"
	"github.com/argolite/argolite/plugin/cli"
	"github.com/argolite/argolite/shared/agentmeta"
	"github.com/argolite/argolite/shared/version"
)

// Result is the outcome of one check.
type Result string

// Check outcomes. Only Failed makes argolite unhealthy.
const (
	OK      Result = "OK"
	Warning Result = "Warning"
	Failed  Result = "Failed"
)

// Check is one thing status looked at.
type Check struct {
	Name   string `json:"name"`
	Result Result `json:"result"`
	Detail string `json:"detail"`
	// Fix says what to do when Result is not OK.
	Fix string `json:"fix,omitempty"`
}

// Replica is one agent Pod.
type Replica struct {
	Pod   string `json:"pod"`
	Ready bool   `json:"ready"`
	// Containers is "ready/total", as kubectl get pods shows it.
	Containers string      `json:"containers"`
	Version    string      `json:"version,omitempty"`
	Roles      []string    `json:"roles,omitempty"`
	Leader     bool        `json:"leader"`
	Restarts   int32       `json:"restarts"`
	Created    metav1.Time `json:"created"`
}

// Report is what `status -o json|yaml` prints.
type Report struct {
	metav1.TypeMeta `json:",inline"`
	Healthy         bool      `json:"healthy"`
	Installed       bool      `json:"installed"`
	Checks          []Check   `json:"checks"`
	Replicas        []Replica `json:"replicas"`
}

// DeepCopyObject lets printers take the report as a runtime.Object.
func (r *Report) DeepCopyObject() runtime.Object {
	out := *r
	out.Checks = append([]Check(nil), r.Checks...)
	out.Replicas = make([]Replica, len(r.Replicas))
	for i, rep := range r.Replicas {
		rep.Roles = append([]string(nil), rep.Roles...)
		out.Replicas[i] = rep
	}
	return &out
}

// Options are the flags and state of `kubectl argo status`.
type Options struct {
	ConfigFlags *genericclioptions.ConfigFlags
	PrintFlags  *genericclioptions.PrintFlags
	genericiooptions.IOStreams

	// Clients are built from ConfigFlags in Complete unless set (tests set fakes).
	Clients *cli.Clients

	now func() time.Time
}

// NewOptions returns options with default flags.
func NewOptions(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *Options {
	return &Options{ConfigFlags: flags, PrintFlags: cli.NewReportPrintFlags(), IOStreams: streams, now: time.Now}
}

// NewCmd returns the status command.
func NewCmd(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	return newCmd(NewOptions(flags, streams))
}

func newCmd(o *Options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Check that argolite is installed and healthy in the cluster",
		Long: `Check argolite in the current cluster: the CRDs and the API versions they serve,
the agent Deployment's ready replicas, the leader and whether its Lease is fresh,
and whether the agent runs the plugin's version. Then list the agent replicas.

The exit code is non-zero when argolite is not installed or unhealthy (a CRD is
missing, no replica is ready or no replica leads), so scripts can wait on it.`,
		Example: `  kubectl argo status
  kubectl argo status -o json`,
		Args: cobra.NoArgs,
		RunE: cli.RunE(o),
	}
	cli.AddPrintFlags(cmd, o.PrintFlags)
	return cmd
}

// Complete builds the clients.
func (o *Options) Complete(*cobra.Command, []string) error {
	if o.now == nil {
		o.now = time.Now
	}
	return cli.EnsureClients(&o.Clients, o.ConfigFlags, o.IOStreams)
}

// Validate checks the flags.
func (o *Options) Validate() error {
	return cli.ValidateOutput(o.PrintFlags)
}

// Run checks argolite, prints the report and returns an error when
// argolite is not installed or unhealthy.
func (o *Options) Run(ctx context.Context) error {
	printer, err := cli.Printer(o.PrintFlags)
	if err != nil {
		return err
	}
	r, err := o.collect(ctx)
	if err != nil {
		return o.Clients.Explain(err, cli.NeedsReadAccess)
	}
	if printer != nil {
		if err := printer.PrintObj(r, o.Out); err != nil {
			return err
		}
	} else {
		o.printText(r)
	}
	return r.err()
}

// err is the error a report amounts to: nil when healthy.
func (r *Report) err() error {
	if !r.Installed {
		return cli.NotInstalled()
	}
	var problems []string
	fix := ""
	for _, c := range r.Checks {
		if c.Result == Failed {
			problems = append(problems, c.Name+": "+c.Detail)
			if fix == "" {
				fix = c.Fix
			}
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return &cli.Error{Problem: "argolite is unhealthy: " + strings.Join(problems, "; "), Fix: fix}
}

func (o *Options) collect(ctx context.Context) (*Report, error) {
	r := &Report{TypeMeta: metav1.TypeMeta{APIVersion: cli.ReportAPIVersion, Kind: "Status"}, Replicas: []Replica{}}
	crdChecks, err := o.checkCRDs(ctx)
	if err != nil {
		return nil, err
	}
	r.Checks = append(r.Checks, crdChecks...)

	d, err := agent.Deployment(ctx, o.Clients.Client)
	if err != nil {
		return nil, err
	}
	if d == nil {
		r.Checks = append(r.Checks, Check{Name: "Agent", Result: Failed,
			Detail: fmt.Sprintf("Deployment %s/%s not found", agentmeta.Namespace, agentmeta.Name),
			Fix:    "run kubectl argo install"})
		return r, nil
	}
	r.Installed = true
	pods, err := agent.Pods(ctx, o.Clients.Client)
	if err != nil {
		return nil, err
	}
	lease, err := agent.Lease(ctx, o.Clients.Client)
	if err != nil {
		return nil, err
	}
	leader := agent.LeaderOf(lease)
	r.Checks = append(r.Checks, checkDeployment(d, pods), checkLeader(lease, pods, o.now()))
	if c, ok := checkVersions(pods); ok {
		r.Checks = append(r.Checks, c)
	}
	for i := range pods {
		p := &pods[i]
		r.Replicas = append(r.Replicas, Replica{
			Pod:        p.Name,
			Ready:      agent.Ready(p),
			Containers: agent.ReadyContainers(p),
			Version:    agent.Version(p),
			Roles:      agent.Roles(p),
			Leader:     p.Name == leader.Pod,
			Restarts:   agent.Restarts(p),
			Created:    p.CreationTimestamp,
		})
	}
	r.Healthy = !slices.ContainsFunc(r.Checks, func(c Check) bool { return c.Result == Failed })
	return r, nil
}

// checkCRDs checks each CRD the plugin installs and the versions it serves.
func (o *Options) checkCRDs(ctx context.Context) ([]Check, error) {
	objects, err := manifests.Objects(manifests.Options{})
	if err != nil {
		return nil, fmt.Errorf("reading the embedded install manifests: %w", err)
	}
	var checks []Check
	for _, want := range objects {
		if want.GetKind() != "CustomResourceDefinition" {
			continue
		}
		name := want.GetName()
		check := Check{Name: "CRD " + name}
		live := &apiextensionsv1.CustomResourceDefinition{}
		err := o.Clients.Client.Get(ctx, client.ObjectKey{Name: name}, live)
		switch {
		case apierrors.IsNotFound(err):
			check.Result, check.Detail, check.Fix = Failed, "missing", "run kubectl argo install"
		case err != nil:
			return nil, fmt.Errorf("reading CustomResourceDefinition %s: %w", name, err)
		default:
			check.Result, check.Detail, check.Fix = judgeCRD(live, servedVersions(want))
		}
		checks = append(checks, check)
	}
	return checks, nil
}

func judgeCRD(live *apiextensionsv1.CustomResourceDefinition, want []string) (Result, string, string) {
	var served []string
	for _, v := range live.Spec.Versions {
		if v.Served {
			served = append(served, v.Name)
		}
	}
	for _, c := range live.Status.Conditions {
		if c.Type == apiextensionsv1.Established && c.Status != apiextensionsv1.ConditionTrue {
			return Failed, "not established: " + c.Message, "see kubectl get crd " + live.Name + " -o yaml"
		}
	}
	detail := "serves " + strings.Join(served, ", ")
	if len(served) == 0 {
		detail = "serves no version"
	}
	var missing []string
	for _, v := range want {
		if !slices.Contains(served, v) {
			missing = append(missing, v)
		}
	}
	if len(missing) > 0 {
		return Warning, fmt.Sprintf("%s; this plugin uses %s", detail, strings.Join(missing, ", ")),
			"run kubectl argo install to upgrade the CRDs"
	}
	return OK, detail, ""
}

// servedVersions are the versions an embedded CRD serves.
func servedVersions(crd *unstructured.Unstructured) []string {
	versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
	var names []string
	for _, v := range versions {
		m, ok := v.(map[string]any)
		if !ok {
			continue
		}
		if served, _ := m["served"].(bool); served {
			if name, _ := m["name"].(string); name != "" {
				names = append(names, name)
			}
		}
	}
	return names
}

func checkDeployment(d *appsv1.Deployment, pods []corev1.Pod) Check {
	want, ready := agent.Replicas(d), d.Status.ReadyReplicas
	c := Check{Name: "Agent", Detail: fmt.Sprintf("%d/%d replicas ready", ready, want)}
	if len(d.Spec.Template.Spec.Containers) > 0 {
		c.Detail += " (image " + d.Spec.Template.Spec.Containers[0].Image + ")"
	}
	switch {
	case want > 0 && ready >= want:
		c.Result = OK
		return c
	case ready > 0:
		c.Result = Warning
	default:
		c.Result = Failed
	}
	c.Fix = fmt.Sprintf("see why with kubectl -n %s describe pods -l %s=%s", agentmeta.Namespace, agentmeta.ComponentLabel, agentmeta.Name)
	// Name what keeps the first unready replica back.
	for i := range pods {
		p := &pods[i]
		if agent.Ready(p) {
			continue
		}
		if problem := agent.StartFailure(p); problem != nil {
			c.Detail += "; " + problem.Error()
			c.Fix = problem.Fix()
		} else {
			c.Detail += fmt.Sprintf("; %s: %s", p.Name, agent.Waiting(p))
		}
		break
	}
	if want == 0 {
		c.Detail += "; the Deployment is scaled to zero"
		c.Fix = "run kubectl argo install to restore the replicas"
	}
	return c
}

func checkLeader(lease *coordinationv1.Lease, pods []corev1.Pod, now time.Time) Check {
	c := Check{Name: "Leader"}
	leader := agent.LeaderOf(lease)
	logs := fmt.Sprintf("read the agent's logs with kubectl -n %s logs deploy/%s", agentmeta.Namespace, agentmeta.Name)
	leaseName := agentmeta.Namespace + "/" + agentmeta.LeaderElectionID
	switch {
	case lease == nil:
		c.Result, c.Detail = Failed, "no leader elected: Lease "+leaseName+" does not exist"
		c.Fix = "a replica takes the lead within seconds of starting; if none does, " + logs
	case leader.Pod == "":
		c.Result, c.Detail = Failed, "no leader: nobody holds Lease "+leaseName
		c.Fix = logs
	case !leader.Fresh(now):
		c.Result = Failed
		c.Detail = fmt.Sprintf("%s held Lease %s, which expired %s ago", leader.Pod, leaseName, ago(now, leader.Expires))
		c.Fix = "a standby replica should take over; if none does, " + logs
	case !slices.ContainsFunc(pods, func(p corev1.Pod) bool { return p.Name == leader.Pod }):
		c.Result = Warning
		c.Detail = fmt.Sprintf("%s (renewed %s ago) is not an agent Pod", leader.Pod, ago(now, leader.Renewed))
		c.Fix = "check who else uses Lease " + leaseName
	default:
		c.Result, c.Detail = OK, fmt.Sprintf("%s (lease renewed %s ago)", leader.Pod, ago(now, leader.Renewed))
	}
	return c
}

// checkVersions compares the version each replica reports with the plugin's.
func checkVersions(pods []corev1.Pod) (Check, bool) {
	if len(pods) == 0 {
		return Check{}, false
	}
	c := Check{Name: "Version", Result: OK}
	var other, unreported []string
	for i := range pods {
		switch v := agent.Version(&pods[i]); v {
		case version.Version:
		case "":
			unreported = append(unreported, pods[i].Name)
		default:
			other = append(other, fmt.Sprintf("%s runs %s", pods[i].Name, v))
		}
	}
	switch {
	case len(other) > 0:
		c.Result = Warning
		c.Detail = fmt.Sprintf("plugin is %s; %s", version.Version, strings.Join(other, ", "))
		c.Fix = agent.SkewFix(agent.Version(&pods[0]))
	case len(unreported) > 0:
		c.Result = Warning
		c.Detail = strings.Join(unreported, ", ") + " has not reported its version yet"
		c.Fix = "wait a few seconds; agents older than the plugin do not report it: run kubectl argo install"
	default:
		c.Detail = "plugin and agent run " + version.Version
	}
	return c, true
}

func ago(now, t time.Time) string {
	if t.IsZero() {
		return "an unknown time"
	}
	return duration.HumanDuration(now.Sub(t))
}

func (o *Options) printText(r *Report) {
	colours := cli.NewPalette(o.Out)
	w := printers.GetNewTabWriter(o.Out)
	// The result and detail share the last cell: colour codes inside a
	// tab-aligned cell would skew the columns after it.
	fmt.Fprintf(w, "CHECK\t%-7s  DETAIL\n", "RESULT")
	for _, c := range r.Checks {
		result := fmt.Sprintf("%-7s", c.Result)
		switch c.Result {
		case OK:
			result = colours.Green(result)
		case Warning:
			result = colours.Yellow(result)
		case Failed:
			result = colours.Red(result)
		}
		fmt.Fprintf(w, "%s\t%s  %s\n", c.Name, result, c.Detail)
	}
	_ = w.Flush()
	// Failures come back as the command's error with their fix; warnings
	// do not fail the command, so their fixes are printed here.
	for _, c := range r.Checks {
		if c.Result == Warning && c.Fix != "" {
			fmt.Fprintf(o.Out, "%s %s: %s\n", colours.Yellow("Warning:"), c.Name, c.Fix)
		}
	}
	if !r.Installed {
		return
	}
	fmt.Fprintln(o.Out)
	if len(r.Replicas) == 0 {
		fmt.Fprintln(o.Out, "No agent replicas.")
		return
	}
	o.printReplicas(r.Replicas)
}

func (o *Options) printReplicas(replicas []Replica) {
	// A writer of its own: tab writers remember column widths across flushes.
	w := printers.GetNewTabWriter(o.Out)
	defer w.Flush()
	fmt.Fprintln(w, "POD\tREADY\tVERSION\tROLES\tLEADER\tRESTARTS\tAGE")
	now := o.now()
	for _, rep := range replicas {
		v, roles, leader := rep.Version, strings.Join(rep.Roles, ","), "no"
		if v == "" {
			v = "unknown"
		}
		if roles == "" {
			roles = "-"
		}
		if rep.Leader {
			leader = "yes"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", rep.Pod, rep.Containers, v, roles, leader, rep.Restarts,
			duration.HumanDuration(now.Sub(rep.Created.Time)))
	}
}
