package wfvalidate

import (
	"strings"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
	"github.com/argolite/argolite/shared/expr"
)

// data checks a data template before anything runs: the agent lists the
// source and evaluates the transformations itself, so a missing source or
// an expression that does not compile would otherwise fail only the step.
func (v *validator) data(path string, t *argov1.Template) {
	src := t.Data.Source.ArtifactPaths
	if src == nil {
		v.add(join(path, "source.artifactPaths"), "required: template %s lists the keys under an artifact location: give artifactPaths an s3 location (a bucket, and a key prefix)", t.Name)
	} else if src.S3 == nil {
		v.add(join(path, "source.artifactPaths"), "template %s: only s3 locations can be listed: give artifactPaths an s3 location (bucket and key default to the artifact repository's)", t.Name)
	}
	for i, s := range t.Data.Transformation {
		p := join(index(join(path, "transformation"), i), "expression")
		if strings.TrimSpace(s.Expression) == "" {
			v.add(p, "required: template %s: give an expr-lang expression over data, such as filter(data, {# endsWith \"main.log\"})", t.Name)
			continue
		}
		if err := expr.CheckTransformation(s.Expression); err != nil {
			v.add(p, "template %s: %v: fix the expr-lang expression (data is the previous step's list)", t.Name, err)
		}
	}
}
