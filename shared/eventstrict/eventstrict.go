// Package eventstrict owns which Argo Events fields argolite has: the
// strict check of EventSources and Sensors as written, naming each field
// argolite lacks and what to do instead. The agent (the Ready condition)
// and the plugin give the same messages.
package eventstrict

import (
	"reflect"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
	"github.com/argolite/argolite/shared/strict"
)

const (
	hintSource  = "this event source is not supported by argolite yet: it takes webhook, calendar and resource sources (a sender that can call a URL can reach a webhook)"
	hintTLS     = "TLS is not terminated by the agent: put the agent's webhook Service behind an Ingress or Gateway that terminates TLS"
	hintTrigger = "this trigger is not supported by argolite yet: use a k8s trigger (it creates any object, an argoproj.io Workflow included) or a log trigger"
)

var unsupported = map[reflect.Type]map[string]string{
	reflect.TypeOf(argov1.EventSourceSpec{}): fields(hintSource, "file", "minio", "amqp", "kafka", "mqtt", "nats", "sns", "sqs",
		"pubSub", "github", "gitlab", "hdfs", "slack", "storageGrid", "azureEventsHub", "stripe", "emitter", "redis", "nsq", "pulsar",
		"generic", "bitbucketserver", "bitbucket", "redisStream", "azureServiceBus", "azureQueueStorage", "sftp", "gerrit", "mns"),
	reflect.TypeOf(argov1.WebhookEventSource{}): {
		"serverCertSecret": hintTLS,
		"serverKeySecret":  hintTLS,
		"filter":           "event source filters are not supported by argolite yet: filter in the Sensor's dependency (filters.data or filters.exprs)",
	},
	reflect.TypeOf(argov1.EventDependency{}): {
		"transform": "transforms (jq, script) are not supported by argolite yet: read the values with the trigger parameters' dataKey or dataTemplate",
	},
	reflect.TypeOf(argov1.EventDependencyFilter{}): {
		"time":    "time filters are not supported by argolite yet",
		"context": "context filters are not supported by argolite yet: filter on the payload with filters.data",
		"script":  "script filters are not supported by argolite yet: use filters.exprs",
	},
	reflect.TypeOf(argov1.DataFilter{}): {
		"template": "data filter templates are not supported by argolite yet: use filters.exprs",
	},
	reflect.TypeOf(argov1.TriggerTemplate{}): withField(fields(hintTrigger, "argoWorkflow", "http", "awsLambda", "custom", "kafka", "nats", "slack",
		"openWhisk", "azureEventHubs", "pulsar", "azureServiceBus", "email", "conditionsReset"),
		"atLeastOnce", "atLeastOnce is a field of the trigger, beside template, where Argo reads it (Argo ignores it here); argolite acknowledges an event only after its triggers succeeded, so it always holds: remove it or move it up"),
	reflect.TypeOf(argov1.Trigger{}): {
		"policy":     "trigger policies are not supported by argolite yet",
		"rateLimit":  "trigger rate limits are not supported by argolite yet",
		"dlqTrigger": "dead-letter triggers are not supported by argolite yet: a failed trigger makes the webhook answer 5xx, so the sender retries",
	},
	reflect.TypeOf(argov1.TriggerSource{}): {
		"file": "file sources are not supported: the agent has no file of yours; use resource, inline or configmap",
		"url":  "url sources are not supported by argolite yet: use resource, inline or configmap",
		"git":  "git sources are not supported by argolite yet: use resource, inline or configmap",
	},
}

func fields(hint string, names ...string) map[string]string {
	out := map[string]string{}
	for _, n := range names {
		out[n] = hint
	}
	return out
}

func withField(m map[string]string, name, hint string) map[string]string {
	m[name] = hint
	return m
}

var checker = &strict.Checker{Unsupported: unsupported}

// EventSource checks an EventSource as decoded (without status).
func EventSource(raw map[string]any) []strict.Fault { return checker.Check(raw, &argov1.EventSource{}) }

// Sensor checks a Sensor as decoded (without status).
func Sensor(raw map[string]any) []strict.Fault { return checker.Check(raw, &argov1.Sensor{}) }
