// Package s3manifest owns how tests run the S3 artifact store in the local
// cluster: integration/s3server/manifest.yaml (Secret my-minio-cred, Service
// and Deployment minio), embedded so Go tests can apply it into their own
// namespace.
package s3manifest

//go:generate cp ../manifest.yaml manifest.yaml

import (
	"bytes"
	_ "embed"
	"fmt"
	"strings"

	"github.com/fluxcd/pkg/ssa/utils"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Names of what the manifest creates, as Argo's quick-start names them.
const (
	// Service and Deployment; the store listens on minio:9000.
	Name = "minio"
	Port = 9000
	// SecretName holds the keys under AccessKeyKey and SecretKeyKey.
	SecretName   = "my-minio-cred"
	AccessKeyKey = "accesskey"
	SecretKeyKey = "secretkey"
	// AccessKey and SecretKey are the values the Secret holds.
	AccessKey = "admin"
	SecretKey = "password"
	// Bucket is created when the store starts.
	Bucket = "my-bucket"
	// Image is built by `make images` and imported by up.sh.
	Image = "argolite.local/library/s3server:v1"
)

//go:embed manifest.yaml
var manifest []byte

// YAML returns the manifest as written.
func YAML() []byte { return bytes.Clone(manifest) }

// Objects returns fresh copies of the manifest's objects, without a
// namespace: set one before applying them.
func Objects() ([]*unstructured.Unstructured, error) {
	objs, err := utils.ReadObjects(bytes.NewReader(manifest))
	if err != nil {
		return nil, fmt.Errorf("integration/s3server/manifest.yaml: %w", err)
	}
	return objs, nil
}

// artifactRepositories is Argo's quick-start artifact-repositories ConfigMap
// (manifests/quick-start/base/artifact-repositories-configmap.yaml), which
// Argo's e2e runs the examples with: its repositories are this store.
const artifactRepositories = `
apiVersion: v1
kind: ConfigMap
metadata:
  name: artifact-repositories
  annotations:
    workflows.argoproj.io/default-artifact-repository: default-v1
data:
  default-v1: |
    archiveLogs: true
    s3:
      bucket: my-bucket
      endpoint: minio:9000
      insecure: true
      accessKeySecret:
        name: my-minio-cred
        key: accesskey
      secretKeySecret:
        name: my-minio-cred
        key: secretkey
  my-key: |
    archiveLogs: true
    s3:
      bucket: my-bucket
      endpoint: minio:9000
      insecure: true
      accessKeySecret:
        name: my-minio-cred
        key: accesskey
      secretKeySecret:
        name: my-minio-cred
        key: secretkey
  empty: ""
`

// ArtifactRepositories returns a fresh copy of Argo's quick-start
// artifact-repositories ConfigMap, without a namespace: its default
// repository (and my-key) is the bucket of this store at minio:9000.
func ArtifactRepositories() (*unstructured.Unstructured, error) {
	objs, err := utils.ReadObjects(strings.NewReader(artifactRepositories))
	if err != nil {
		return nil, fmt.Errorf("the artifact-repositories ConfigMap: %w", err)
	}
	if len(objs) != 1 {
		return nil, fmt.Errorf("the artifact-repositories ConfigMap: %d objects, want 1", len(objs))
	}
	return objs[0], nil
}
