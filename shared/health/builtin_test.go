package health

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/argolite/argolite/shared/api/v1alpha1"
)

// obj decodes a YAML manifest the way the API client does (integers int64).
func obj(t testing.TB, manifest string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(manifest), u); err != nil {
		t.Fatalf("test manifest does not decode: %v\n%s", err, manifest)
	}
	return u
}

type healthCase struct {
	name     string
	manifest string
	code     v1alpha1.HealthStatusCode
	message  string // exact, unless msgPart is set
	msgPart  string // substring the message must contain
}

func runHealthCases(t *testing.T, c *Checker, cases []healthCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := c.Check(obj(t, tc.manifest))
			if got.Code != tc.code {
				t.Errorf("code = %s, want %s (message %q)", got.Code, tc.code, got.Message)
			}
			if tc.msgPart != "" {
				if !strings.Contains(got.Message, tc.msgPart) {
					t.Errorf("message = %q, want it to contain %q", got.Message, tc.msgPart)
				}
			} else if got.Message != tc.message {
				t.Errorf("message = %q, want %q", got.Message, tc.message)
			}
		})
	}
}

const deploymentHead = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  generation: 3
`

const deploymentTemplate = `  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        ports: [{containerPort: 80}]
`

func TestDeploymentHealth(t *testing.T) {
	runHealthCases(t, nil, []healthCase{
		{
			name: "rolled out",
			manifest: deploymentHead + `spec:
  replicas: 2
` + deploymentTemplate + `status:
  observedGeneration: 3
  replicas: 2
  updatedReplicas: 2
  readyReplicas: 2
  availableReplicas: 2
  conditions:
  - {type: Available, status: "True", reason: MinimumReplicasAvailable}
  - {type: Progressing, status: "True", reason: NewReplicaSetAvailable}
`,
			code: v1alpha1.HealthHealthy,
		},
		{
			name: "paused",
			manifest: deploymentHead + `spec:
  paused: true
  replicas: 2
` + deploymentTemplate + `status:
  observedGeneration: 3
  replicas: 2
  updatedReplicas: 1
`,
			code:    v1alpha1.HealthSuspended,
			message: "Deployment is paused",
		},
		{
			name: "generation not observed",
			manifest: deploymentHead + `spec:
  replicas: 2
` + deploymentTemplate + `status:
  observedGeneration: 2
  replicas: 2
  updatedReplicas: 2
  availableReplicas: 2
`,
			code:    v1alpha1.HealthProgressing,
			message: "Waiting for rollout to finish: observed deployment generation less than desired generation",
		},
		{
			name: "progress deadline exceeded",
			manifest: deploymentHead + `spec:
  replicas: 2
` + deploymentTemplate + `status:
  observedGeneration: 3
  replicas: 3
  updatedReplicas: 1
  availableReplicas: 2
  conditions:
  - type: Progressing
    status: "False"
    reason: ProgressDeadlineExceeded
    message: ReplicaSet "web-7d9c" has timed out progressing.
`,
			code:    v1alpha1.HealthDegraded,
			message: `Deployment "web" exceeded its progress deadline`,
		},
		{
			name: "new replicas being updated",
			manifest: deploymentHead + `spec:
  replicas: 2
` + deploymentTemplate + `status:
  observedGeneration: 3
  replicas: 2
  updatedReplicas: 1
  availableReplicas: 2
`,
			code:    v1alpha1.HealthProgressing,
			message: "Waiting for rollout to finish: 1 out of 2 new replicas have been updated...",
		},
		{
			name: "old replicas terminating",
			manifest: deploymentHead + `spec:
  replicas: 2
` + deploymentTemplate + `status:
  observedGeneration: 3
  replicas: 3
  updatedReplicas: 2
  availableReplicas: 2
`,
			code:    v1alpha1.HealthProgressing,
			message: "Waiting for rollout to finish: 1 old replicas are pending termination...",
		},
		{
			name: "updated replicas not yet available",
			manifest: deploymentHead + `spec:
  replicas: 2
` + deploymentTemplate + `status:
  observedGeneration: 3
  replicas: 2
  updatedReplicas: 2
  availableReplicas: 1
`,
			code:    v1alpha1.HealthProgressing,
			message: "Waiting for rollout to finish: 1 of 2 updated replicas are available...",
		},
		{
			name: "malformed replicas",
			manifest: deploymentHead + `spec:
  replicas: two
` + deploymentTemplate,
			code:    v1alpha1.HealthUnknown,
			msgPart: "Deployment shop/web: field spec.replicas: two is not a whole number",
		},
	})
}

const statefulSetHead = `apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
  namespace: shop
  generation: 2
`

const statefulSetTemplate = `  serviceName: db
  selector:
    matchLabels: {app: db}
  template:
    metadata:
      labels: {app: db}
    spec:
      containers:
      - {name: postgres, image: "postgres:17"}
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 1Gi}}
`

func TestStatefulSetHealth(t *testing.T) {
	runHealthCases(t, nil, []healthCase{
		{
			name: "rolling update complete",
			manifest: statefulSetHead + `spec:
  replicas: 3
  updateStrategy: {type: RollingUpdate}
` + statefulSetTemplate + `status:
  observedGeneration: 2
  replicas: 3
  readyReplicas: 3
  currentReplicas: 3
  updatedReplicas: 3
  currentRevision: db-6b8f
  updateRevision: db-6b8f
`,
			code:    v1alpha1.HealthHealthy,
			message: "statefulset rolling update complete 3 pods at revision db-6b8f...",
		},
		{
			name: "spec not observed",
			manifest: statefulSetHead + `spec:
  replicas: 3
` + statefulSetTemplate + `status:
  observedGeneration: 1
  readyReplicas: 3
`,
			code:    v1alpha1.HealthProgressing,
			message: "Waiting for statefulset spec update to be observed...",
		},
		{
			name: "pods not ready",
			manifest: statefulSetHead + `spec:
  replicas: 3
` + statefulSetTemplate + `status:
  observedGeneration: 2
  readyReplicas: 2
`,
			code:    v1alpha1.HealthProgressing,
			message: "Waiting for 1 pods to be ready...",
		},
		{
			name: "partitioned roll out in progress",
			manifest: statefulSetHead + `spec:
  replicas: 3
  updateStrategy:
    type: RollingUpdate
    rollingUpdate: {partition: 1}
` + statefulSetTemplate + `status:
  observedGeneration: 2
  readyReplicas: 3
  updatedReplicas: 1
`,
			code:    v1alpha1.HealthProgressing,
			message: "Waiting for partitioned roll out to finish: 1 out of 2 new pods have been updated...",
		},
		{
			name: "partitioned roll out complete",
			manifest: statefulSetHead + `spec:
  replicas: 3
  updateStrategy:
    type: RollingUpdate
    rollingUpdate: {partition: 0}
` + statefulSetTemplate + `status:
  observedGeneration: 2
  readyReplicas: 3
  updatedReplicas: 3
`,
			code:    v1alpha1.HealthHealthy,
			message: "partitioned roll out complete: 3 new pods have been updated...",
		},
		{
			name: "on delete",
			manifest: statefulSetHead + `spec:
  replicas: 3
  updateStrategy: {type: OnDelete}
` + statefulSetTemplate + `status:
  observedGeneration: 2
  readyReplicas: 3
  updatedReplicas: 1
`,
			code:    v1alpha1.HealthHealthy,
			message: "statefulset has 3 ready pods",
		},
		{
			name: "rolling update to a new revision",
			manifest: statefulSetHead + `spec:
  replicas: 3
  updateStrategy: {type: RollingUpdate}
` + statefulSetTemplate + `status:
  observedGeneration: 2
  readyReplicas: 3
  updatedReplicas: 1
  currentRevision: db-6b8f
  updateRevision: db-79c4
`,
			code:    v1alpha1.HealthProgressing,
			message: "waiting for statefulset rolling update to complete 1 pods at revision db-79c4...",
		},
	})
}

const daemonSetHead = `apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: node-agent
  namespace: kube-system
  generation: 4
spec:
  selector:
    matchLabels: {app: node-agent}
  template:
    metadata:
      labels: {app: node-agent}
    spec:
      containers:
      - {name: agent, image: "busybox:1.37"}
`

func TestDaemonSetHealth(t *testing.T) {
	runHealthCases(t, nil, []healthCase{
		{
			name: "all pods updated and available",
			manifest: daemonSetHead + `  updateStrategy: {type: RollingUpdate}
status:
  observedGeneration: 4
  desiredNumberScheduled: 3
  updatedNumberScheduled: 3
  numberAvailable: 3
`,
			code: v1alpha1.HealthHealthy,
		},
		{
			name: "generation not observed",
			manifest: daemonSetHead + `status:
  observedGeneration: 3
  desiredNumberScheduled: 3
`,
			code:    v1alpha1.HealthProgressing,
			message: "Waiting for rollout to finish: observed daemon set generation less than desired generation",
		},
		{
			name: "pods being updated",
			manifest: daemonSetHead + `status:
  observedGeneration: 4
  desiredNumberScheduled: 3
  updatedNumberScheduled: 1
  numberAvailable: 3
`,
			code:    v1alpha1.HealthProgressing,
			message: `Waiting for daemon set "node-agent" rollout to finish: 1 out of 3 new pods have been updated...`,
		},
		{
			name: "updated pods not available",
			manifest: daemonSetHead + `status:
  observedGeneration: 4
  desiredNumberScheduled: 3
  updatedNumberScheduled: 3
  numberAvailable: 2
`,
			code:    v1alpha1.HealthProgressing,
			message: `Waiting for daemon set "node-agent" rollout to finish: 2 of 3 updated pods are available...`,
		},
		{
			name: "on delete",
			manifest: daemonSetHead + `  updateStrategy: {type: OnDelete}
status:
  observedGeneration: 4
  desiredNumberScheduled: 3
  updatedNumberScheduled: 1
  numberAvailable: 1
`,
			code:    v1alpha1.HealthHealthy,
			message: "daemon set 1 out of 3 new pods have been updated",
		},
	})
}

const replicaSetHead = `apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: web-7d9c
  namespace: shop
  generation: 1
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - {name: web, image: "nginx:1.27"}
`

func TestReplicaSetHealth(t *testing.T) {
	runHealthCases(t, nil, []healthCase{
		{
			name: "available",
			manifest: replicaSetHead + `status:
  observedGeneration: 1
  replicas: 2
  availableReplicas: 2
`,
			code: v1alpha1.HealthHealthy,
		},
		{
			name: "replica failure",
			manifest: replicaSetHead + `status:
  observedGeneration: 1
  replicas: 0
  conditions:
  - type: ReplicaFailure
    status: "True"
    reason: FailedCreate
    message: 'pods "web-7d9c-" is forbidden: exceeded quota: compute'
`,
			code:    v1alpha1.HealthDegraded,
			message: `pods "web-7d9c-" is forbidden: exceeded quota: compute`,
		},
		{
			name: "replicas not yet available",
			manifest: replicaSetHead + `status:
  observedGeneration: 1
  replicas: 2
  availableReplicas: 1
`,
			code:    v1alpha1.HealthProgressing,
			message: "Waiting for rollout to finish: 1 out of 2 new replicas are available...",
		},
		{
			name: "generation not observed",
			manifest: replicaSetHead + `status:
  observedGeneration: 0
`,
			code:    v1alpha1.HealthProgressing,
			message: "Waiting for rollout to finish: observed replica set generation less than desired generation",
		},
	})
}

const podHead = `apiVersion: v1
kind: Pod
metadata:
  name: web-7d9c-x2x4q
  namespace: shop
`

func TestPodHealth(t *testing.T) {
	runHealthCases(t, nil, []healthCase{
		{
			name: "running and ready",
			manifest: podHead + `spec:
  restartPolicy: Always
  containers: [{name: web, image: "nginx:1.27"}]
status:
  phase: Running
  conditions:
  - {type: Ready, status: "True"}
  containerStatuses:
  - name: web
    ready: true
    state: {running: {startedAt: "2026-11-25T10:00:00Z"}}
`,
			code: v1alpha1.HealthHealthy,
		},
		{
			name: "crash loop",
			manifest: podHead + `spec:
  restartPolicy: Always
  containers: [{name: web, image: "nginx:1.27"}]
status:
  phase: Running
  conditions:
  - {type: Ready, status: "False", reason: ContainersNotReady}
  containerStatuses:
  - name: web
    ready: false
    restartCount: 5
    state:
      waiting:
        reason: CrashLoopBackOff
        message: back-off 2m40s restarting failed container=web pod=web-7d9c-x2x4q_shop
    lastState:
      terminated: {exitCode: 1, reason: Error}
`,
			code:    v1alpha1.HealthDegraded,
			message: "back-off 2m40s restarting failed container=web pod=web-7d9c-x2x4q_shop",
		},
		{
			name: "image pull back-off",
			manifest: podHead + `spec:
  containers: [{name: web, image: "nginx:does-not-exist"}]
status:
  phase: Pending
  containerStatuses:
  - name: web
    ready: false
    state:
      waiting:
        reason: ImagePullBackOff
        message: Back-off pulling image "nginx:does-not-exist"
`,
			code:    v1alpha1.HealthDegraded,
			message: `Back-off pulling image "nginx:does-not-exist"`,
		},
		{
			name: "err image pull without a message",
			manifest: podHead + `spec:
  restartPolicy: Always
  containers: [{name: web, image: "registry.invalid/web:1"}]
status:
  phase: Pending
  containerStatuses:
  - name: web
    state:
      waiting: {reason: ErrImagePull}
`,
			code:    v1alpha1.HealthDegraded,
			message: `container "web" is waiting: ErrImagePull`,
		},
		{
			name: "pending",
			manifest: podHead + `spec:
  restartPolicy: Always
  containers: [{name: web, image: "nginx:1.27"}]
status:
  phase: Pending
  message: "0/1 nodes are available: 1 Insufficient cpu."
  containerStatuses:
  - name: web
    state:
      waiting: {reason: ContainerCreating}
`,
			code:    v1alpha1.HealthProgressing,
			message: "0/1 nodes are available: 1 Insufficient cpu.",
		},
		{
			name: "running, not ready, restarted",
			manifest: podHead + `spec:
  restartPolicy: Always
  containers: [{name: web, image: "nginx:1.27"}]
status:
  phase: Running
  conditions:
  - {type: Ready, status: "False"}
  containerStatuses:
  - name: web
    state: {running: {}}
    lastState:
      terminated: {exitCode: 137, reason: OOMKilled}
`,
			code: v1alpha1.HealthDegraded,
		},
		{
			name: "running, not ready yet",
			manifest: podHead + `spec:
  restartPolicy: Always
  containers: [{name: web, image: "nginx:1.27"}]
status:
  phase: Running
  conditions:
  - {type: Ready, status: "False"}
  containerStatuses:
  - name: web
    state: {running: {}}
`,
			code: v1alpha1.HealthProgressing,
		},
		{
			name: "restart never, running",
			manifest: podHead + `spec:
  restartPolicy: Never
  containers: [{name: migrate, image: "busybox:1.37"}]
status:
  phase: Running
  conditions:
  - {type: Ready, status: "True"}
`,
			code: v1alpha1.HealthProgressing,
		},
		{
			name: "restart on failure, image pull back-off stays progressing",
			manifest: podHead + `spec:
  restartPolicy: OnFailure
  containers: [{name: migrate, image: "busybox:nope"}]
status:
  phase: Pending
  containerStatuses:
  - name: migrate
    state:
      waiting: {reason: ImagePullBackOff, message: Back-off pulling image}
`,
			code: v1alpha1.HealthProgressing,
		},
		{
			name: "restart never with ignore-restart-policy annotation, ready",
			manifest: `apiVersion: v1
kind: Pod
metadata:
  name: operator-managed
  annotations:
    argocd.argoproj.io/ignore-restart-policy: "true"
spec:
  restartPolicy: Never
  containers: [{name: app, image: "busybox:1.37"}]
status:
  phase: Running
  conditions:
  - {type: Ready, status: "True"}
`,
			code: v1alpha1.HealthHealthy,
		},
		{
			name: "restart never completed",
			manifest: podHead + `spec:
  restartPolicy: Never
  containers: [{name: migrate, image: "busybox:1.37"}]
status:
  phase: Succeeded
  containerStatuses:
  - name: migrate
    state:
      terminated: {exitCode: 0, reason: Completed}
`,
			code: v1alpha1.HealthHealthy,
		},
		{
			name: "failed with a pod message",
			manifest: podHead + `spec:
  restartPolicy: Never
  containers: [{name: migrate, image: "busybox:1.37"}]
status:
  phase: Failed
  reason: Evicted
  message: "The node was low on resource: memory."
`,
			code:    v1alpha1.HealthDegraded,
			message: "The node was low on resource: memory.",
		},
		{
			name: "failed with a container exit code",
			manifest: podHead + `spec:
  restartPolicy: OnFailure
  initContainers: [{name: init, image: "busybox:1.37"}]
  containers: [{name: migrate, image: "busybox:1.37"}]
status:
  phase: Failed
  initContainerStatuses:
  - name: init
    state:
      terminated: {exitCode: 0, reason: Completed}
  containerStatuses:
  - name: migrate
    state:
      terminated: {exitCode: 3, reason: Error}
`,
			code:    v1alpha1.HealthDegraded,
			message: `container "migrate" failed with exit code 3`,
		},
		{
			name: "failed out of memory",
			manifest: podHead + `spec:
  restartPolicy: Never
  containers: [{name: migrate, image: "busybox:1.37"}]
status:
  phase: Failed
  containerStatuses:
  - name: migrate
    state:
      terminated: {exitCode: 137, reason: OOMKilled}
`,
			code:    v1alpha1.HealthDegraded,
			message: "OOMKilled",
		},
		{
			name: "failed with a termination message",
			manifest: podHead + `spec:
  restartPolicy: Never
  containers: [{name: migrate, image: "busybox:1.37"}]
status:
  phase: Failed
  containerStatuses:
  - name: migrate
    state:
      terminated: {exitCode: 2, reason: Error, message: "schema v7 does not apply"}
`,
			code:    v1alpha1.HealthDegraded,
			message: "schema v7 does not apply",
		},
		{
			name: "being deleted",
			manifest: `apiVersion: v1
kind: Pod
metadata:
  name: web-7d9c-x2x4q
  deletionTimestamp: "2026-11-25T10:00:00Z"
spec:
  containers: [{name: web, image: "nginx:1.27"}]
status:
  phase: Running
  conditions:
  - {type: Ready, status: "True"}
`,
			code:    v1alpha1.HealthProgressing,
			message: "Pending deletion",
		},
		{
			name: "phase unknown",
			manifest: podHead + `spec:
  containers: [{name: web, image: "nginx:1.27"}]
status:
  phase: Unknown
  message: node unreachable
`,
			code:    v1alpha1.HealthUnknown,
			message: "node unreachable",
		},
	})
}

const jobHead = `apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
  namespace: shop
spec:
  backoffLimit: 2
  template:
    spec:
      restartPolicy: Never
      containers: [{name: migrate, image: "busybox:1.37", command: [sh, -c, "exit 0"]}]
`

func TestJobHealth(t *testing.T) {
	runHealthCases(t, nil, []healthCase{
		{
			name: "complete",
			manifest: jobHead + `status:
  succeeded: 1
  conditions:
  - {type: SuccessCriteriaMet, status: "True"}
  - {type: Complete, status: "True"}
`,
			code: v1alpha1.HealthHealthy,
		},
		{
			name: "failed",
			manifest: jobHead + `status:
  failed: 3
  conditions:
  - {type: FailureTarget, status: "True", reason: BackoffLimitExceeded, message: Job has reached the specified backoff limit}
  - {type: Failed, status: "True", reason: BackoffLimitExceeded, message: Job has reached the specified backoff limit}
`,
			code:    v1alpha1.HealthDegraded,
			message: "Job has reached the specified backoff limit",
		},
		{
			name: "suspended",
			manifest: jobHead + `status:
  conditions:
  - {type: Suspended, status: "True", reason: JobSuspended, message: Job suspended}
`,
			code:    v1alpha1.HealthSuspended,
			message: "Job suspended",
		},
		{
			name: "running",
			manifest: jobHead + `status:
  active: 1
  startTime: "2026-11-25T10:00:00Z"
`,
			code: v1alpha1.HealthProgressing,
		},
		{
			name: "resumed after a suspension",
			manifest: jobHead + `status:
  active: 1
  conditions:
  - {type: Suspended, status: "False", reason: JobResumed, message: Job resumed}
`,
			code: v1alpha1.HealthProgressing,
		},
		{
			name: "cron job suspended",
			manifest: `apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly, namespace: shop}
spec:
  schedule: "0 3 * * *"
  suspend: true
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers: [{name: backup, image: "busybox:1.37"}]
`,
			code:    v1alpha1.HealthSuspended,
			message: "CronJob is suspended",
		},
		{
			name: "cron job scheduling",
			manifest: `apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly, namespace: shop}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers: [{name: backup, image: "busybox:1.37"}]
status:
  lastScheduleTime: "2026-11-25T03:00:00Z"
`,
			code: v1alpha1.HealthHealthy,
		},
	})
}

func TestPVCServiceIngressHealth(t *testing.T) {
	pvc := func(phase string) string {
		return `apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: shop}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
status:
  phase: ` + phase + "\n"
	}
	runHealthCases(t, nil, []healthCase{
		{name: "pvc bound", manifest: pvc("Bound"), code: v1alpha1.HealthHealthy},
		{name: "pvc pending", manifest: pvc("Pending"), code: v1alpha1.HealthProgressing},
		{name: "pvc lost", manifest: pvc("Lost"), code: v1alpha1.HealthDegraded},
		{name: "pvc without phase", manifest: pvc(`""`), code: v1alpha1.HealthUnknown},
		{
			name: "cluster ip service",
			manifest: `apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  type: ClusterIP
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
status:
  loadBalancer: {}
`,
			code: v1alpha1.HealthHealthy,
		},
		{
			name: "load balancer without an address",
			manifest: `apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  type: LoadBalancer
  ports: [{port: 80}]
status:
  loadBalancer: {}
`,
			code: v1alpha1.HealthProgressing,
		},
		{
			name: "load balancer with an ip",
			manifest: `apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  type: LoadBalancer
  ports: [{port: 80}]
status:
  loadBalancer:
    ingress: [{ip: 203.0.113.7}]
`,
			code: v1alpha1.HealthHealthy,
		},
		{
			name: "load balancer with a hostname",
			manifest: `apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  type: LoadBalancer
  ports: [{port: 80}]
status:
  loadBalancer:
    ingress: [{hostname: web.elb.example.com}]
`,
			code: v1alpha1.HealthHealthy,
		},
		{
			name: "ingress with an address",
			manifest: `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: shop}
spec:
  rules:
  - host: shop.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
status:
  loadBalancer:
    ingress: [{ip: 203.0.113.8}]
`,
			code: v1alpha1.HealthHealthy,
		},
		{
			name: "ingress without an address",
			manifest: `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: shop}
spec:
  rules:
  - host: shop.example.com
status:
  loadBalancer: {}
`,
			code: v1alpha1.HealthProgressing,
		},
		{
			name: "legacy extensions ingress",
			manifest: `apiVersion: extensions/v1beta1
kind: Ingress
metadata: {name: web, namespace: shop}
spec:
  backend: {serviceName: web, servicePort: 80}
status:
  loadBalancer:
    ingress: [{hostname: lb.example.com}]
`,
			code: v1alpha1.HealthHealthy,
		},
		{
			name: "ingress with a malformed status",
			manifest: `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: shop}
status:
  loadBalancer:
    ingress: 203.0.113.8
`,
			code:    v1alpha1.HealthUnknown,
			msgPart: "status.loadBalancer.ingress is a string, not a list",
		},
	})
}

const hpaV2Head = `apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web, namespace: shop}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 1
  maxReplicas: 5
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 80}}
`

func TestHPAHealth(t *testing.T) {
	runHealthCases(t, nil, []healthCase{
		{
			name: "v2 able to scale",
			manifest: hpaV2Head + `status:
  currentReplicas: 1
  desiredReplicas: 1
  conditions:
  - {type: AbleToScale, status: "True", reason: ReadyForNewScale, message: recommended size matches current size}
  - {type: ScalingActive, status: "True", reason: ValidMetricFound, message: the HPA was able to successfully calculate a replica count}
  - {type: ScalingLimited, status: "False", reason: DesiredWithinRange, message: the desired count is within the acceptable range}
`,
			code:    v1alpha1.HealthHealthy,
			message: "recommended size matches current size",
		},
		{
			name: "v2 metric unavailable",
			manifest: hpaV2Head + `status:
  conditions:
  - {type: AbleToScale, status: "True", reason: SucceededGetScale, message: the HPA controller was able to get the target's current scale}
  - type: ScalingActive
    status: "False"
    reason: FailedGetResourceMetric
    message: "the HPA was unable to compute the replica count: failed to get cpu utilization"
`,
			code:    v1alpha1.HealthDegraded,
			message: "the HPA was unable to compute the replica count: failed to get cpu utilization",
		},
		{
			name: "v2 object metric unavailable",
			manifest: hpaV2Head + `status:
  conditions:
  - {type: ScalingActive, status: "False", reason: FailedGetObjectMetric, message: unable to get metric requests_per_second}
`,
			code:    v1alpha1.HealthDegraded,
			message: "unable to get metric requests_per_second",
		},
		{
			name: "v2 waiting",
			manifest: hpaV2Head + `status:
  conditions:
  - {type: ScalingActive, status: "True", reason: ValidMetricFound, message: ok}
  - {type: ScalingLimited, status: "False", reason: DesiredWithinRange, message: within range}
`,
			code:    v1alpha1.HealthProgressing,
			message: "Waiting to Autoscale",
		},
		{
			name: "v2 too few replicas",
			manifest: hpaV2Head + `status:
  conditions:
  - {type: ScalingLimited, status: "True", reason: TooFewReplicas, message: the desired replica count is less than the minimum replica count}
`,
			code:    v1alpha1.HealthHealthy,
			message: "the desired replica count is less than the minimum replica count",
		},
		{
			name: "v1 conditions annotation",
			manifest: `apiVersion: autoscaling/v1
kind: HorizontalPodAutoscaler
metadata:
  name: web
  namespace: shop
  annotations:
    autoscaling.alpha.kubernetes.io/conditions: '[{"type":"AbleToScale","status":"True","lastTransitionTime":"2026-11-25T10:00:00Z","reason":"SucceededRescale","message":"the HPA controller was able to update the target scale to 2"}]'
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  maxReplicas: 5
  targetCPUUtilizationPercentage: 80
`,
			code:    v1alpha1.HealthHealthy,
			message: "the HPA controller was able to update the target scale to 2",
		},
		{
			name: "v1 failed to get scale",
			manifest: `apiVersion: autoscaling/v1
kind: HorizontalPodAutoscaler
metadata:
  name: web
  annotations:
    autoscaling.alpha.kubernetes.io/conditions: '[{"type":"AbleToScale","status":"False","reason":"FailedGetScale","message":"deployments/scale.apps \"web\" not found"}]'
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  maxReplicas: 5
`,
			code:    v1alpha1.HealthDegraded,
			message: `deployments/scale.apps "web" not found`,
		},
		{
			name: "v1 without conditions",
			manifest: `apiVersion: autoscaling/v1
kind: HorizontalPodAutoscaler
metadata: {name: web}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  maxReplicas: 5
`,
			code:    v1alpha1.HealthProgressing,
			message: "Waiting to Autoscale",
		},
		{
			name: "v1 malformed annotation",
			manifest: `apiVersion: autoscaling/v1
kind: HorizontalPodAutoscaler
metadata:
  name: web
  annotations:
    autoscaling.alpha.kubernetes.io/conditions: 'not json'
spec:
  maxReplicas: 5
`,
			code:    v1alpha1.HealthUnknown,
			msgPart: "annotation autoscaling.alpha.kubernetes.io/conditions is not a JSON list of conditions",
		},
	})
}

func TestAPIServiceHealth(t *testing.T) {
	head := `apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata: {name: v1beta1.metrics.k8s.io}
spec:
  group: metrics.k8s.io
  version: v1beta1
  service: {name: metrics-server, namespace: kube-system}
  groupPriorityMinimum: 100
  versionPriority: 100
`
	runHealthCases(t, nil, []healthCase{
		{
			name: "available",
			manifest: head + `status:
  conditions:
  - {type: Available, status: "True", reason: Passed, message: all checks passed}
`,
			code:    v1alpha1.HealthHealthy,
			message: "Passed: all checks passed",
		},
		{
			name: "unavailable",
			manifest: head + `status:
  conditions:
  - {type: Available, status: "False", reason: MissingEndpoints, message: endpoints for service/metrics-server in "kube-system" have no addresses}
`,
			code:    v1alpha1.HealthProgressing,
			message: `MissingEndpoints: endpoints for service/metrics-server in "kube-system" have no addresses`,
		},
		{
			name:     "not processed",
			manifest: head,
			code:     v1alpha1.HealthProgressing,
			message:  "Waiting to be processed",
		},
	})
}

func TestOwnKindsHealth(t *testing.T) {
	runHealthCases(t, nil, []healthCase{
		{
			name: "application degraded",
			manifest: `apiVersion: argolite.dev/v1alpha1
kind: Application
metadata: {name: guestbook, namespace: argolite-system, generation: 2}
spec:
  source: {repoURL: "https://git.example.com/apps.git", path: guestbook}
  destination: {namespace: guestbook}
status:
  observedGeneration: 2
  health: {status: Degraded, message: "Deployment/guestbook-ui: Deployment \"guestbook-ui\" exceeded its progress deadline"}
`,
			code:    v1alpha1.HealthDegraded,
			message: `Deployment/guestbook-ui: Deployment "guestbook-ui" exceeded its progress deadline`,
		},
		{
			name: "application spec not observed",
			manifest: `apiVersion: argolite.dev/v1alpha1
kind: Application
metadata: {name: guestbook, generation: 3}
status:
  observedGeneration: 2
  health: {status: Healthy}
`,
			code:    v1alpha1.HealthProgressing,
			message: "Waiting for Application generation 3 to be observed (status describes generation 2)",
		},
		{
			name: "application never reconciled",
			manifest: `apiVersion: argolite.dev/v1alpha1
kind: Application
metadata: {name: guestbook, generation: 1}
spec:
  destination: {namespace: guestbook}
`,
			code:    v1alpha1.HealthProgressing,
			message: "Waiting for the Application status to be reported",
		},
		{
			name: "application with a bad health code",
			manifest: `apiVersion: argolite.dev/v1alpha1
kind: Application
metadata: {name: guestbook}
status:
  health: {status: Fine}
`,
			code:    v1alpha1.HealthUnknown,
			msgPart: `status.health.status is "Fine"`,
		},
		{
			name: "workflow succeeded",
			manifest: `apiVersion: argolite.dev/v1alpha1
kind: Workflow
metadata: {name: hello-x7k2p, namespace: jobs}
spec: {entrypoint: main}
status: {phase: Succeeded, message: ""}
`,
			code: v1alpha1.HealthHealthy,
		},
		{
			name: "workflow failed",
			manifest: `apiVersion: argolite.dev/v1alpha1
kind: Workflow
metadata: {name: hello-x7k2p, namespace: jobs}
spec: {entrypoint: main}
status: {phase: Failed, message: "child 'hello-x7k2p-123' failed"}
`,
			code:    v1alpha1.HealthDegraded,
			message: "child 'hello-x7k2p-123' failed",
		},
		{
			name: "workflow error",
			manifest: `apiVersion: argolite.dev/v1alpha1
kind: Workflow
metadata: {name: hello-x7k2p}
status: {phase: Error, message: "pod deleted"}
`,
			code:    v1alpha1.HealthDegraded,
			message: "pod deleted",
		},
		{
			name: "workflow running",
			manifest: `apiVersion: argolite.dev/v1alpha1
kind: Workflow
metadata: {name: hello-x7k2p}
status: {phase: Running}
`,
			code: v1alpha1.HealthProgressing,
		},
		{
			name: "workflow not started",
			manifest: `apiVersion: argolite.dev/v1alpha1
kind: Workflow
metadata: {name: hello-x7k2p, generation: 1}
spec: {entrypoint: main}
`,
			code:    v1alpha1.HealthProgressing,
			message: "Waiting for the Workflow status to be reported",
		},
		{
			name: "argo workflow mirrored",
			manifest: `apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: hello-x7k2p}
status: {phase: Succeeded}
`,
			code: v1alpha1.HealthHealthy,
		},
		{
			name: "rollout paused",
			manifest: `apiVersion: argolite.dev/v1alpha1
kind: Rollout
metadata: {name: web, generation: 4}
status: {observedGeneration: 4, phase: Paused, message: CanaryPauseStep}
`,
			code:    v1alpha1.HealthSuspended,
			message: "CanaryPauseStep",
		},
		{
			name: "rollout spec not observed (Argo writes observedGeneration as a string)",
			manifest: `apiVersion: argolite.dev/v1alpha1
kind: Rollout
metadata: {name: web, generation: 5}
status: {observedGeneration: "4", phase: Healthy}
`,
			code:    v1alpha1.HealthProgressing,
			message: "Waiting for Rollout generation 5 to be observed (status describes generation 4)",
		},
		{
			name: "rollout degraded by an invalid spec",
			manifest: `apiVersion: argolite.dev/v1alpha1
kind: Rollout
metadata: {name: web, generation: 5}
status: {observedGeneration: "5", phase: Degraded, message: "InvalidSpec: spec.strategy.canary.trafficRouting.istio: not supported"}
`,
			code:    v1alpha1.HealthDegraded,
			message: "InvalidSpec: spec.strategy.canary.trafficRouting.istio: not supported",
		},
		{
			name: "analysis run inconclusive",
			manifest: `apiVersion: argolite.dev/v1alpha1
kind: AnalysisRun
metadata: {name: web-6f7-2}
status: {phase: Inconclusive, message: "metric \"error-rate\" assessed Inconclusive"}
`,
			code:    v1alpha1.HealthUnknown,
			message: `metric "error-rate" assessed Inconclusive`,
		},
		{
			name: "experiment failed",
			manifest: `apiVersion: argolite.dev/v1alpha1
kind: Experiment
metadata: {name: web-6f7-2-0, generation: 1}
status: {observedGeneration: 1, phase: Failed, message: "Template 'canary' exceeded its progressDeadlineSeconds (600)"}
`,
			code:    v1alpha1.HealthDegraded,
			message: "Template 'canary' exceeded its progressDeadlineSeconds (600)",
		},
		{
			name: "experiment not reported yet",
			manifest: `apiVersion: argolite.dev/v1alpha1
kind: Experiment
metadata: {name: web-6f7-2-0, generation: 1}
`,
			code:    v1alpha1.HealthProgressing,
			msgPart: "Waiting for the Experiment status",
		},
		{
			name: "unrecognised phase",
			manifest: `apiVersion: argolite.dev/v1alpha1
kind: Sensor
metadata: {name: webhook}
status: {phase: Dancing}
`,
			code:    v1alpha1.HealthUnknown,
			msgPart: `status.phase "Dancing" has no known health`,
		},
		{
			name: "workflow template has no status",
			manifest: `apiVersion: argolite.dev/v1alpha1
kind: WorkflowTemplate
metadata: {name: build, generation: 1}
spec: {entrypoint: main}
`,
			code: v1alpha1.HealthHealthy,
		},
		{
			name: "event source ready condition",
			manifest: `apiVersion: argolite.dev/v1alpha1
kind: EventSource
metadata: {name: github, generation: 2}
status:
  observedGeneration: 2
  conditions:
  - {type: Ready, status: "False", reason: ListenFailed, message: "port 12000 in use"}
`,
			code:    v1alpha1.HealthProgressing,
			message: "port 12000 in use",
		},
	})
}

func TestKstatusFallback(t *testing.T) {
	runHealthCases(t, nil, []healthCase{
		{
			name: "custom resource ready",
			manifest: `apiVersion: cache.example.com/v1
kind: Redis
metadata: {name: sessions, namespace: shop, generation: 2}
spec: {replicas: 3}
status:
  observedGeneration: 2
  conditions:
  - {type: Ready, status: "True", reason: Available, message: 3 replicas ready}
`,
			code: v1alpha1.HealthHealthy,
		},
		{
			name: "custom resource not ready",
			manifest: `apiVersion: cache.example.com/v1
kind: Redis
metadata: {name: sessions, namespace: shop, generation: 2}
spec: {replicas: 3}
status:
  observedGeneration: 2
  conditions:
  - {type: Ready, status: "False", reason: Provisioning, message: 1 of 3 replicas ready}
`,
			code:    v1alpha1.HealthProgressing,
			message: "1 of 3 replicas ready",
		},
		{
			name: "custom resource stalled",
			manifest: `apiVersion: cache.example.com/v1
kind: Redis
metadata: {name: sessions, generation: 2}
status:
  observedGeneration: 2
  conditions:
  - {type: Stalled, status: "True", reason: InvalidSpec, message: "replicas must be odd"}
`,
			code:    v1alpha1.HealthDegraded,
			message: "replicas must be odd",
		},
		{
			name: "custom resource generation not observed",
			manifest: `apiVersion: cache.example.com/v1
kind: Redis
metadata: {name: sessions, generation: 3}
status:
  observedGeneration: 2
  conditions:
  - {type: Ready, status: "True"}
`,
			code:    v1alpha1.HealthProgressing,
			message: "Redis generation is 3, but latest observed generation is 2",
		},
		{
			name: "config map",
			manifest: `apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: shop}
data: {LOG_LEVEL: info}
`,
			code: v1alpha1.HealthHealthy,
		},
		{
			name: "secret",
			manifest: `apiVersion: v1
kind: Secret
metadata: {name: db, namespace: shop}
type: Opaque
stringData: {password: hunter2}
`,
			code: v1alpha1.HealthHealthy,
		},
		{
			name: "service account",
			manifest: `apiVersion: v1
kind: ServiceAccount
metadata: {name: web, namespace: shop}
`,
			code: v1alpha1.HealthHealthy,
		},
		{
			name: "role",
			manifest: `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: reader, namespace: shop}
rules:
- {apiGroups: [""], resources: [configmaps], verbs: [get, list]}
`,
			code: v1alpha1.HealthHealthy,
		},
		{
			name: "config map being deleted",
			manifest: `apiVersion: v1
kind: ConfigMap
metadata: {name: settings, deletionTimestamp: "2026-11-25T10:00:00Z", finalizers: [example.com/keep]}
`,
			code:    v1alpha1.HealthProgressing,
			message: "Pending deletion",
		},
		{
			name: "custom resource with a malformed generation",
			manifest: `apiVersion: cache.example.com/v1
kind: Redis
metadata: {name: sessions, generation: 1}
status:
  observedGeneration: latest
`,
			code:    v1alpha1.HealthUnknown,
			msgPart: "Redis sessions:",
		},
	})
}

func TestCheckNilIsMissing(t *testing.T) {
	var c *Checker
	if got := c.Check(nil); got.Code != v1alpha1.HealthMissing {
		t.Errorf("Check(nil) = %+v, want Missing", got)
	}
}
