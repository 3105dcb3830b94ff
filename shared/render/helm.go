package render

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/strvals"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/argolite/argolite/shared/api/v1alpha1"
)

// renderHelm renders the chart in dir as `helm template --include-crds`
// does, without a cluster: dependencies must be vendored under charts/, and
// `lookup` returns nothing.
func renderHelm(ctx context.Context, r *repo, rel, dir string, in Input) ([]*unstructured.Unstructured, error) {
	spec := in.Source.Helm
	if spec == nil {
		spec = &v1alpha1.ApplicationSourceHelm{}
	}
	chartFile := path.Join(rel, "Chart.yaml")

	// The chart loader follows symlinks; refuse any that leave the repository.
	if err := checkSymlinks(r, rel, dir); err != nil {
		return nil, err
	}
	chrt, err := loader.Load(dir)
	if err != nil {
		return nil, &Error{File: chartFile, Err: fmt.Errorf("load chart: %w", r.relative(err))}
	}
	if err := checkDependencies(chrt); err != nil {
		return nil, &Error{File: chartFile, Err: err, Fix: "vendor the chart's dependencies (helm dependency build) and commit charts/ to Git"}
	}

	release := spec.ReleaseName
	if release == "" {
		release = in.AppName
	}
	if err := chartutil.ValidateReleaseName(release); err != nil {
		return nil, specError("helm release name %q: %w", release, err)
	}

	vals, err := helmValues(r, dir, in.Refs, spec)
	if err != nil {
		return nil, err
	}
	// Drops dependencies whose condition or tags are false, as helm install does.
	if err := chartutil.ProcessDependenciesWithMerge(chrt, vals); err != nil {
		return nil, &Error{File: chartFile, Err: fmt.Errorf("chart dependencies: %w", err)}
	}

	caps := chartutil.DefaultCapabilities.Copy()
	if in.KubeVersion != "" {
		kv, err := chartutil.ParseKubeVersion(in.KubeVersion)
		if err != nil {
			return nil, fmt.Errorf("render: Kubernetes version %q: %w", in.KubeVersion, err)
		}
		caps.KubeVersion = *kv
	}
	caps.APIVersions = append(append(chartutil.VersionSet(nil), caps.APIVersions...), in.APIVersions...)
	if kv := chrt.Metadata.KubeVersion; kv != "" && !chartutil.IsCompatibleRange(kv, caps.KubeVersion.String()) {
		return nil, &Error{File: chartFile, Err: fmt.Errorf("chart requires kubeVersion %s, which Kubernetes %s does not satisfy", kv, caps.KubeVersion.String()),
			Fix: "use a chart version that supports this cluster"}
	}
	top, err := chartutil.ToRenderValues(chrt, vals, chartutil.ReleaseOptions{
		Name:      release,
		Namespace: in.Namespace,
		Revision:  1,
		IsInstall: true,
	}, caps)
	if err != nil {
		return nil, &Error{File: rel, Err: err, Fix: "fix the chart's values or values.schema.json"}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	files, err := engine.Engine{}.Render(chrt, top)
	if err != nil {
		return nil, &Error{File: templateFile(rel, err), Err: err, Fix: "fix the template or the values it reads"}
	}

	var objs []*unstructured.Unstructured
	if !spec.SkipCrds {
		for _, crd := range chrt.CRDObjects() {
			file := chartPath(rel, crd.Filename)
			got, err := decodeManifests(file, crd.File.Data, strings.EqualFold(path.Ext(crd.Name), ".json"))
			if err != nil {
				return nil, err
			}
			objs = append(objs, got...)
		}
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		base := path.Base(name)
		if base == "NOTES.txt" || strings.HasPrefix(base, "_") || strings.TrimSpace(files[name]) == "" {
			continue
		}
		file := chartPath(rel, name)
		got, err := decodeManifests(file, []byte(files[name]), false)
		if err != nil {
			var rerr *Error
			if errors.As(err, &rerr) {
				rerr.Err = fmt.Errorf("rendered output: %w", rerr.Err)
				rerr.Fix = "fix the template so that it renders Kubernetes objects as YAML"
			}
			return nil, err
		}
		objs = append(objs, got...)
	}
	return objs, nil
}

// checkDependencies fails when Chart.yaml lists a dependency that charts/
// does not hold, as `helm template` does.
func checkDependencies(c *chart.Chart) error {
	var missing []string
	for _, dep := range c.Metadata.Dependencies {
		found := false
		for _, sub := range c.Dependencies() {
			if sub.Name() == dep.Name {
				found = true
				break
			}
		}
		if !found {
			missing = append(missing, dep.Name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("dependencies listed in Chart.yaml are missing from charts/: %s", strings.Join(missing, ", "))
	}
	return nil
}

// chartPath maps a Helm file name ("<chart>/templates/x.yaml" or
// "<chart>/charts/<sub>/templates/x.yaml") to its path in the repository.
func chartPath(rel, name string) string {
	name = filepath.ToSlash(name)
	if _, rest, ok := strings.Cut(name, "/"); ok {
		return path.Join(rel, rest)
	}
	return path.Join(rel, name)
}

// helmFileRef finds the template Helm's error message names, such as
// "<chart>/templates/x.yaml:12:3" in "execution error at (...)".
var helmFileRef = regexp.MustCompile(`([^\s():"'<>]+/[^\s():"'<>]+):\d+`)

// templateFile names the template an engine error is about, or the chart
// directory when the message names none.
func templateFile(rel string, err error) string {
	m := helmFileRef.FindStringSubmatch(err.Error())
	if m == nil {
		return rel
	}
	return chartPath(rel, m[1])
}

// helmValues merges the user-supplied values in Helm's (and Argo CD's)
// order: valueFiles in order, then values or valuesObject (valuesObject
// replaces values when both are set, as in Argo CD), then parameters as
// --set and --set-string. The chart's own values.yaml is merged under these
// later by chartutil.
func helmValues(r *repo, dir string, refs map[string]string, spec *v1alpha1.ApplicationSourceHelm) (map[string]any, error) {
	vals := map[string]any{}
	for i, vf := range spec.ValueFiles {
		p, shown, err := valueFilePath(r, dir, refs, i, vf)
		if err != nil {
			return nil, err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, &Error{File: shown, Err: fmt.Errorf("value file: %w", err)}
		}
		m := map[string]any{}
		if err := yaml.Unmarshal(data, &m); err != nil {
			return nil, &Error{File: shown, Err: fmt.Errorf("value file: %w", yamlError(err, 0))}
		}
		vals = mergeValues(vals, m)
	}

	var inline map[string]any
	switch {
	case spec.ValuesObject != nil && len(spec.ValuesObject.Raw) > 0:
		if err := yaml.Unmarshal(spec.ValuesObject.Raw, &inline); err != nil {
			return nil, specError("helm.valuesObject: %w", err)
		}
	case strings.TrimSpace(spec.Values) != "":
		if err := yaml.Unmarshal([]byte(spec.Values), &inline); err != nil {
			return nil, specError("helm.values: %w", yamlError(err, 0))
		}
	}
	vals = mergeValues(vals, inline)

	for i, p := range spec.Parameters {
		if p.Name == "" {
			return nil, specError("helm.parameters[%d] has no name", i)
		}
		set := p.Name + "=" + escapeSetValue(p.Value)
		parse := strvals.ParseInto
		if p.ForceString {
			parse = strvals.ParseIntoString
		}
		if err := parse(set, vals); err != nil {
			return nil, specError("helm.parameters[%d] %s: %w", i, p.Name, err)
		}
	}
	return vals, nil
}

// escapeSetValue escapes commas so that a parameter value is one value, not
// a list of assignments, unless it is a {a,b} list, as Argo CD does.
func escapeSetValue(v string) string {
	if strings.HasPrefix(v, "{") && strings.HasSuffix(v, "}") {
		return v
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] == ',' && (i == 0 || v[i-1] != '\\') {
			b.WriteByte('\\')
		}
		b.WriteByte(v[i])
	}
	return b.String()
}

// valueFilePath resolves one valueFiles entry: "$ref/path" in the checkout
// of the source named ref, an absolute path from the repository root, else a
// path relative to the chart. The file must stay inside its repository. It
// returns the real path and the name to show in messages.
func valueFilePath(r *repo, dir string, refs map[string]string, i int, vf string) (string, string, error) {
	if strings.Contains(vf, "://") {
		return "", "", specError("helm.valueFiles[%d] %q: remote value files are not supported; commit the file or read it from another source with $ref", i, vf)
	}
	base, p, shown := r, "", vf
	if strings.HasPrefix(vf, "$") {
		name, rest, _ := strings.Cut(vf[1:], "/")
		root, ok := refs[name]
		if !ok {
			return "", "", specError("helm.valueFiles[%d] %q: no source has ref %q", i, vf, name)
		}
		refRepo, err := newRepo(root)
		if err != nil {
			return "", "", err
		}
		base, p = refRepo, filepath.Join(refRepo.root, filepath.FromSlash(rest))
	} else if path.IsAbs(filepath.ToSlash(vf)) {
		p = filepath.Join(r.root, filepath.FromSlash(vf))
		shown = strings.TrimPrefix(path.Clean(filepath.ToSlash(vf)), "/")
	} else {
		p = filepath.Join(dir, filepath.FromSlash(vf))
		shown = r.rel(p)
	}
	if !within(base.root, p) && !within(base.real, p) {
		return "", "", specError("helm.valueFiles[%d] %q leaves its repository", i, vf)
	}
	real, err := base.resolve(p)
	switch {
	case errors.Is(err, errOutside):
		return "", "", &Error{File: shown, Err: fmt.Errorf("value file %w", errOutside), Fix: "make the symlink point inside the repository"}
	case errors.Is(err, fs.ErrNotExist):
		return "", "", &Error{File: shown, Err: errors.New("value file not found"), Fix: "commit the file or fix spec.source.helm.valueFiles"}
	case err != nil:
		return "", "", &Error{File: shown, Err: fmt.Errorf("value file: %w", err)}
	}
	return real, shown, nil
}

// mergeValues merges b over a as `helm -f a -f b` does: maps merge key by
// key, anything else in b replaces what a has.
func mergeValues(a, b map[string]any) map[string]any {
	out := make(map[string]any, len(a)+len(b))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		if bm, ok := v.(map[string]any); ok {
			if am, ok := out[k].(map[string]any); ok {
				out[k] = mergeValues(am, bm)
				continue
			}
		}
		out[k] = v
	}
	return out
}

// checkSymlinks fails when a symlink under dir (or under a directory a
// symlink leads to) resolves outside the repository or nowhere.
func checkSymlinks(r *repo, rel, dir string) error {
	visited := map[string]bool{}
	var walk func(d, shown string) error
	walk = func(d, shown string) error {
		if visited[d] {
			return nil
		}
		visited[d] = true
		return filepath.WalkDir(d, func(p string, de fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if de.Type()&fs.ModeSymlink == 0 {
				return nil
			}
			sub, err := filepath.Rel(d, p)
			if err != nil {
				return err
			}
			name := path.Join(shown, filepath.ToSlash(sub))
			real, err := r.resolve(p)
			if errors.Is(err, errOutside) {
				return &Error{File: name, Err: fmt.Errorf("symlink %w", errOutside), Fix: "make the symlink point inside the repository"}
			}
			if err != nil {
				return &Error{File: name, Err: fmt.Errorf("symlink: %w", err), Fix: "fix or remove the symlink in Git"}
			}
			if info, err := os.Stat(real); err == nil && info.IsDir() {
				// The chart loader follows directory symlinks without loop
				// detection: a link to its own ancestor would recurse until
				// paths grow too long.
				if parent, err := filepath.EvalSymlinks(filepath.Dir(p)); err == nil && within(real, parent) {
					return &Error{File: name, Err: errors.New("symlink points at a directory that contains it, a loop"), Fix: "remove the symlink from Git"}
				}
				return walk(real, name)
			}
			return nil
		})
	}
	return walk(dir, rel)
}
