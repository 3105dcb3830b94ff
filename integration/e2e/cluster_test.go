package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// TestClusterServesPods checks the test bed itself: Pods start from the
// locally built busybox image, HTTP readiness probes pass, a ClusterIP
// Service balances over both replicas, and logs and termination messages
// come back through the API server.
func TestClusterServesPods(t *testing.T) {
	needCluster(t)
	t.Parallel() // needs only the cluster
	ns := newNamespace(t)
	ctx := context.Background()
	labels := map[string]string{"app": "web"}
	deploy := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](2),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name:            "httpd",
					Image:           "busybox:latest",
					ImagePullPolicy: corev1.PullNever,
					Command:         []string{"sh", "-c", "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www"},
					Ports:           []corev1.ContainerPort{{ContainerPort: 8080}},
					ReadinessProbe: &corev1.Probe{
						ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/", Port: intstr.FromInt32(8080)}},
						PeriodSeconds: 1,
					},
				}}},
			},
		},
	}
	if _, err := clientset.AppsV1().Deployments(ns).Create(ctx, deploy, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	svc, err := clientset.CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Spec:       corev1.ServiceSpec{Selector: labels, Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "Deployment web to have 2 ready replicas", 2*time.Minute, func(ctx context.Context) (bool, error) {
		d, err := clientset.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
		return err == nil && d.Status.ReadyReplicas == 2, err
	})
	pods, err := clientset.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil || len(pods.Items) != 2 {
		t.Fatalf("want 2 web pods, got %d (%v)", len(pods.Items), err)
	}
	for _, p := range pods.Items {
		if !strings.HasPrefix(p.Status.PodIP, "198.18.0.") {
			t.Errorf("pod %s has IP %q, want one from the pod range 198.18.0.0/24", p.Name, p.Status.PodIP)
		}
	}

	waitServiceAnswers(t, ns, "web", "/", 2)

	// The client reaches the Service by its ClusterIP (the test bed has no DNS)
	// and reports how many answers came from each replica.
	script := fmt.Sprintf(`for i in $(seq 1 60); do wget -qO- http://%s/; done | sort | uniq -c; echo balanced > /dev/termination-log`, svc.Spec.ClusterIP)
	client := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "client", Namespace: ns},
		Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{
			Name: "client", Image: "busybox:latest", ImagePullPolicy: corev1.PullNever,
			Command: []string{"sh", "-c", script},
		}}},
	}
	if _, err := clientset.CoreV1().Pods(ns).Create(ctx, client, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var done *corev1.Pod
	waitFor(t, "client pod to finish", 2*time.Minute, func(ctx context.Context) (bool, error) {
		p, err := clientset.CoreV1().Pods(ns).Get(ctx, "client", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		done = p
		return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed, nil
	})
	if done.Status.Phase != corev1.PodSucceeded {
		t.Fatalf("client pod phase %s, want Succeeded", done.Status.Phase)
	}
	logs, err := clientset.CoreV1().Pods(ns).GetLogs("client", &corev1.PodLogOptions{}).DoRaw(ctx)
	if err != nil {
		t.Fatalf("reading client logs through the API server: %v", err)
	}
	for _, p := range pods.Items {
		if !strings.Contains(string(logs), p.Name) {
			t.Errorf("Service never answered from %s; the client saw:\n%s", p.Name, logs)
		}
	}
	term := done.Status.ContainerStatuses[0].State.Terminated
	if term == nil || strings.TrimSpace(term.Message) != "balanced" {
		t.Errorf("termination message = %+v, want \"balanced\"", term)
	}
}
