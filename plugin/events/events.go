// Package events is `kubectl argo events`: the EventSources and Sensors
// the agent runs, listed and shown as a tree (sources with their
// endpoints, the Sensors that depend on them, their triggers and counts),
// and a webhook event sent through the API server for trying a Sensor.
package events

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/argolite/argolite/plugin/cli"
	"github.com/argolite/argolite/shared/agentmeta"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// forbidden is the resource named when RBAC refuses a read.
const forbidden = "eventsources"

// NewCmd returns `events` with its subcommands.
func NewCmd(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	return newCmd(flags, streams, nil)
}

func newCmd(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams, setup func(*cli.Common)) *cobra.Command {
	common := cli.Each(func() cli.Common { return cli.NewCommon(flags, streams) }, setup)
	cmd := &cobra.Command{
		Use:     "events",
		Aliases: []string{"event", "ev"},
		Short:   "Events: EventSources and Sensors",
		Long: `Show the EventSources and Sensors the agent runs (Argo Events' kinds, with no
bus and no Deployment per object), and send a webhook event to try a Sensor.`,
		Example: `  kubectl argo events list
  kubectl argo events get webhook
  kubectl argo events send webhook example -d '{"message": "hello"}'`,
	}
	cmd.AddCommand(
		newListCmd(&listOptions{Common: common(), PrintFlags: genericclioptions.NewPrintFlags("")}),
		newGetCmd(&getOptions{Common: common()}),
		newSendCmd(&sendOptions{Common: common()}),
	)
	return cmd
}

type listOptions struct {
	cli.Common
	PrintFlags    *genericclioptions.PrintFlags
	AllNamespaces bool
}

func newListCmd(o *listOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List EventSources and Sensors: ready, events taken or triggers fired, age",
		Args:    cobra.NoArgs,
		RunE:    cli.RunE(o),
	}
	cmd.Flags().BoolVarP(&o.AllNamespaces, "all-namespaces", "A", false, "List the objects of every namespace.")
	cli.AddPrintFlags(cmd, o.PrintFlags)
	return cmd
}

func (o *listOptions) Complete(*cobra.Command, []string) error { return o.Common.Complete() }
func (o *listOptions) Validate() error                         { return cli.ValidateOutput(o.PrintFlags) }

func (o *listOptions) Run(ctx context.Context) error {
	sources, sensors := &argov1.EventSourceList{}, &argov1.SensorList{}
	if err := o.Clients.Client.List(ctx, sources, o.ListScope(o.AllNamespaces)...); err != nil {
		return o.Explain(fmt.Errorf("listing eventsources: %w", err), forbidden)
	}
	if err := o.Clients.Client.List(ctx, sensors, o.ListScope(o.AllNamespaces)...); err != nil {
		return o.Explain(fmt.Errorf("listing sensors: %w", err), "sensors")
	}
	p, err := cli.Printer(o.PrintFlags)
	if err != nil {
		return err
	}
	if p != nil {
		if err := cli.PrintList(p, o.PrintFlags, sources, "EventSource", o.Out); err != nil {
			return err
		}
		return cli.PrintList(p, o.PrintFlags, sensors, "Sensor", o.Out)
	}
	if len(sources.Items)+len(sensors.Items) == 0 {
		o.NoneFound("eventsources or sensors", o.AllNamespaces)
		return nil
	}
	w := printers.GetNewTabWriter(o.Out)
	defer w.Flush()
	header := "KIND\tNAME\tREADY\tEVENTS\tTRIGGERS\tFIRED\tAGE\tMESSAGE"
	if o.AllNamespaces {
		header = "NAMESPACE\t" + header
	}
	fmt.Fprintln(w, header)
	row := func(ns, kind, name, ready, events, triggers, fired string, created metav1.Time, msg string) {
		r := strings.Join([]string{kind, name, ready, events, triggers, fired, cli.Age(o.Now(), created), msg}, "\t")
		if o.AllNamespaces {
			r = ns + "\t" + r
		}
		fmt.Fprintln(w, r)
	}
	for _, es := range sources.Items {
		var n int64
		for _, e := range es.Status.Endpoints {
			n += e.Events
		}
		ready, msg := readiness(es.Status.Conditions)
		row(es.Namespace, "EventSource", es.Name, ready, fmt.Sprintf("%d (%d taken)", len(es.Spec.Webhook), n), "-", "-", es.CreationTimestamp, msg)
	}
	for _, s := range sensors.Items {
		var n int64
		for _, t := range s.Status.Triggers {
			n += t.Fired
		}
		ready, msg := readiness(s.Status.Conditions)
		row(s.Namespace, "Sensor", s.Name, ready, "-", strconv.Itoa(len(s.Spec.Triggers)), strconv.FormatInt(n, 10), s.CreationTimestamp, msg)
	}
	return nil
}

// readiness is the Ready condition's status and, unless True, its message.
func readiness(conds []metav1.Condition) (string, string) {
	c := meta.FindStatusCondition(conds, argov1.ConditionReady)
	if c == nil {
		return "Unknown", "-"
	}
	if c.Status == metav1.ConditionTrue {
		return "True", "-"
	}
	return string(c.Status), c.Message
}

type getOptions struct {
	cli.Common
	Name string
}

func newGetCmd(o *getOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "get NAME",
		Short: "Show an EventSource (its endpoints and the Sensors waiting on them) or a Sensor (its dependencies and triggers) as a tree",
		Args:  cobra.ExactArgs(1),
		RunE:  cli.RunE(o),
	}
}

func (o *getOptions) Complete(_ *cobra.Command, args []string) error {
	o.Name = args[0]
	return o.Common.Complete()
}
func (o *getOptions) Validate() error { return nil }

func (o *getOptions) Run(ctx context.Context) error {
	es := &argov1.EventSource{}
	esErr := o.Clients.Client.Get(ctx, client.ObjectKey{Namespace: o.Namespace, Name: o.Name}, es)
	sensors := &argov1.SensorList{}
	if err := o.Clients.Client.List(ctx, sensors, client.InNamespace(o.Namespace)); err != nil {
		return o.Explain(fmt.Errorf("listing sensors: %w", err), "sensors")
	}
	named := slices.IndexFunc(sensors.Items, func(s argov1.Sensor) bool { return s.Name == o.Name })
	if esErr != nil && named < 0 {
		if client.IgnoreNotFound(esErr) != nil {
			return o.Explain(fmt.Errorf("reading eventsource %s: %w", o.Ref(o.Name), esErr), forbidden)
		}
		return o.NotFound("eventsource or sensor", o.Name, "list them with kubectl argo events list (-A for every namespace), or pick the namespace with -n", esErr)
	}
	tw := printers.GetNewTabWriter(o.Out)
	defer tw.Flush()
	fmt.Fprintln(tw, "NAME\tKIND\tSTATUS\tINFO")
	if esErr == nil {
		ready, msg := readiness(es.Status.Conditions)
		root := &cli.TreeNode{Cells: []string{"⚡ " + es.Name, "EventSource", ready, msg}}
		for _, e := range es.Status.Endpoints {
			info := fmt.Sprintf("%s %s, %d taken", e.Method, e.Path, e.Events)
			if e.LastEventTime != nil {
				info += ", last " + cli.Age(o.Now(), *e.LastEventTime) + " ago"
			}
			n := &cli.TreeNode{Cells: []string{"◇ " + e.EventName, "event", "", info}}
			for i := range sensors.Items {
				s := &sensors.Items[i]
				for _, d := range s.Spec.Dependencies {
					if d.EventSourceName == es.Name && d.EventName == e.EventName {
						r, _ := readiness(s.Status.Conditions)
						n.Children = append(n.Children, &cli.TreeNode{Cells: []string{"◉ " + s.Name, "Sensor", r, "dependency " + d.Name}})
					}
				}
			}
			root.Children = append(root.Children, n)
		}
		cli.WriteTree(tw, root)
	}
	if named >= 0 {
		s := &sensors.Items[named]
		ready, msg := readiness(s.Status.Conditions)
		root := &cli.TreeNode{Cells: []string{"◉ " + s.Name, "Sensor", ready, msg}}
		for _, d := range s.Spec.Dependencies {
			root.Children = append(root.Children, &cli.TreeNode{Cells: []string{"◇ " + d.Name, "dependency", "", d.EventSourceName + "/" + d.EventName}})
		}
		counts := map[string]argov1.TriggerStatus{}
		for _, t := range s.Status.Triggers {
			counts[t.Name] = t
		}
		for _, t := range s.Spec.Triggers {
			if t.Template == nil {
				continue
			}
			st := counts[t.Template.Name]
			info := fmt.Sprintf("fired %d, failed %d", st.Fired, st.Failed)
			if t.Template.Conditions != "" {
				info = "when " + t.Template.Conditions + "; " + info
			}
			if st.LastError != "" {
				info += "; last error: " + st.LastError
			}
			root.Children = append(root.Children, &cli.TreeNode{Cells: []string{"▶ " + t.Template.Name, "trigger " + triggerKind(t.Template), "", info}})
		}
		cli.WriteTree(tw, root)
	}
	return nil
}

func triggerKind(t *argov1.TriggerTemplate) string {
	switch {
	case t.K8s != nil:
		return "k8s"
	case t.Log != nil:
		return "log"
	}
	return ""
}

type sendOptions struct {
	cli.Common
	Source, Event string
	Data          string
}

func newSendCmd(o *sendOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "send EVENTSOURCE EVENT [-d JSON|@FILE]",
		Short: "Send a webhook event through the API server (the agent's webhook Service proxy), to try a Sensor",
		Long: `POST a payload to a webhook event of an EventSource through the API server's
service proxy, as a sender would post it to the agent's webhook Service, and
print the agent's answer: the event's ID and how many triggers it fired, or
why it was refused. An event with an authSecret cannot be sent this way: the
API server keeps the Authorization header for itself; post it to the
webhook Service directly.`,
		Example: `  kubectl argo events send webhook example -d '{"message": "hello"}'
  kubectl argo events send webhook example -d @payload.json`,
		Args: cobra.ExactArgs(2),
		RunE: cli.RunE(o),
	}
	cmd.Flags().StringVarP(&o.Data, "data", "d", "{}", "The payload: JSON, or @FILE to read it from a file (@- for stdin).")
	return cmd
}

func (o *sendOptions) Complete(_ *cobra.Command, args []string) error {
	o.Source, o.Event = args[0], args[1]
	return o.Common.Complete()
}
func (o *sendOptions) Validate() error { return nil }

func (o *sendOptions) Run(ctx context.Context) error {
	es := &argov1.EventSource{}
	if err := o.Clients.Client.Get(ctx, client.ObjectKey{Namespace: o.Namespace, Name: o.Source}, es); err != nil {
		if client.IgnoreNotFound(err) == nil {
			return o.NotFound("eventsource", o.Source, "list them with kubectl argo events list, or pick the namespace with -n", err)
		}
		return o.Explain(fmt.Errorf("reading eventsource %s: %w", o.Ref(o.Source), err), forbidden)
	}
	src, ok := es.Spec.Webhook[o.Event]
	if !ok {
		names := make([]string, 0, len(es.Spec.Webhook))
		for n := range es.Spec.Webhook {
			names = append(names, n)
		}
		slices.Sort(names)
		return &cli.Error{Problem: fmt.Sprintf("eventsource %s has no webhook event %q", o.Ref(o.Source), o.Event), Fix: "pick one of: " + strings.Join(names, ", ")}
	}
	if src.AuthSecret != nil {
		return &cli.Error{Problem: fmt.Sprintf("event %s of eventsource %s takes a bearer token, which the API server's proxy does not pass on", o.Event, o.Ref(o.Source)),
			Fix: fmt.Sprintf("post it to the webhook Service: curl -H 'Authorization: Bearer TOKEN' -d @payload.json http://%s.%s/events/%s/%s/%s", agentmeta.Name, agentmeta.Namespace, o.Namespace, o.Source, o.Event)}
	}
	payload := []byte(o.Data)
	if name, ok := strings.CutPrefix(o.Data, "@"); ok {
		var err error
		if name == "-" {
			srcs, rerr := cli.ReadSources([]string{"-"}, o.In)
			if rerr != nil {
				return &cli.Error{Problem: rerr.Error(), Fix: "pipe the payload in"}
			}
			payload = srcs[0].Data
		} else if payload, err = os.ReadFile(name); err != nil {
			return &cli.Error{Problem: err.Error(), Fix: "check the path after @"}
		}
	}
	method := src.Method
	if method == "" {
		method = "POST"
	}
	path := fmt.Sprintf("/api/v1/namespaces/%s/services/%s:http-webhook/proxy/events/%s/%s/%s", agentmeta.Namespace, agentmeta.Name, o.Namespace, o.Source, o.Event)
	res := o.Clients.Kube.CoreV1().RESTClient().Verb(method).AbsPath(path).SetHeader("Content-Type", "application/json").Body(payload).Do(ctx)
	body, err := res.Raw()
	var code int
	res.StatusCode(&code)
	if err != nil && len(body) == 0 {
		return o.Explain(fmt.Errorf("sending the event to %s: %w", path, err), "services/proxy")
	}
	fmt.Fprintf(o.Out, "HTTP %d %s\n", code, strings.TrimSpace(string(body)))
	if code < 200 || code > 299 {
		return &cli.Error{Problem: fmt.Sprintf("the agent refused the event (HTTP %d)", code), Fix: "see its answer above, and kubectl argo events get " + o.Source}
	}
	return nil
}
