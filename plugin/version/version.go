// Package version owns `kubectl argo version`: the plugin's build and the
// versions of the Kubernetes server and of the agent replicas in the cluster.
package version

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"

	"github.com/argolite/argolite/plugin/agent"
	"github.com/argolite/argolite/plugin/cli"
	buildversion "github.com/argolite/argolite/shared/version"
)

// Report is what `version -o json|yaml` prints.
type Report struct {
	metav1.TypeMeta `json:",inline"`
	Client          buildversion.Info `json:"client"`
	// Kubernetes is the API server's version; empty with --client.
	Kubernetes string `json:"kubernetes,omitempty"`
	// Agent is nil with --client and when the cluster could not be read.
	Agent *Agent `json:"agent,omitempty"`
}

// Agent is the agent as its replicas report it.
type Agent struct {
	Installed bool `json:"installed"`
	// Versions are the distinct versions the replicas run.
	Versions []string  `json:"versions,omitempty"`
	Replicas []Replica `json:"replicas,omitempty"`
}

// Replica is one agent Pod and the version it reports; empty until it has.
type Replica struct {
	Pod     string `json:"pod"`
	Version string `json:"version"`
}

// DeepCopyObject lets printers take the report as a runtime.Object.
func (r *Report) DeepCopyObject() runtime.Object {
	out := *r
	if r.Agent != nil {
		a := *r.Agent
		a.Versions = append([]string(nil), r.Agent.Versions...)
		a.Replicas = append([]Replica(nil), r.Agent.Replicas...)
		out.Agent = &a
	}
	return &out
}

// Options are the flags and state of `kubectl argo version`.
type Options struct {
	ConfigFlags *genericclioptions.ConfigFlags
	PrintFlags  *genericclioptions.PrintFlags
	genericiooptions.IOStreams

	// ClientOnly skips the cluster.
	ClientOnly bool
	// Clients are built from ConfigFlags in Complete unless set (tests set fakes).
	Clients *cli.Clients

	clientsErr error
	printer    printers.ResourcePrinter
}

// NewOptions returns options with default flags.
func NewOptions(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *Options {
	return &Options{ConfigFlags: flags, PrintFlags: cli.NewReportPrintFlags(), IOStreams: streams}
}

// NewCmd returns the version command.
func NewCmd(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	return newCmd(NewOptions(flags, streams))
}

func newCmd(o *Options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the plugin's version and the agent's version in the cluster",
		Long: `Print the plugin's version, the Kubernetes server's version and the version
each agent replica reports. The plugin and the agent should run the same version;
kubectl argo install moves the agent to the plugin's version.`,
		Example: `  kubectl argo version
  kubectl argo version --client
  kubectl argo version -o json`,
		Args: cobra.NoArgs,
		RunE: cli.RunE(o),
	}
	cmd.Flags().BoolVar(&o.ClientOnly, "client", o.ClientOnly, "Print only the plugin's version; do not contact the cluster.")
	cli.AddPrintFlags(cmd, o.PrintFlags)
	return cmd
}

// Complete builds the clients unless --client. A kubeconfig that cannot be
// loaded is reported by Run, after the client's version.
func (o *Options) Complete(*cobra.Command, []string) error {
	if o.ClientOnly || o.Clients != nil {
		return nil
	}
	o.Clients, o.clientsErr = cli.NewClients(o.ConfigFlags, o.ErrOut)
	return nil
}

// Validate checks the flags.
func (o *Options) Validate() error {
	return cli.ValidateOutput(o.PrintFlags)
}

// Run prints the versions. When the cluster cannot be read it prints the
// client's version first and then returns the error, like kubectl version.
func (o *Options) Run(ctx context.Context) error {
	printer, err := cli.Printer(o.PrintFlags)
	if err != nil {
		return err
	}
	o.printer = printer
	r := o.report()
	if o.ClientOnly {
		return o.print(r)
	}
	if o.clientsErr != nil {
		if err := o.print(r); err != nil {
			return err
		}
		return o.clientsErr
	}
	err = o.readCluster(ctx, r)
	if perr := o.print(r); perr != nil {
		return perr
	}
	if err != nil {
		return o.Clients.Explain(err, cli.NeedsReadAccess)
	}
	if skew := o.skew(r); skew != "" {
		fmt.Fprintln(o.ErrOut, skew)
	}
	return nil
}

func (o *Options) report() *Report {
	return &Report{
		TypeMeta: metav1.TypeMeta{APIVersion: cli.ReportAPIVersion, Kind: "Version"},
		Client:   buildversion.Get(),
	}
}

func (o *Options) readCluster(ctx context.Context, r *Report) error {
	// Discovery first: it is the cheapest call and fails cleanly when no
	// server answers.
	sv, err := o.Clients.Kube.Discovery().ServerVersion()
	if err != nil {
		return fmt.Errorf("reading the Kubernetes version from %s: %w", o.Clients.Server, err)
	}
	r.Kubernetes = sv.GitVersion

	pods, err := agent.Pods(ctx, o.Clients.Client)
	if err != nil {
		return err
	}
	a := &Agent{Installed: len(pods) > 0}
	if len(pods) == 0 {
		// No replica may still mean installed, scaled to zero or failing.
		d, err := agent.Deployment(ctx, o.Clients.Client)
		if err != nil {
			return err
		}
		a.Installed = d != nil
	}
	seen := map[string]bool{}
	for i := range pods {
		v := agent.Version(&pods[i])
		a.Replicas = append(a.Replicas, Replica{Pod: pods[i].Name, Version: v})
		if v != "" && !seen[v] {
			seen[v] = true
			a.Versions = append(a.Versions, v)
		}
	}
	sort.Strings(a.Versions)
	r.Agent = a
	return nil
}

func (o *Options) print(r *Report) error {
	if o.printer != nil {
		return o.printer.PrintObj(r, o.Out)
	}
	fmt.Fprintf(o.Out, "Client: %s\n", r.Client)
	if r.Kubernetes != "" {
		fmt.Fprintf(o.Out, "Kubernetes: %s\n", r.Kubernetes)
	}
	if r.Agent != nil {
		fmt.Fprintf(o.Out, "Agent: %s\n", agentLine(r.Agent))
	}
	return nil
}

// agentLine summarises the replicas: "v0.1.0 (2 replicas)".
func agentLine(a *Agent) string {
	if !a.Installed {
		return "not installed in this cluster (run kubectl argo install)"
	}
	if len(a.Replicas) == 0 {
		return "installed, but no replica is running (see kubectl argo status)"
	}
	count := map[string]int{}
	for _, r := range a.Replicas {
		count[r.Version]++
	}
	var parts []string
	for _, v := range a.Versions {
		parts = append(parts, fmt.Sprintf("%s (%s)", v, replicas(count[v])))
	}
	if n := count[""]; n > 0 {
		parts = append(parts, fmt.Sprintf("unknown (%s not reported yet)", replicas(n)))
	}
	return strings.Join(parts, ", ")
}

func replicas(n int) string {
	if n == 1 {
		return "1 replica"
	}
	return fmt.Sprintf("%d replicas", n)
}

// skew warns when an agent replica runs another version than the plugin.
func (o *Options) skew(r *Report) string {
	if r.Agent == nil {
		return ""
	}
	for _, v := range r.Agent.Versions {
		if v != r.Client.Version {
			return fmt.Sprintf("Warning: the agent runs %s but this plugin is %s: %s",
				strings.Join(r.Agent.Versions, ", "), r.Client.Version, agent.SkewFix(v))
		}
	}
	return ""
}
