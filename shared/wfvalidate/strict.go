package wfvalidate

import (
	"reflect"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
	"github.com/argolite/argolite/shared/strict"
)

// Strict checks raw, an object as decoded from JSON (maps, lists and
// scalars, such as the content of an unstructured object), against the Go
// type of into (a pointer or a value: *argov1.Workflow, argov1.Template,
// ...), and returns one Error per field the type does not have, with its
// full path, and per value of the wrong kind (a list where an object
// belongs, a number where a string belongs). Paths start at raw: prefix them
// yourself when raw is a part of an object.
//
// Fields Argo Workflows has and argolite does not support say so ("not
// supported by argolite"); other unknown fields get a "did you mean" when a
// known field is close. Values of the types that decode themselves
// (intstr.IntOrString, resource.Quantity, metav1.Time, json.RawMessage,
// argov1.Item, argov1.AnyString, argov1.Amount) are not looked into;
// argov1.ParallelSteps is a list of steps, as in Argo.
func Strict(raw map[string]any, into any) Errors {
	var l errorList
	for _, f := range checker.Check(raw, into) {
		l.add(f.Path, "%s", f.Reason)
	}
	return l.errs
}

var (
	parallelStepsT = reflect.TypeOf(argov1.ParallelSteps{})
	workflowStepT  = reflect.TypeOf(argov1.WorkflowStep{})
	anyStringT     = reflect.TypeOf(argov1.AnyString(""))
	intOrStringT   = reflect.TypeOf(intstr.IntOrString{})
	quantityT      = reflect.TypeOf(resource.Quantity{})
	timeT          = reflect.TypeOf(metav1.Time{})
	microTimeT     = reflect.TypeOf(metav1.MicroTime{})
	amountT        = reflect.TypeOf(argov1.Amount{})
	itemT          = reflect.TypeOf(argov1.Item{})
)

// Path and name helpers, shared with the strict checker.
var (
	join    = strict.Join
	key     = strict.Key
	index   = strict.Index
	kindOf  = strict.KindOf
	suggest = strict.Suggest
)

// checker is the strict checker of the workflow kinds: the generic walk of
// package strict with the Argo Workflows fields argolite does not support
// and the workflow types that check themselves.
var checker = &strict.Checker{
	Unsupported: unsupportedFields,
	Custom: map[reflect.Type]strict.Custom{
		parallelStepsT: func(w *strict.Walker, raw any, path string) {
			list, ok := raw.([]any)
			if !ok {
				w.Add(path, "expected a list of steps that run in parallel (`- - name: ...`), got %s", kindOf(raw))
				return
			}
			for i, s := range list {
				w.Walk(s, workflowStepT, index(path, i))
			}
		},
		anyStringT: func(w *strict.Walker, raw any, path string) {
			switch raw.(type) {
			case map[string]any, []any:
				w.Add(path, "expected a string, a number or a boolean, got %s: quote it to pass it as text", kindOf(raw))
			}
		},
		amountT: func(w *strict.Walker, raw any, path string) {
			if !strict.IsNumber(raw) {
				w.Add(path, "expected a number, got %s", kindOf(raw))
			}
		},
		itemT: func(*strict.Walker, any, string) {},
	},
}

const (
	hintArtifactStore = "argolite keeps artifacts in S3-compatible stores only: use s3 (or a key resolved against the artifact repository), http or raw"
	hintS3Auth        = "argolite authenticates to S3 with accessKeySecret and secretKeySecret (or useSDKCreds)"
	hintDatabaseLock  = "argolite keeps mutexes and semaphores in the cluster (ConfigMaps): drop database"
)

// unsupportedFields are the fields Argo Workflows has on the types argolite
// mirrors and argolite does not support, with what to do instead.
var unsupportedFields = map[reflect.Type]map[string]string{
	reflect.TypeOf(argov1.WorkflowSpec{}): {
		"artifactGC":      "artifact garbage collection is not implemented: delete artifacts with a step of the workflow's exit handler",
		"executor":        "the executor is argolite's own step wrapper: remove executor (a service account goes in serviceAccountName)",
		"executorPlugins": "executor plugins are not supported: use container or script templates",
		"resourceClaims":  "dynamic resource claims are not supported: request devices through the step Pod's resources (podSpecPatch)",
	},
	reflect.TypeOf(argov1.Template{}): {
		"resourceClaims": "dynamic resource claims are not supported: request devices through the step Pod's resources (podSpecPatch)",
		"http":           "HTTP templates need Argo's agent Pod: use a container or script template that runs curl or wget",
		"plugin":         "executor plugins are not supported: use a container or script template",
		"executor":       "the executor is argolite's own step wrapper: remove executor (a service account goes in serviceAccountName)",
		"annotations":    "template annotations are not supported: use metadata.annotations for the step Pod's annotations",
	},
	reflect.TypeOf(argov1.Artifact{}): {
		"artifactGC":  "artifact garbage collection is not implemented: remove artifactGC",
		"git":         hintArtifactStore,
		"artifactory": hintArtifactStore,
		"hdfs":        hintArtifactStore,
		"oss":         hintArtifactStore,
		"gcs":         hintArtifactStore,
		"azure":       hintArtifactStore,
	},
	reflect.TypeOf(argov1.ArtifactLocation{}): {
		"git": hintArtifactStore, "artifactory": hintArtifactStore, "hdfs": hintArtifactStore,
		"oss": hintArtifactStore, "gcs": hintArtifactStore, "azure": hintArtifactStore,
	},
	reflect.TypeOf(argov1.ArtifactRepository{}): {
		"artifactory": hintArtifactStore, "hdfs": hintArtifactStore, "oss": hintArtifactStore,
		"gcs": hintArtifactStore, "azure": hintArtifactStore, "plugin": hintArtifactStore,
	},
	reflect.TypeOf(argov1.ArchiveStrategy{}): {
		"zip": "artifacts are archived with tar (gzip) or not at all: use tar or none",
	},
	reflect.TypeOf(argov1.HTTPArtifact{}): {
		"auth": "HTTP artifacts take no auth block: pass credentials in headers",
	},
	reflect.TypeOf(argov1.S3Artifact{}): {
		"caSecret": hintS3Auth, "encryptionOptions": "S3 server-side encryption options are not supported: configure encryption on the bucket",
		"roleARN": hintS3Auth, "sessionTokenSecret": hintS3Auth,
	},
	reflect.TypeOf(argov1.S3ArtifactRepository{}): {
		"caSecret": hintS3Auth, "encryptionOptions": "S3 server-side encryption options are not supported: configure encryption on the bucket",
		"roleARN": hintS3Auth, "sessionTokenSecret": hintS3Auth,
	},
	reflect.TypeOf(argov1.Mutex{}):        {"database": hintDatabaseLock},
	reflect.TypeOf(argov1.SemaphoreRef{}): {"database": hintDatabaseLock},
}
