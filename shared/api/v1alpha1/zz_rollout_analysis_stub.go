package v1alpha1

// Stand-ins until analysis_types.go (branch analysis) is merged.

type AnalysisTemplateRef struct {
	TemplateName string `json:"templateName"`
	ClusterScope *bool  `json:"clusterScope,omitempty"`
}

type AnalysisRunArgument struct {
	Name      string             `json:"name"`
	Value     string             `json:"value,omitempty"`
	ValueFrom *ArgumentValueFrom `json:"valueFrom,omitempty"`
}

type ArgumentValueFrom struct {
	PodTemplateHashValue *string  `json:"podTemplateHashValue,omitempty"`
	FieldRef             *FieldRef `json:"fieldRef,omitempty"`
}

type FieldRef struct {
	FieldPath string `json:"fieldPath"`
}

type DryRun struct {
	MetricName string `json:"metricName"`
}

type MeasurementRetention struct {
	MetricName string `json:"metricName"`
	Limit      int32  `json:"limit"`
}

type AnalysisPhase string
