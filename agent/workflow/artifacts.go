package workflow

import (
	"fmt"
	"net"
	"path"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/argolite/argolite/agent/exec"
	"github.com/argolite/argolite/shared/agentmeta"
	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
	"github.com/argolite/argolite/shared/expr"
)

// Artifact repositories, as Argo finds them: spec.artifactRepositoryRef
// names a ConfigMap (default artifact-repositories) and key in the workflow's
// namespace; without a ref, that ConfigMap's default key (its
// workflows.argoproj.io/default-artifact-repository annotation); else the
// artifactRepository key of the agent's argolite-config.
const (
	// RepositoriesConfigMap is the ConfigMap an artifactRepositoryRef names by default.
	RepositoriesConfigMap = "artifact-repositories"
	// AnnotationDefaultRepository names a repositories ConfigMap's default key.
	AnnotationDefaultRepository = "workflows.argoproj.io/default-artifact-repository"
	// defaultKeyFormat is where a step's outputs go in the repository.
	defaultKeyFormat = "{{workflow.name}}/{{pod.name}}"
)

// resolveRepository finds the workflow's artifact repository once and
// records it in status.artifactRepositoryRef. A workflow without one can
// still run; only steps that store artifacts then fail, saying why.
func (o *operation) resolveRepository() error {
	st := &o.wf.Status
	if st.ArtifactRepositoryRef != nil {
		return nil
	}
	ref := o.spec.ArtifactRepositoryRef
	cmName, key := RepositoriesConfigMap, ""
	if ref != nil {
		cmName = firstNonEmpty(ref.ConfigMap, RepositoriesConfigMap)
		key = ref.Key
	}
	cm := &corev1.ConfigMap{}
	err := o.r.APIReader.Get(o.ctx, client.ObjectKey{Namespace: o.wf.Namespace, Name: cmName}, cm)
	switch {
	case err == nil:
		if key == "" {
			key = cm.Annotations[AnnotationDefaultRepository]
		}
		if key == "" {
			if ref != nil {
				return specError("spec.artifactRepositoryRef: ConfigMap %s/%s has no %s annotation: name the key", o.wf.Namespace, cmName, AnnotationDefaultRepository)
			}
			break
		}
		raw, ok := cm.Data[key]
		if !ok {
			return specError("spec.artifactRepositoryRef: ConfigMap %s/%s has no key %q", o.wf.Namespace, cmName, key)
		}
		repo := &argov1.ArtifactRepository{}
		if err := yaml.UnmarshalStrict([]byte(raw), repo); err != nil {
			return specError("artifact repository %s/%s key %s: %v", o.wf.Namespace, cmName, key, err)
		}
		st.ArtifactRepositoryRef = &argov1.ArtifactRepositoryRefStatus{
			ArtifactRepositoryRef: argov1.ArtifactRepositoryRef{ConfigMap: cmName, Key: key},
			Namespace:             o.wf.Namespace, ArtifactRepository: repo,
		}
		return nil
	case apierrors.IsNotFound(err):
		if ref != nil {
			return specError("spec.artifactRepositoryRef: ConfigMap %s/%s not found", o.wf.Namespace, cmName)
		}
	default:
		return fmt.Errorf("reading ConfigMap %s/%s: %w", o.wf.Namespace, cmName, err)
	}
	cfg := o.r.config(o.ctx)
	repo, err := cfg.repo.DeepCopy(), cfg.repoErr
	if err != nil {
		return err
	}
	st.ArtifactRepositoryRef = &argov1.ArtifactRepositoryRefStatus{Default: true, ArtifactRepository: repo}
	return nil
}

// repository is the resolved repository, or nil.
func (o *operation) repository() *argov1.ArtifactRepository {
	if r := o.wf.Status.ArtifactRepositoryRef; r != nil {
		return r.ArtifactRepository
	}
	return nil
}

// credentials turns the Secret references of S3 locations into environment
// variables of the step's containers.
type credentials struct {
	env  []corev1.EnvVar
	seen map[string]string
}

func (c *credentials) envFor(sel *corev1.SecretKeySelector) string {
	if sel == nil || sel.Name == "" {
		return ""
	}
	id := sel.Name + "/" + sel.Key
	if name, ok := c.seen[id]; ok {
		return name
	}
	if c.seen == nil {
		c.seen = map[string]string{}
	}
	name := fmt.Sprintf("ARGOLITE_SECRET_%d", len(c.seen))
	c.seen[id] = name
	c.env = append(c.env, corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: sel.DeepCopy()}})
	return name
}

// s3Location fills an S3 artifact's bucket from the repository when the
// artifact gives only a key.
func (o *operation) fullS3(a *argov1.S3Artifact) (*argov1.S3Artifact, error) {
	out := a.DeepCopy()
	if out.Bucket != "" && out.Endpoint != "" {
		return out, nil
	}
	repo := o.repository()
	if repo == nil || repo.S3 == nil {
		return nil, specError("artifact key %q needs an S3 artifact repository: create the %s ConfigMap (see docs/workflows.md) or give bucket and endpoint", a.Key, RepositoriesConfigMap)
	}
	b := repo.S3.S3Bucket
	if out.Bucket == "" {
		out.Bucket = b.Bucket
	}
	if out.Endpoint == "" {
		out.Endpoint = b.Endpoint
	}
	if out.Region == "" {
		out.Region = b.Region
	}
	if out.Insecure == nil {
		out.Insecure = b.Insecure
	}
	if out.AccessKeySecret == nil {
		out.AccessKeySecret = b.AccessKeySecret
	}
	if out.SecretKeySecret == nil {
		out.SecretKeySecret = b.SecretKeySecret
	}
	if out.CreateBucketIfNotPresent == nil {
		out.CreateBucketIfNotPresent = b.CreateBucketIfNotPresent
	}
	return out, nil
}

// execLocation is what the wrapper needs to reach an artifact.
func (o *operation) execLocation(l argov1.ArtifactLocation, name string, creds *credentials) (exec.Location, error) {
	switch {
	case l.Raw != nil:
		data := l.Raw.Data
		return exec.Location{Raw: &data}, nil
	case l.HTTP != nil:
		h := map[string]string{}
		for _, x := range l.HTTP.Headers {
			h[x.Name] = x.Value
		}
		return exec.Location{HTTP: &exec.HTTPLocation{URL: l.HTTP.URL, Headers: h}}, nil
	case l.S3 != nil:
		s3, err := o.fullS3(l.S3)
		if err != nil {
			return exec.Location{}, err
		}
		return exec.Location{S3: &exec.S3Location{
			Endpoint: s3.Endpoint, Bucket: s3.Bucket, Region: s3.Region, Insecure: s3.Insecure != nil && *s3.Insecure, Key: s3.Key,
			AccessKeyEnv: creds.envFor(s3.AccessKeySecret), SecretKeyEnv: creds.envFor(s3.SecretKeySecret),
			CreateBucket: s3.CreateBucketIfNotPresent != nil,
		}}, nil
	case l.Plugin != nil:
		s3, err := o.pluginS3(l.Plugin)
		if err != nil {
			return exec.Location{}, err
		}
		return o.execLocation(argov1.ArtifactLocation{S3: s3}, name, creds)
	}
	return exec.Location{}, specError("artifact %s has no location: give s3, http, raw or a plugin, or pass it with from", name)
}

// pluginS3 reads a plugin artifact whose driver is configured as S3 in the
// argolite-config ConfigMap (artifactDrivers: [{name, type: s3}]): its
// configuration holds the bucket settings.
func (o *operation) pluginS3(p *argov1.PluginArtifact) (*argov1.S3Artifact, error) {
	drivers := o.r.config(o.ctx).drivers
	d, ok := drivers[p.Name]
	if !ok {
		return nil, specError("artifact plugin %q is not configured: add it under artifactDrivers in the %s ConfigMap (type s3)", p.Name, agentmeta.ConfigMapName)
	}
	if d.Type != "s3" {
		return nil, specError("artifact plugin %q has driver type %q: argolite drives plugin artifacts of type s3", p.Name, d.Type)
	}
	var b argov1.S3Bucket
	if err := yaml.UnmarshalStrict([]byte(p.Configuration), &b); err != nil {
		return nil, specError("artifact plugin %q: configuration: %v", p.Name, err)
	}
	return &argov1.S3Artifact{S3Bucket: b, Key: p.Key}, nil
}

// outputKey is where an output artifact is stored when it names no key:
// the repository's key format for the step, then the artifact's file name.
func (o *operation) outputKey(a *argov1.Artifact, pod string) (string, error) {
	format := defaultKeyFormat
	if repo := o.repository(); repo != nil && repo.S3 != nil {
		if repo.S3.KeyFormat != "" {
			format = repo.S3.KeyFormat
		} else if repo.S3.KeyPrefix != "" {
			format = repo.S3.KeyPrefix + "/" + defaultKeyFormat
		}
	}
	vars := o.mergedVars(map[string]string{"pod.name": pod})
	prefix, err := expr.Replace(format, vars, expr.Options{AllowUnresolved: true})
	if err != nil {
		return "", specError("artifact repository keyFormat %q: %v", format, err)
	}
	file := a.Name + ".tgz"
	if a.Archive != nil && a.Archive.None != nil {
		file = path.Base(a.Path)
	}
	return path.Join(prefix, file), nil
}

// outputLocation is where an output artifact goes.
func (o *operation) outputLocation(a *argov1.Artifact, pod string) (argov1.ArtifactLocation, error) {
	l := *a.ArtifactLocation.DeepCopy()
	l.ArchiveLogs = nil
	switch {
	case l.S3 != nil:
		s3, err := o.fullS3(l.S3)
		if err != nil {
			return l, err
		}
		if s3.Key == "" {
			if s3.Key, err = o.outputKey(a, pod); err != nil {
				return l, err
			}
		}
		l.S3 = s3
	case l.Plugin != nil, l.HTTP != nil:
	default:
		repo := o.repository()
		if repo == nil || repo.S3 == nil {
			return l, specError("output artifact %s needs an artifact repository: create the %s ConfigMap in namespace %s (see docs/workflows.md), or give the artifact an s3 location",
				a.Name, RepositoriesConfigMap, o.wf.Namespace)
		}
		key, err := o.outputKey(a, pod)
		if err != nil {
			return l, err
		}
		s3, err := o.fullS3(&argov1.S3Artifact{Key: key})
		if err != nil {
			return l, err
		}
		l.S3 = s3
	}
	return l, nil
}

// artifactSpec tells the wrapper which artifacts to fetch and store, and
// gives the containers the credentials that needs.
func (o *operation) artifactSpec(t *argov1.Template, es *exec.Spec, pod *corev1.Pod) ([]corev1.EnvVar, error) {
	creds := &credentials{}
	for _, a := range t.Inputs.Artifacts {
		if !hasLocation(&a) {
			if a.Optional {
				continue
			}
			return nil, specError("template %s: input artifact %s has no location", t.Name, a.Name)
		}
		if a.Optional && a.S3 == nil && a.Raw == nil && a.HTTP == nil && a.Plugin == nil {
			continue
		}
		loc, err := o.execLocation(a.ArtifactLocation, a.Name, creds)
		if err != nil {
			return nil, fmt.Errorf("template %s: input artifact %s: %w", t.Name, a.Name, err)
		}
		es.Inputs = append(es.Inputs, exec.InputArtifact{Name: a.Name, Path: a.Path, Mode: a.Mode, Optional: a.Optional, SubPath: a.SubPath, Location: loc})
	}
	for _, a := range t.Outputs.Artifacts {
		if a.Path == "" {
			return nil, specError("template %s: output artifact %s has no path", t.Name, a.Name)
		}
		l, err := o.outputLocation(&a, pod.Name)
		if err != nil {
			return nil, fmt.Errorf("template %s: %w", t.Name, err)
		}
		loc, err := o.execLocation(l, a.Name, creds)
		if err != nil {
			return nil, fmt.Errorf("template %s: output artifact %s: %w", t.Name, a.Name, err)
		}
		oa := exec.OutputArtifact{Name: a.Name, Path: a.Path, Optional: a.Optional, Archive: "tar", Location: loc}
		if a.Archive != nil && a.Archive.None != nil {
			oa.Archive = "none"
		}
		if a.Archive != nil && a.Archive.Tar != nil && a.Archive.Tar.CompressionLevel != nil {
			lvl := int(*a.Archive.Tar.CompressionLevel)
			oa.CompressionLevel = &lvl
		}
		es.Outputs.Artifacts = append(es.Outputs.Artifacts, oa)
	}
	if repo := o.repository(); repo != nil && repo.S3 != nil {
		if o.archiveLogs(t, repo) {
			l, err := o.outputLocation(&argov1.Artifact{Name: "main-logs", Path: "main.log", Archive: &argov1.ArchiveStrategy{None: &argov1.NoneStrategy{}}}, pod.Name)
			if err == nil {
				loc, err := o.execLocation(l, "main-logs", creds)
				if err == nil {
					es.Logs = &loc
				}
			}
		}
		off, err := o.outputLocation(&argov1.Artifact{Name: "outputs", Path: "outputs.json", Archive: &argov1.ArchiveStrategy{None: &argov1.NoneStrategy{}}}, pod.Name)
		if err == nil {
			if loc, err := o.execLocation(off, "outputs", creds); err == nil {
				es.Offload = &loc
			}
		}
	}
	sort.SliceStable(creds.env, func(i, j int) bool { return creds.env[i].Name < creds.env[j].Name })
	return creds.env, nil
}

// archiveLogs reports whether a step's log goes to the repository.
func (o *operation) archiveLogs(t *argov1.Template, repo *argov1.ArtifactRepository) bool {
	if t.ArchiveLocation != nil && t.ArchiveLocation.ArchiveLogs != nil {
		return *t.ArchiveLocation.ArchiveLogs
	}
	if o.spec.ArchiveLogs != nil {
		return *o.spec.ArchiveLogs
	}
	return repo.ArchiveLogs != nil && *repo.ArchiveLogs
}

// outputArtifacts turns the wrapper's uploaded artifacts into the node's outputs.
func (o *operation) outputArtifacts(t *argov1.Template, pod string, got []exec.ArtifactResult) []argov1.Artifact {
	uploaded := map[string]bool{}
	for _, r := range got {
		if r.Location != nil {
			uploaded[r.Name] = true
		}
	}
	var out []argov1.Artifact
	for _, a := range t.Outputs.Artifacts {
		if !uploaded[a.Name] {
			continue
		}
		l, err := o.outputLocation(&a, pod)
		if err != nil {
			continue
		}
		art := argov1.Artifact{Name: a.Name, Path: a.Path, ArtifactLocation: l, GlobalName: a.GlobalName, Archive: a.Archive}
		out = append(out, art)
	}
	for _, r := range got {
		if r.Name == "main-logs" && r.Location != nil && r.Location.S3 != nil {
			out = append(out, argov1.Artifact{Name: "main-logs", ArtifactLocation: argov1.ArtifactLocation{S3: &argov1.S3Artifact{Key: r.Location.S3.Key}}})
		}
	}
	return out
}

// inNamespace qualifies an endpoint whose host is a bare Service name (such
// as minio:9000 in Argo's quick-start) with the namespace the step ran in:
// the step Pod resolves it through its DNS search path, the agent, which
// runs in its own namespace, would not.
func inNamespace(endpoint, namespace string) string {
	scheme, rest := "", endpoint
	if i := strings.Index(endpoint, "://"); i >= 0 {
		scheme, rest = endpoint[:i+3], endpoint[i+3:]
	}
	host, port, err := net.SplitHostPort(rest)
	if err != nil {
		host, port = rest, ""
	}
	if host == "" || host == "localhost" || strings.Contains(host, ".") || net.ParseIP(host) != nil || strings.Contains(host, "/") {
		return endpoint
	}
	host += "." + namespace
	if port != "" {
		return scheme + net.JoinHostPort(host, port)
	}
	return scheme + host
}

// hasLocation reports whether an artifact says where it is.
func hasLocation(a *argov1.Artifact) bool {
	l := a.ArtifactLocation
	return l.S3 != nil || l.HTTP != nil || l.Raw != nil || l.Plugin != nil || a.From != "" || a.FromExpression != ""
}
