package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// GroupVersion is the API group and version of every argolite kind.
var GroupVersion = schema.GroupVersion{Group: "argolite.dev", Version: "v1alpha1"}

var (
	// SchemeBuilder registers the argolite kinds with a runtime.Scheme.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)
	// AddToScheme adds the argolite kinds to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

// knownTypes grows as each kind arrives: every *_types.go file appends its
// kind and list in an init function.
var knownTypes []runtime.Object

func addKnownTypes(scheme *runtime.Scheme) error {
	scheme.AddKnownTypes(GroupVersion, knownTypes...)
	metav1.AddToGroupVersion(scheme, GroupVersion)
	return nil
}
