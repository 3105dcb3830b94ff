package analysis

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// Labels and annotations of metric Jobs, after Argo's analysisrun.argoproj.io/*.
const (
	// LabelRunUID is on every metric Job and its Pods: the run's UID. The
	// agent caches only Jobs with it.
	LabelRunUID          = "analysisrun.argolite.dev/uid"
	annotationRunName    = "analysisrun.argolite.dev/name"
	annotationMetricName = "analysisrun.argolite.dev/metric-name"
	// Measurement metadata keys that name the Job, as Argo's.
	jobNameKey      = "job-name"
	jobNamespaceKey = "job-namespace"
)

// jobProvider is the job provider: a measurement is a Job owned by the
// run, Complete is Successful and Failed is Failed.
type jobProvider struct {
	client client.Client
	reader client.Reader
}

// jobName is Argo's: the run's UID, the metric and the measurement's
// number, so a second create for the same measurement (after a restart)
// meets the Job the first made.
func jobName(run *argov1.AnalysisRun, metric string) string {
	n := int32(1)
	if r := result(run, metric); r != nil {
		n = r.Count + r.Error + 1
	}
	name := fmt.Sprintf("%s.%s.%d", run.UID, metric, n)
	if over := len(name) - 63; over > 0 && over < len(metric) {
		name = fmt.Sprintf("%s.%s.%d", run.UID, metric[:len(metric)-over], n)
	}
	return name
}

func (p jobProvider) Run(ctx context.Context, run *argov1.AnalysisRun, m argov1.Metric, now time.Time) argov1.Measurement {
	ms := started(now)
	ms.Phase = argov1.AnalysisPhaseRunning
	labels := map[string]string{}
	for k, v := range m.Provider.Job.Metadata.Labels {
		labels[k] = v
	}
	labels[LabelRunUID] = string(run.UID)
	annotations := map[string]string{}
	for k, v := range m.Provider.Job.Metadata.Annotations {
		annotations[k] = v
	}
	annotations[annotationRunName] = run.Name
	annotations[annotationMetricName] = m.Name
	spec := *m.Provider.Job.Spec.DeepCopy()
	podLabels := map[string]string{}
	for k, v := range spec.Template.Labels {
		podLabels[k] = v
	}
	podLabels[LabelRunUID] = string(run.UID)
	spec.Template.Labels = podLabels
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{
			Name: jobName(run, m.Name), Namespace: run.Namespace, Labels: labels, Annotations: annotations,
			OwnerReferences: []metav1.OwnerReference{{APIVersion: argov1.GroupVersion.String(), Kind: "AnalysisRun", Name: run.Name, UID: run.UID,
				Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}},
		},
		Spec: spec,
	}
	err := p.client.Create(ctx, job)
	if apierrors.IsAlreadyExists(err) {
		existing := &batchv1.Job{}
		if gerr := p.reader.Get(ctx, client.ObjectKeyFromObject(job), existing); gerr != nil {
			return markError(ms, fmt.Errorf("creating Job %s: %w", job.Name, err), now)
		}
		if ref := metav1.GetControllerOf(existing); ref == nil || ref.UID != run.UID {
			return markError(ms, fmt.Errorf("creating Job %s: %w (owned by another object)", job.Name, err), now)
		}
		err = nil // made by this measurement before a restart
	}
	if err != nil {
		return markError(ms, fmt.Errorf("creating Job %s: %w", job.Name, err), now)
	}
	ms.Metadata = map[string]string{jobNameKey: job.Name, jobNamespaceKey: job.Namespace}
	t := metav1.NewTime(now)
	ms.ResumeAt = &t
	return ms
}

func jobKey(ms argov1.Measurement, ns string) (client.ObjectKey, error) {
	if ms.Metadata[jobNameKey] == "" {
		return client.ObjectKey{}, errors.New("job metadata reference missing")
	}
	if v := ms.Metadata[jobNamespaceKey]; v != "" {
		ns = v
	}
	return client.ObjectKey{Namespace: ns, Name: ms.Metadata[jobNameKey]}, nil
}

// terminalWaiting are the container waiting reasons that never clear.
var terminalWaiting = map[string]bool{"ErrImagePull": true, "ImagePullBackOff": true, "InvalidImageName": true}

func (p jobProvider) Resume(ctx context.Context, run *argov1.AnalysisRun, _ argov1.Metric, ms argov1.Measurement, now time.Time) argov1.Measurement {
	key, err := jobKey(ms, run.Namespace)
	if err != nil {
		return markError(ms, err, now)
	}
	job := &batchv1.Job{}
	if err := p.client.Get(ctx, key, job); err != nil {
		return markError(ms, fmt.Errorf("reading Job %s: %w", key, err), now)
	}
	for _, c := range job.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case batchv1.JobComplete:
			return finish(ms, "", argov1.AnalysisPhaseSuccessful, now)
		case batchv1.JobFailed:
			ms = finish(ms, "", argov1.AnalysisPhaseFailed, now)
			ms.Message = c.Message
			return ms
		}
	}
	if ms.ResumeAt != nil && ms.ResumeAt.After(now) {
		return ms // not done; the Pods are looked at when resumeAt comes
	}
	// Pods of metric Jobs are not cached: they are listed from the API
	// server only while a Job runs.
	pods := &corev1.PodList{}
	if err := p.reader.List(ctx, pods, client.InNamespace(key.Namespace), client.MatchingLabels{"job-name": key.Name}); err != nil {
		return markError(ms, fmt.Errorf("listing the Pods of Job %s: %w", key, err), now)
	}
	for _, pod := range pods.Items {
		for _, cs := range append(append([]corev1.ContainerStatus(nil), pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...) {
			if w := cs.State.Waiting; w != nil && terminalWaiting[w.Reason] {
				ms = finish(ms, "", argov1.AnalysisPhaseInconclusive, now)
				ms.Message = fmt.Sprintf("Pod %s, container %s has terminal error (%s): %s", pod.Name, cs.Name, w.Reason, w.Message)
				return ms
			}
		}
	}
	// Argo's backoff: the Job watch wakes the run sooner when the Job ends.
	elapsed := now.Sub(ms.StartedAt.Time)
	delay := time.Duration(math.Sqrt(2*elapsed.Seconds()) * float64(time.Second))
	t := metav1.NewTime(now.Add(max(delay, time.Second)))
	ms.ResumeAt = &t
	return ms
}

func (p jobProvider) Terminate(ctx context.Context, run *argov1.AnalysisRun, _ argov1.Metric, ms argov1.Measurement, now time.Time) argov1.Measurement {
	key, err := jobKey(ms, run.Namespace)
	if err != nil {
		return markError(ms, err, now)
	}
	if err := p.deleteJob(ctx, key); err != nil {
		return markError(ms, err, now)
	}
	return finish(ms, "", argov1.AnalysisPhaseInconclusive, now)
}

func (p jobProvider) deleteJob(ctx context.Context, key client.ObjectKey) error {
	job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}}
	if err := p.client.Delete(ctx, job, client.PropagationPolicy(metav1.DeletePropagationForeground)); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("deleting Job %s: %w", key, err)
	}
	return nil
}

// GarbageCollect deletes the oldest of the run's Jobs beyond limit.
func (p jobProvider) GarbageCollect(ctx context.Context, run *argov1.AnalysisRun, m argov1.Metric, limit int) error {
	jobs := &batchv1.JobList{}
	if err := p.client.List(ctx, jobs, client.InNamespace(run.Namespace), client.MatchingLabels{LabelRunUID: string(run.UID)}); err != nil {
		return fmt.Errorf("listing the Jobs of AnalysisRun %s/%s: %w", run.Namespace, run.Name, err)
	}
	var mine []batchv1.Job
	for _, j := range jobs.Items {
		if j.Annotations[annotationMetricName] == m.Name {
			mine = append(mine, j)
		}
	}
	sort.Slice(mine, func(i, j int) bool { return mine[i].CreationTimestamp.Before(&mine[j].CreationTimestamp) })
	for i := 0; i < len(mine)-limit; i++ {
		if err := p.deleteJob(ctx, client.ObjectKeyFromObject(&mine[i])); err != nil {
			return err
		}
	}
	return nil
}
