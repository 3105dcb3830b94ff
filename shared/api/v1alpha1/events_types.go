package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// The events kinds are Argo Events' EventSource and Sensor
// (argoproj.io/v1alpha1), with the same field names, run by the agent's
// events role: no Deployment per EventSource or Sensor and no event bus.
// The fields that configure those Deployments and the bus (template,
// service, replicas, eventBusName) are accepted and have no effect. Spec
// and status are schemaless in the CRDs: the agent checks every field
// itself and names the ones it does not have.

func init() {
	knownTypes = append(knownTypes, &EventSource{}, &EventSourceList{}, &Sensor{}, &SensorList{})
}

// EventSource turns what happens outside (a webhook call, ...) into events
// that Sensors depend on.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=es,categories=argolite
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type EventSource struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +kubebuilder:validation:Schemaless
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Type=object
	Spec EventSourceSpec `json:"spec"`
	// +optional
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Type=object
	Status EventSourceStatus `json:"status,omitempty"`
}

// EventSourceList is a list of EventSources.
//
// +kubebuilder:object:root=true
type EventSourceList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []EventSource `json:"items"`
}

// EventSourceSpec is Argo's, for the sources argolite has.
type EventSourceSpec struct {
	// EventBusName, Template, Service and Replicas configure Argo's bus and
	// Deployment: accepted, no effect (the agent serves every source).
	EventBusName string                `json:"eventBusName,omitempty"`
	Template     *runtime.RawExtension `json:"template,omitempty"`
	Service      *runtime.RawExtension `json:"service,omitempty"`
	Replicas     *int32                `json:"replicas,omitempty"`
	// Webhook sources, by event name: served on the agent's webhook
	// Service at /events/NAMESPACE/EVENTSOURCE/EVENT.
	Webhook map[string]WebhookEventSource `json:"webhook,omitempty"`
	// Calendar sources, by event name: events on a schedule, fired by the
	// leader.
	Calendar map[string]CalendarEventSource `json:"calendar,omitempty"`
	// Resource sources, by event name: changes of cluster objects,
	// watched by the leader.
	Resource map[string]ResourceEventSource `json:"resource,omitempty"`
}

// ResourceEventSource watches objects of one resource (Argo's).
type ResourceEventSource struct {
	// Namespace to watch; every namespace when empty.
	Namespace string `json:"namespace,omitempty"`
	Group     string `json:"group"`
	Version   string `json:"version"`
	Resource  string `json:"resource"`
	// EventTypes are ADD, UPDATE and DELETE.
	EventTypes []string          `json:"eventTypes"`
	Filter     *ResourceFilter   `json:"filter,omitempty"`
	Metadata   map[string]string `json:"metadata,omitempty"`
}

// ResourceFilter narrows the objects a resource source reports (Argo's).
type ResourceFilter struct {
	// Prefix of the object's name.
	Prefix string `json:"prefix,omitempty"`
	// Labels are label selector requirements (key, operation, value).
	Labels []ResourceSelector `json:"labels,omitempty"`
	// Fields are gjson paths into the object, whose string value must
	// match (==, =) or not match (!=) the regular expression value.
	Fields []ResourceSelector `json:"fields,omitempty"`
	// CreatedBy drops objects created after it.
	CreatedBy metav1.Time `json:"createdBy,omitempty"`
	// AfterStart drops events from before the watch started.
	AfterStart bool `json:"afterStart,omitempty"`
}

// ResourceSelector is one requirement of a resource filter.
type ResourceSelector struct {
	Key       string `json:"key"`
	Operation string `json:"operation,omitempty"`
	Value     string `json:"value"`
}

// CalendarEventSource fires on a cron schedule or an interval (Argo's).
type CalendarEventSource struct {
	// Schedule is a five-field cron expression; Interval a duration such
	// as 10s. One of them.
	Schedule string `json:"schedule,omitempty"`
	Interval string `json:"interval,omitempty"`
	// ExclusionDates are RFC 5545 EXDATE lines
	// (EXDATE:20260101T000000Z,...): no event on those days.
	ExclusionDates []string          `json:"exclusionDates,omitempty"`
	Timezone       string            `json:"timezone,omitempty"`
	Metadata       map[string]string `json:"metadata,omitempty"`
	// Persistence with catchup fires the events missed while no agent
	// ran, from the last fire time the EventSource's status keeps.
	Persistence *EventPersistence `json:"persistence,omitempty"`
}

// EventPersistence is Argo's: argolite keeps the last fire time in the
// EventSource's status (status.events), so configMap is accepted and
// not needed.
type EventPersistence struct {
	Catchup   *CatchupConfiguration `json:"catchup,omitempty"`
	ConfigMap *runtime.RawExtension `json:"configMap,omitempty"`
}

// CatchupConfiguration says whether missed events fire, and how far back.
type CatchupConfiguration struct {
	Enabled     bool   `json:"enabled,omitempty"`
	MaxDuration string `json:"maxDuration,omitempty"`
}

// WebhookEventSource is one webhook event (Argo's).
type WebhookEventSource struct {
	WebhookContext `json:",inline"`
}

// WebhookContext is what a webhook endpoint takes (Argo's fields).
type WebhookContext struct {
	// Endpoint and Port are Argo's listener; the agent keeps the endpoint
	// for the event's metadata and serves every event on its own port.
	Endpoint string `json:"endpoint"`
	// Method is the HTTP method accepted (POST when empty).
	Method string `json:"method,omitempty"`
	Port   string `json:"port,omitempty"`
	URL    string `json:"url,omitempty"`
	// AuthSecret holds the bearer token a caller must send.
	AuthSecret     *corev1.SecretKeySelector `json:"authSecret,omitempty"`
	MaxPayloadSize *int64                    `json:"maxPayloadSize,omitempty"`
	Metadata       map[string]string         `json:"metadata,omitempty"`
}

// EventSourceStatus is what the agent made of an EventSource.
type EventSourceStatus struct {
	ObservedGeneration int64              `json:"observedGeneration,omitempty"`
	Conditions         []metav1.Condition `json:"conditions,omitempty"`
	// Endpoints are the paths the agent serves, by event name.
	Endpoints []EventEndpoint `json:"endpoints,omitempty"`
	// Events is each calendar and resource event's record: how often it
	// fired, when last (the calendar's catch-up starts there), when next.
	Events []SourceEventStatus `json:"events,omitempty"`
}

// SourceEventStatus is one calendar or resource event's record.
type SourceEventStatus struct {
	EventName    string       `json:"eventName"`
	LastFireTime *metav1.Time `json:"lastFireTime,omitempty"`
	// Events is how many it fired; NextFireTime when it fires next.
	Events       int64        `json:"events,omitempty"`
	NextFireTime *metav1.Time `json:"nextFireTime,omitempty"`
	LastError    string       `json:"lastError,omitempty"`
}

// EventEndpoint is where one webhook event is served.
type EventEndpoint struct {
	EventName string `json:"eventName"`
	Method    string `json:"method"`
	Path      string `json:"path"`
	// Events is how many events it took; LastEventTime the newest.
	Events        int64        `json:"events,omitempty"`
	LastEventTime *metav1.Time `json:"lastEventTime,omitempty"`
}

// Sensor fires triggers when the events it depends on arrive.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=sn,categories=argolite
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Sensor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +kubebuilder:validation:Schemaless
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Type=object
	Spec SensorSpec `json:"spec"`
	// +optional
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Type=object
	Status SensorStatus `json:"status,omitempty"`
}

// SensorList is a list of Sensors.
//
// +kubebuilder:object:root=true
type SensorList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Sensor `json:"items"`
}

// SensorSpec is Argo's.
type SensorSpec struct {
	Dependencies []EventDependency `json:"dependencies"`
	Triggers     []Trigger         `json:"triggers"`
	// EventBusName, Template, Replicas and RevisionHistoryLimit configure
	// Argo's bus and Deployment: accepted, no effect.
	EventBusName         string                `json:"eventBusName,omitempty"`
	Template             *runtime.RawExtension `json:"template,omitempty"`
	Replicas             *int32                `json:"replicas,omitempty"`
	RevisionHistoryLimit *int32                `json:"revisionHistoryLimit,omitempty"`
	LoggingFields        map[string]string     `json:"loggingFields,omitempty"`
	// ErrorOnFailedRound: a round whose trigger failed is an error (the
	// webhook sender sees 5xx either way).
	ErrorOnFailedRound bool `json:"errorOnFailedRound,omitempty"`
}

// EventDependency is an event a Sensor waits for.
type EventDependency struct {
	Name            string `json:"name"`
	EventSourceName string `json:"eventSourceName"`
	EventName       string `json:"eventName"`
	// Filters drop the events they do not pass.
	Filters *EventDependencyFilter `json:"filters,omitempty"`
	// FiltersLogicalOperator joins the filter kinds: and (default) or or.
	FiltersLogicalOperator string `json:"filtersLogicalOperator,omitempty"`
}

// EventDependencyFilter is Argo's filter set.
type EventDependencyFilter struct {
	Data                []DataFilter `json:"data,omitempty"`
	Exprs               []ExprFilter `json:"exprs,omitempty"`
	DataLogicalOperator string       `json:"dataLogicalOperator,omitempty"`
	ExprLogicalOperator string       `json:"exprLogicalOperator,omitempty"`
}

// DataFilter compares a value of the event's payload (a gjson path).
type DataFilter struct {
	Path string `json:"path"`
	// Type is string, number, bool or null.
	Type  string   `json:"type"`
	Value []string `json:"value"`
	// Comparator is =, !=, <, <=, >, >= (= when empty).
	Comparator string `json:"comparator,omitempty"`
	// Template, a Go template over the value ({{ .Input }}), runs first.
	Template string `json:"template,omitempty"`
}

// ExprFilter is a boolean expression over fields of the payload.
type ExprFilter struct {
	Expr   string         `json:"expr"`
	Fields []PayloadField `json:"fields"`
}

// PayloadField names a payload path for an expression.
type PayloadField struct {
	Path string `json:"path"`
	Name string `json:"name"`
}

// Trigger is what a Sensor does.
type Trigger struct {
	Template   *TriggerTemplate   `json:"template,omitempty"`
	Parameters []TriggerParameter `json:"parameters,omitempty"`
	// RetryStrategy retries a failed trigger before the round fails.
	RetryStrategy *EventsBackoff `json:"retryStrategy,omitempty"`
	// AtLeastOnce is what argolite always does: an event is acknowledged
	// only after its triggers succeeded. Accepted for Argo's files.
	AtLeastOnce bool `json:"atLeastOnce,omitempty"`
}

// TriggerTemplate is one trigger: a name, the conditions over the
// dependencies, and what it does.
type TriggerTemplate struct {
	Name string `json:"name"`
	// Conditions is a boolean expression over dependency names
	// ("(a && b) || c"); all dependencies when empty.
	Conditions string              `json:"conditions,omitempty"`
	K8s        *StandardK8STrigger `json:"k8s,omitempty"`
	Log        *LogTrigger         `json:"log,omitempty"`
}

// LogTrigger logs the events of a round.
type LogTrigger struct {
	IntervalSeconds uint64 `json:"intervalSeconds,omitempty"`
}

// StandardK8STrigger creates, updates, patches or deletes an object.
type StandardK8STrigger struct {
	Source *TriggerSource `json:"source,omitempty"`
	// Operation is create (default), update, patch or delete.
	Operation  string             `json:"operation,omitempty"`
	Parameters []TriggerParameter `json:"parameters,omitempty"`
	// PatchStrategy is the patch type for patch (merge by default).
	PatchStrategy string `json:"patchStrategy,omitempty"`
	LiveObject    bool   `json:"liveObject,omitempty"`
}

// TriggerSource is where a trigger's object comes from (Argo's
// ArtifactLocation).
type TriggerSource struct {
	Inline    *string                      `json:"inline,omitempty"`
	Configmap *corev1.ConfigMapKeySelector `json:"configmap,omitempty"`
	// Resource is the object itself.
	Resource *runtime.RawExtension `json:"resource,omitempty"`
}

// TriggerParameter sets dest in the trigger's object (or its template)
// from src.
type TriggerParameter struct {
	Src  *TriggerParameterSource `json:"src,omitempty"`
	Dest string                  `json:"dest"`
	// Operation is overwrite (default), append or prepend.
	Operation string `json:"operation,omitempty"`
}

// TriggerParameterSource is a value from a dependency's event.
type TriggerParameterSource struct {
	DependencyName  string  `json:"dependencyName"`
	ContextKey      string  `json:"contextKey,omitempty"`
	ContextTemplate string  `json:"contextTemplate,omitempty"`
	DataKey         string  `json:"dataKey,omitempty"`
	DataTemplate    string  `json:"dataTemplate,omitempty"`
	Value           *string `json:"value,omitempty"`
	UseRawData      bool    `json:"useRawData,omitempty"`
}

// EventsBackoff is Argo Events' Backoff.
type EventsBackoff struct {
	// Duration is the first wait (a number of seconds or 10s, 1m).
	Duration *intstr.IntOrString `json:"duration,omitempty"`
	Factor   *Amount             `json:"factor,omitempty"`
	Jitter   *Amount             `json:"jitter,omitempty"`
	Steps    int32               `json:"steps,omitempty"`
}

// SensorStatus is what the agent made of a Sensor.
type SensorStatus struct {
	ObservedGeneration int64              `json:"observedGeneration,omitempty"`
	Conditions         []metav1.Condition `json:"conditions,omitempty"`
	// Triggers says per trigger how often it fired and its last error.
	Triggers []TriggerStatus `json:"triggers,omitempty"`
}

// TriggerStatus is one trigger's record.
type TriggerStatus struct {
	Name          string       `json:"name"`
	Fired         int64        `json:"fired"`
	Failed        int64        `json:"failed,omitempty"`
	LastFiredTime *metav1.Time `json:"lastFiredTime,omitempty"`
	LastError     string       `json:"lastError,omitempty"`
}
