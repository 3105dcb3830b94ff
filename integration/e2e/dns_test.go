package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// TestClusterDNS checks the cluster DNS (CoreDNS's kubernetes plugin on the
// node address): a Service's name gives its ClusterIP, a headless Service's
// its ready Pods, a StatefulSet Pod's hostname its address, and a Pod
// reaches Services by short names through its search path. Names outside
// the cluster are refused at once: nothing is forwarded.
func TestClusterDNS(t *testing.T) {
	needCluster(t)
	t.Parallel() // needs only the cluster
	ns := newNamespace(t)
	ctx := context.Background()
	labels := map[string]string{"app": "db"}
	if _, err := clientset.CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: ns},
		Spec: corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, Selector: labels,
			Ports: []corev1.ServicePort{{Port: 8080}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	web, err := clientset.CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Spec:       corev1.ServiceSpec{Selector: labels, Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sts := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: ns},
		Spec: appsv1.StatefulSetSpec{
			ServiceName:         "db",
			Replicas:            ptr.To[int32](2),
			PodManagementPolicy: appsv1.ParallelPodManagement,
			Selector:            &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "httpd", Image: "busybox:latest", ImagePullPolicy: corev1.PullIfNotPresent,
					Command: []string{"sh", "-c", "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www"},
					ReadinessProbe: &corev1.Probe{
						ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/", Port: intstr.FromInt32(8080)}},
						PeriodSeconds: 1,
					},
				}}},
			},
		},
	}
	if _, err := clientset.AppsV1().StatefulSets(ns).Create(ctx, sts, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "StatefulSet db to have 2 ready replicas", 2*time.Minute, func(ctx context.Context) (bool, error) {
		s, err := clientset.AppsV1().StatefulSets(ns).Get(ctx, "db", metav1.GetOptions{})
		return err == nil && s.Status.ReadyReplicas == 2, err
	})
	podIP := map[string]string{}
	for _, p := range []string{"db-0", "db-1"} {
		pod, err := clientset.CoreV1().Pods(ns).Get(ctx, p, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		podIP[p] = pod.Status.PodIP
	}

	// From the host, asking the server Pods are given (the node address, port 53).
	dnsAddr := net.JoinHostPort(nodeIP(t), "53")
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, dnsAddr)
	}}
	domain := ns + ".svc.cluster.local."
	for host, want := range map[string][]string{
		"kubernetes.default.svc.cluster.local.": {"198.19.0.1"},
		"web." + domain:                         {web.Spec.ClusterIP},
		"db." + domain:                          {podIP["db-0"], podIP["db-1"]},
		"db-1.db." + domain:                     {podIP["db-1"]},
		strings.ReplaceAll(podIP["db-0"], ".", "-") + "." + ns + ".pod.cluster.local.": {podIP["db-0"]},
	} {
		// The endpoints of the headless Service follow readiness: poll until both are there.
		waitFor(t, fmt.Sprintf("%s to resolve to %v", host, want), 30*time.Second, func(ctx context.Context) (bool, error) {
			addrs, err := r.LookupHost(ctx, host)
			if err != nil {
				return false, err
			}
			if !slices.Equal(sortedStrings(addrs), sortedStrings(want)) {
				return false, fmt.Errorf("resolved to %v", addrs)
			}
			return true, nil
		})
	}
	for _, host := range []string{"nosuch." + domain, "db-7.db." + domain} {
		_, err := r.LookupHost(ctx, host)
		if dnsErr := (*net.DNSError)(nil); !errors.As(err, &dnsErr) || !dnsErr.IsNotFound {
			t.Errorf("%s: %v, want NXDOMAIN", host, err)
		}
	}
	// Outside the cluster domain: refused, not forwarded, not left to time out.
	start := time.Now()
	if addrs, err := r.LookupHost(ctx, "example.com."); err == nil {
		t.Errorf("example.com resolved to %v: the cluster DNS must forward nothing", addrs)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("example.com took %s to fail, want a refusal at once", d)
	}

	// From a Pod: short names through the search path <ns>.svc.cluster.local.
	script := `set -e
wget -qO- http://web/
wget -qO- http://web.` + ns + `/
wget -qO- http://db-1.db:8080/
echo resolved > /dev/termination-log`
	client := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "client", Namespace: ns},
		Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{
			Name: "client", Image: "alpine:3.23", ImagePullPolicy: corev1.PullIfNotPresent,
			Command: []string{"sh", "-c", script},
		}}},
	}
	if _, err := clientset.CoreV1().Pods(ns).Create(ctx, client, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	done := waitPodDone(t, ns, "client")
	logs, _ := clientset.CoreV1().Pods(ns).GetLogs("client", &corev1.PodLogOptions{}).DoRaw(ctx)
	if done.Status.Phase != corev1.PodSucceeded {
		t.Fatalf("client pod %s, want Succeeded; its output:\n%s", done.Status.Phase, logs)
	}
	lines := strings.Fields(string(logs))
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "db-") || !strings.HasPrefix(lines[1], "db-") || lines[2] != "db-1" {
		t.Errorf("client saw %q, want two answers of web from db-0 or db-1, then db-1", lines)
	}
}

func sortedStrings(s []string) []string { return slices.Sorted(slices.Values(s)) }
