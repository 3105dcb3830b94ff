package cli

import (
	"fmt"
	"time"

	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// PollInterval is how often waits and watches read the cluster.
const PollInterval = 500 * time.Millisecond

// Common is what the commands of every noun whose objects live in a
// namespace share: the kubeconfig flags, the streams, the clients, the
// namespace, the clock and the poll interval. Options structs embed it.
type Common struct {
	ConfigFlags *genericclioptions.ConfigFlags
	genericiooptions.IOStreams

	// Clients are built from ConfigFlags in Complete unless set (tests set fakes).
	Clients *Clients
	// Namespace is -n, or the namespace of the kubeconfig's context.
	Namespace string
	// ExplicitNamespace is true when -n set Namespace.
	ExplicitNamespace bool

	// Now is the clock and Interval how often waits read the cluster; tests
	// set both.
	Now      func() time.Time
	Interval time.Duration
}

// NewCommon returns the Common of a command.
func NewCommon(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) Common {
	return Common{ConfigFlags: flags, IOStreams: streams, Now: time.Now, Interval: PollInterval}
}

// Each makes the Common of each subcommand of a noun: a fresh one from
// build, adjusted by setup when set (tests put fakes there). C is the
// noun's Common: cli.Common, or a struct that embeds it.
func Each[C any](build func() C, setup func(*C)) func() C {
	return func() C {
		c := build()
		if setup != nil {
			setup(&c)
		}
		return c
	}
}

// Complete builds the clients and resolves the namespace. The clients come
// first: a kubeconfig that cannot be read is explained there.
func (c *Common) Complete() error {
	if err := EnsureClients(&c.Clients, c.ConfigFlags, c.IOStreams); err != nil {
		return err
	}
	return c.CompleteLocal()
}

// CompleteLocal does what needs no cluster: the defaults and the namespace.
func (c *Common) CompleteLocal() error {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Interval <= 0 {
		c.Interval = PollInterval
	}
	if c.Namespace == "" {
		ns, explicit, err := c.ConfigFlags.ToRawKubeConfigLoader().Namespace()
		if err != nil {
			return &Error{Problem: "cannot read the namespace from the kubeconfig: " + err.Error(),
				Fix: "pass -n NAMESPACE", Err: err}
		}
		c.Namespace, c.ExplicitNamespace = ns, explicit
	}
	return nil
}

// Explain turns err into a readable error: no cluster, no rights, no CRD.
// resource is the plural resource the command needs ("workflows").
func (c *Common) Explain(err error, resource string) error {
	return c.Clients.Explain(err, fmt.Sprintf("ask a cluster administrator for access to %s.%s in namespace %s, or use another --context or -n",
		resource, argov1.GroupVersion.Group, c.Namespace))
}

// ListScope is the namespace of a List: c's, or every one with -A.
func (c *Common) ListScope(allNamespaces bool) []client.ListOption {
	if allNamespaces {
		return nil
	}
	return []client.ListOption{client.InNamespace(c.Namespace)}
}

// NotFound is the error of an object of the namespace that does not exist:
// what is its kind in words ("workflow"), fix how to find the right one.
func (c *Common) NotFound(what, name, fix string, err error) error {
	return &Error{Problem: fmt.Sprintf("%s %q not found in namespace %s", what, name, c.Namespace), Fix: fix, Err: err}
}

// NoneFound tells that a list found no objects (what: "workflows") in the
// namespace, or in any with -A. It goes to stderr, which keeps stdout a
// table or nothing.
func (c *Common) NoneFound(what string, allNamespaces bool) {
	if allNamespaces {
		fmt.Fprintf(c.ErrOut, "No %s found.\n", what)
		return
	}
	fmt.Fprintf(c.ErrOut, "No %s found in namespace %s.\n", what, c.Namespace)
}

// Ref names an object of the namespace in messages: namespace/name.
func (c *Common) Ref(name string) string { return c.Namespace + "/" + name }

// NSFlag is " -n NAMESPACE" when a follow-up command needs it to find an
// object of namespace.
func (c *Common) NSFlag(namespace string) string {
	if c.ExplicitNamespace || namespace != c.Namespace {
		return " -n " + namespace
	}
	return ""
}
