package wf

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/argolite/argolite/plugin/cli"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
	"github.com/argolite/argolite/shared/wfnames"
)

// LogSource streams the log of one container of a Pod. The real one asks
// the API server; tests give canned streams.
type LogSource interface {
	Stream(ctx context.Context, namespace, pod string, opts *corev1.PodLogOptions) (io.ReadCloser, error)
}

// kubeLogs reads logs through the API server.
type kubeLogs struct{ kube kubernetes.Interface }

func (k kubeLogs) Stream(ctx context.Context, namespace, pod string, opts *corev1.PodLogOptions) (io.ReadCloser, error) {
	return k.kube.CoreV1().Pods(namespace).GetLogs(pod, opts).Stream(ctx)
}

func (c *Common) logSource() LogSource {
	if c.Logs != nil {
		return c.Logs
	}
	return kubeLogs{kube: c.Clients.Kube}
}

// LogsOptions are the flags and state of `kubectl argo wf logs`.
type LogsOptions struct {
	Common

	Name       string
	Step       string
	Follow     bool
	Container  string
	SinceTime  string
	Since      time.Duration
	Tail       int64
	Timestamps bool

	sinceTime *metav1.Time
}

// NewLogsOptions returns options with default flags.
func NewLogsOptions(c Common) *LogsOptions {
	return &LogsOptions{Common: c, Container: wfnames.MainContainer, Tail: -1}
}

func newLogsCmd(o *LogsOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "logs NAME [STEP]",
		Short: "Print the logs of a workflow's steps, each line prefixed by its step",
		Long: `Print the logs of the step Pods of a workflow (their main container, or
--container), each line prefixed by the step's name (coloured per step on a
terminal).

STEP limits the logs to one step: its name as wf get shows it (the steps of a
loop or the attempts of a retry with it), its full node name, or its Pod's
name.

With -f the command follows the logs, and the Pods of steps that start later,
until the workflow ends. Without it, it prints the logs so far, step by step in
the order they started. Logs of Pods that were deleted (podGC) are gone.`,
		Example: `  kubectl argo wf logs hello-world-x7k2p

  # Follow every step until the workflow ends
  kubectl argo wf logs build-x7k2p -f

  # One step, its last 20 lines
  kubectl argo wf logs build-x7k2p test --tail 20`,
		Args:              cobra.RangeArgs(1, 2),
		RunE:              cli.RunE(o),
		ValidArgsFunction: o.complete,
	}
	f := cmd.Flags()
	f.BoolVarP(&o.Follow, "follow", "f", false, "Follow the logs, and new steps, until the workflow ends.")
	f.StringVarP(&o.Container, "container", "c", o.Container, "Container of the step Pods to print.")
	f.StringVar(&o.SinceTime, "since-time", "", "Only lines after this time (RFC3339, such as 2026-03-01T12:00:00Z).")
	f.DurationVar(&o.Since, "since", 0, "Only lines newer than this duration, such as 5m.")
	f.Int64Var(&o.Tail, "tail", o.Tail, "Only the last N lines of each step (-1: all).")
	f.BoolVar(&o.Timestamps, "timestamps", false, "Prefix each line with its time.")
	return cmd
}

// complete completes the workflow name, then its steps.
func (o *LogsOptions) complete(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) == 0 {
		return completeNames(&o.Common, false, nil)(cmd, args, toComplete)
	}
	if len(args) > 1 || o.Common.Complete() != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	wf, err := o.getWorkflow(ctx, args[0])
	if err != nil {
		return nil, cobra.ShellCompDirectiveError | cobra.ShellCompDirectiveNoFileComp
	}
	var steps []cobra.Completion
	for _, n := range wf.Status.Nodes {
		if n.Type == argov1.NodeTypePod && strings.HasPrefix(n.DisplayName, toComplete) && !slices.Contains(steps, n.DisplayName) {
			steps = append(steps, n.DisplayName)
		}
	}
	slices.Sort(steps)
	return steps, cobra.ShellCompDirectiveNoFileComp
}

// Complete takes the name and the step, and builds the clients.
func (o *LogsOptions) Complete(_ *cobra.Command, args []string) error {
	o.Name = args[0]
	if len(args) == 2 {
		o.Step = args[1]
	}
	return o.Common.Complete()
}

// Validate checks the flags.
func (o *LogsOptions) Validate() error {
	if o.SinceTime != "" {
		if o.Since != 0 {
			return errors.New("--since and --since-time cannot be combined")
		}
		t, err := time.Parse(time.RFC3339, o.SinceTime)
		if err != nil {
			return fmt.Errorf("--since-time %q: use RFC3339, such as 2026-03-01T12:00:00Z", o.SinceTime)
		}
		o.sinceTime = &metav1.Time{Time: t}
	}
	if o.Since < 0 {
		return fmt.Errorf("--since %s: must be positive", o.Since)
	}
	if o.Container == "" {
		return errors.New("--container is empty: name a container of the step Pods, such as main")
	}
	return nil
}

// Run prints (or follows) the logs.
func (o *LogsOptions) Run(ctx context.Context) error {
	opts := logOptions{step: o.Step, follow: o.Follow, container: o.Container, sinceTime: o.sinceTime,
		timestamps: o.Timestamps}
	if o.Since > 0 {
		secs := int64(o.Since / time.Second)
		opts.sinceSeconds = &secs
	}
	if o.Tail >= 0 {
		opts.tail = &o.Tail
	}
	_, err := o.streamLogs(ctx, o.Name, opts, o.Out)
	return err
}

// logOptions say which logs streamLogs prints.
type logOptions struct {
	step         string
	follow       bool
	container    string
	sinceTime    *metav1.Time
	sinceSeconds *int64
	tail         *int64
	timestamps   bool
}

// stepPod is a step Pod with the node it runs.
type stepPod struct {
	pod  *corev1.Pod
	node *argov1.NodeStatus
	// label prefixes its lines.
	label string
}

// lineWriter writes whole lines from several streams, each with its prefix.
type lineWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lineWriter) line(prefix, text string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, "%s: %s\n", prefix, text)
}

// streamLogs prints the logs of the workflow's step Pods. Following, it
// starts on each Pod as it appears and returns once the workflow has ended
// and every stream has; it returns the workflow as last read.
func (c *Common) streamLogs(ctx context.Context, name string, opts logOptions, out io.Writer) (*argov1.Workflow, error) {
	if opts.container == "" {
		opts.container = wfnames.MainContainer
	}
	pal := newPalette(out)
	w := &lineWriter{w: out}
	colours := map[string]int{}
	prefix := func(sp *stepPod) string {
		i, ok := colours[sp.pod.Name]
		if !ok {
			i = len(colours)
			colours[sp.pod.Name] = i
		}
		return pal.Cycle(i, sp.label)
	}
	if !opts.follow {
		wf, err := c.getWorkflow(ctx, name)
		if err != nil {
			return nil, err
		}
		pods, err := c.matchingPods(ctx, wf, opts.step)
		if err != nil {
			return wf, err
		}
		if len(pods) == 0 {
			fmt.Fprintln(c.ErrOut, c.noPods(wf, opts.step))
			return wf, nil
		}
		for _, sp := range pods {
			if err := c.copyLog(ctx, sp, opts, w, prefix(sp)); err != nil {
				fmt.Fprintf(c.ErrOut, "%s: %v\n", sp.label, err)
			}
		}
		return wf, nil
	}

	var wg sync.WaitGroup
	started := map[string]bool{}
	var mu sync.Mutex
	retry := map[string]bool{} // streams that could not start yet
	for {
		wf, err := c.getWorkflow(ctx, name)
		if err != nil {
			wg.Wait()
			return nil, err
		}
		pods, err := c.matchingPods(ctx, wf, opts.step)
		if err != nil {
			wg.Wait()
			return wf, err
		}
		for _, sp := range pods {
			mu.Lock()
			skip := started[sp.pod.Name] && !retry[sp.pod.Name]
			mu.Unlock()
			if skip || !containerStarted(sp.pod, opts.container) {
				continue
			}
			mu.Lock()
			started[sp.pod.Name], retry[sp.pod.Name] = true, false
			mu.Unlock()
			wg.Add(1)
			go func(sp *stepPod, p string) {
				defer wg.Done()
				if err := c.copyLog(ctx, sp, opts, w, p); err != nil {
					if ctx.Err() != nil {
						return
					}
					done := sp.pod.Status.Phase == corev1.PodSucceeded || sp.pod.Status.Phase == corev1.PodFailed
					if apierrors.IsBadRequest(err) && !done {
						// The container is not running yet: try again.
						mu.Lock()
						retry[sp.pod.Name] = true
						mu.Unlock()
						return
					}
					w.line(p, "error reading the log: "+err.Error())
				}
			}(sp, prefix(sp))
		}
		if wf.Status.Phase.Completed() {
			wg.Wait()
			mu.Lock()
			pending := false
			for _, r := range retry {
				pending = pending || r
			}
			mu.Unlock()
			if !pending {
				if len(started) == 0 {
					fmt.Fprintln(c.ErrOut, c.noPods(wf, opts.step))
				}
				return wf, nil
			}
		}
		if len(pods) == 0 && opts.step != "" && len(wf.Status.Nodes) > 0 && !stepKnown(wf, opts.step) {
			wg.Wait()
			return wf, c.unknownStep(wf, opts.step)
		}
		select {
		case <-ctx.Done():
			wg.Wait()
			return wf, ctx.Err()
		case <-time.After(c.Interval):
		}
	}
}

// containerStarted reports whether a log of the container can be read.
func containerStarted(pod *corev1.Pod, container string) bool {
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return true
	}
	for _, st := range append(append([]corev1.ContainerStatus{}, pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...) {
		if st.Name == container {
			return st.State.Running != nil || st.State.Terminated != nil || st.LastTerminationState.Terminated != nil
		}
	}
	return false
}

// copyLog copies one Pod's log to w, a prefix before each line.
func (c *Common) copyLog(ctx context.Context, sp *stepPod, opts logOptions, w *lineWriter, prefix string) error {
	rc, err := c.logSource().Stream(ctx, sp.pod.Namespace, sp.pod.Name, &corev1.PodLogOptions{
		Container: opts.container, Follow: opts.follow, SinceTime: opts.sinceTime, SinceSeconds: opts.sinceSeconds,
		TailLines: opts.tail, Timestamps: opts.timestamps,
	})
	if err != nil {
		return err
	}
	defer rc.Close()
	r := bufio.NewReader(rc)
	for {
		line, err := r.ReadString('\n')
		if len(line) > 0 {
			w.line(prefix, strings.TrimRight(line, "\r\n"))
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
	}
}

// matchingPods lists the workflow's step Pods that match step ("" for all),
// in the order their steps started.
func (c *Common) matchingPods(ctx context.Context, wf *argov1.Workflow, step string) ([]*stepPod, error) {
	pods, err := c.stepPods(ctx, wf)
	if err != nil {
		return nil, c.explain(fmt.Errorf("listing the Pods of workflow %s/%s: %w", wf.Namespace, wf.Name, err))
	}
	var out []*stepPod
	for i := range pods {
		p := &pods[i]
		sp := &stepPod{pod: p, label: p.Name}
		if n, ok := wf.Status.Nodes[p.Annotations[wfnames.AnnotationNodeID]]; ok {
			sp.node, sp.label = &n, n.DisplayName
		} else if nodeName := p.Annotations[wfnames.AnnotationNodeName]; nodeName != "" {
			sp.label = wfnames.DisplayName(wf.Name, nodeName)
		}
		if step != "" && !matchesStep(sp, step) {
			continue
		}
		out = append(out, sp)
	}
	slices.SortFunc(out, func(a, b *stepPod) int {
		return cmp.Or(startOf(a).Compare(startOf(b)), cmp.Compare(nodeNameOf(a), nodeNameOf(b)), cmp.Compare(a.pod.Name, b.pod.Name))
	})
	return out, nil
}

func nodeNameOf(sp *stepPod) string {
	if sp.node != nil {
		return sp.node.Name
	}
	return sp.pod.Annotations[wfnames.AnnotationNodeName]
}

func startOf(sp *stepPod) time.Time {
	if sp.node != nil && !sp.node.StartedAt.IsZero() {
		return sp.node.StartedAt.Time
	}
	return sp.pod.CreationTimestamp.Time
}

// matchesStep reports whether a Pod is the step's: by the node's display
// name (with the loop items or retry attempts of that name), full name, or
// the Pod's name.
func matchesStep(sp *stepPod, step string) bool {
	if sp.pod.Name == step || sp.label == step || strings.HasPrefix(sp.label, step+"(") {
		return true
	}
	return sp.node != nil && (sp.node.Name == step || sp.node.DisplayName == step)
}

func stepKnown(wf *argov1.Workflow, step string) bool {
	for _, n := range wf.Status.Nodes {
		if n.DisplayName == step || n.Name == step || strings.HasPrefix(n.DisplayName, step+"(") {
			return true
		}
	}
	return false
}

func (c *Common) unknownStep(wf *argov1.Workflow, step string) error {
	var steps []string
	for _, n := range wf.Status.Nodes {
		if n.Type == argov1.NodeTypePod && !slices.Contains(steps, n.DisplayName) {
			steps = append(steps, n.DisplayName)
		}
	}
	slices.Sort(steps)
	return &cli.Error{Problem: fmt.Sprintf("workflow %s/%s has no step %q", wf.Namespace, wf.Name, step),
		Fix: "use a step name as kubectl argo wf get " + wf.Name + " shows it (" + strings.Join(steps, ", ") + ")"}
}

// noPods says why there are no logs to print.
func (c *Common) noPods(wf *argov1.Workflow, step string) string {
	if step != "" && !stepKnown(wf, step) {
		return c.unknownStep(wf, step).Error()
	}
	what := "workflow " + wf.Namespace + "/" + wf.Name
	if step != "" {
		what = "step " + step + " of " + what
	}
	switch {
	case !wf.Status.Phase.Completed():
		return "No step Pods yet for " + what + ": follow them with -f"
	case hasPodNodes(wf):
		return "No step Pods left for " + what + ": they were deleted (podGC), and their logs with them"
	}
	return "No step Pods for " + what + ": it ran none"
}

func hasPodNodes(wf *argov1.Workflow) bool {
	for _, n := range wf.Status.Nodes {
		if n.Type == argov1.NodeTypePod {
			return true
		}
	}
	return false
}
