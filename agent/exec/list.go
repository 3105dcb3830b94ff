package exec

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/minio/minio-go/v7"
)

// ListKeys lists the object keys below loc, as Argo's data templates source
// them (artifactPaths): every key under KEY/ (the whole bucket without a
// key), in full so a consumer can fetch one with s3.key. getenv resolves the
// credential variables the location names; the agent reads them from the
// Secrets, as for ReadOffloaded.
func ListKeys(ctx context.Context, loc Location, getenv func(string) string) ([]string, error) {
	if loc.S3 == nil {
		return nil, errors.New("only S3 locations can be listed: give the artifact an s3 location, or configure an S3 artifact repository")
	}
	o := Options{Getenv: getenv, HTTPClient: http.DefaultClient}
	c, err := o.s3Client(loc.S3)
	if err != nil {
		return nil, err
	}
	prefix := s3Key(loc.S3.Key)
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	// Never nil, so the result is [] rather than null for an empty prefix.
	keys := []string{}
	for obj := range c.ListObjects(ctx, loc.S3.Bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if obj.Err != nil {
			return nil, s3Err(obj.Err, loc.S3)
		}
		if strings.HasSuffix(obj.Key, "/") {
			continue
		}
		keys = append(keys, obj.Key)
	}
	return keys, nil
}
