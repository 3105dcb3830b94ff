// Package v1alpha1 holds the argolite.dev/v1alpha1 API: the kinds the agent
// reconciles and the plugin creates. Field names follow Argo's v1alpha1 kinds
// wherever argolite supports the feature. This package imports only
// apimachinery, so any client can use it.
//
// +kubebuilder:object:generate=true
// +groupName=argolite.dev
package v1alpha1
