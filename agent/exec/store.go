package exec

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// errNotFound marks an artifact location that holds nothing.
var errNotFound = errors.New("not found")

// fetch downloads loc to dst, which must not exist: a file, or a directory
// when loc is an S3 "directory" (objects below KEY/).
func (o Options) fetch(ctx context.Context, loc Location, dst string) error {
	switch {
	case loc.Raw != nil:
		return os.WriteFile(dst, []byte(*loc.Raw), 0o644)
	case loc.S3 != nil:
		return o.s3Fetch(ctx, loc.S3, dst)
	case loc.HTTP != nil:
		return o.httpFetch(ctx, loc.HTTP, dst)
	default:
		return fmt.Errorf("%w: the artifact has no location (s3, http or raw)", errNotFound)
	}
}

// put uploads src (a file, or for S3 a directory: one object per file
// below the key) to loc.
func (o Options) put(ctx context.Context, loc Location, src string) error {
	switch {
	case loc.S3 != nil:
		return o.s3Put(ctx, loc.S3, src)
	case loc.HTTP != nil:
		f, err := os.Open(src)
		if err != nil {
			return err
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			return err
		}
		if fi.IsDir() {
			return fmt.Errorf("%s is a directory: an HTTP location takes one file", src)
		}
		return o.httpPut(ctx, loc.HTTP, f, fi.Size())
	case loc.Raw != nil:
		return errors.New("a raw location cannot store outputs: configure an S3 artifact repository")
	default:
		return errors.New("the artifact has no location: configure an artifact repository or give the artifact an s3 location")
	}
}

// putBytes uploads data to loc.
func (o Options) putBytes(ctx context.Context, loc Location, data []byte) error {
	switch {
	case loc.S3 != nil:
		c, err := o.s3Client(loc.S3)
		if err != nil {
			return err
		}
		if err := o.s3EnsureBucket(ctx, c, loc.S3); err != nil {
			return err
		}
		_, err = c.PutObject(ctx, loc.S3.Bucket, s3Key(loc.S3.Key), bytes.NewReader(data), int64(len(data)),
			minio.PutObjectOptions{ContentType: "application/json"})
		return err
	case loc.HTTP != nil:
		return o.httpPut(ctx, loc.HTTP, bytes.NewReader(data), int64(len(data)))
	default:
		return errors.New("only s3 and http locations can store data")
	}
}

// withSubPath is loc with sub appended to its key or URL path.
func withSubPath(loc Location, sub string) Location {
	switch {
	case loc.S3 != nil:
		s := *loc.S3
		s.Key = path.Join(s.Key, sub)
		loc.S3 = &s
	case loc.HTTP != nil:
		h := *loc.HTTP
		if u, err := url.Parse(h.URL); err == nil {
			u.Path = path.Join("/", u.Path, sub)
			u.RawPath = ""
			h.URL = u.String()
		}
		loc.HTTP = &h
	}
	return loc
}

func s3Key(k string) string { return strings.TrimPrefix(k, "/") }

// s3Client connects to the store with the credentials from the
// environment variables the location names.
func (o Options) s3Client(l *S3Location) (*minio.Client, error) {
	endpoint, secure := l.Endpoint, !l.Insecure
	switch {
	case strings.HasPrefix(endpoint, "http://"):
		endpoint, secure = strings.TrimPrefix(endpoint, "http://"), false
	case strings.HasPrefix(endpoint, "https://"):
		endpoint, secure = strings.TrimPrefix(endpoint, "https://"), true
	}
	endpoint = strings.TrimSuffix(endpoint, "/")
	if endpoint == "" {
		return nil, errors.New("the S3 location has no endpoint: set s3.endpoint or the artifact repository's endpoint")
	}
	if l.Bucket == "" {
		return nil, errors.New("the S3 location has no bucket: set s3.bucket or the artifact repository's bucket")
	}
	var ak, sk string
	if l.AccessKeyEnv != "" {
		if ak = o.Getenv(l.AccessKeyEnv); ak == "" {
			return nil, fmt.Errorf("the S3 access key variable %s is empty: check the accessKeySecret of the artifact repository (the Secret and key must exist)", l.AccessKeyEnv)
		}
	}
	if l.SecretKeyEnv != "" {
		if sk = o.Getenv(l.SecretKeyEnv); sk == "" {
			return nil, fmt.Errorf("the S3 secret key variable %s is empty: check the secretKeySecret of the artifact repository (the Secret and key must exist)", l.SecretKeyEnv)
		}
	}
	c, err := minio.New(endpoint, &minio.Options{
		Creds:     credentials.NewStaticV4(ak, sk, ""),
		Secure:    secure,
		Region:    l.Region,
		Transport: o.HTTPClient.Transport,
	})
	if err != nil {
		return nil, fmt.Errorf("S3 endpoint %q: %w", l.Endpoint, err)
	}
	return c, nil
}

func isNoSuchKey(err error) bool {
	code := minio.ToErrorResponse(err).Code
	return code == "NoSuchKey" || code == "NotFound"
}

func (o Options) s3Fetch(ctx context.Context, l *S3Location, dst string) error {
	c, err := o.s3Client(l)
	if err != nil {
		return err
	}
	key := s3Key(l.Key)
	if key == "" {
		return errors.New("the S3 location has no key")
	}
	if !strings.HasSuffix(key, "/") {
		err := s3GetFile(ctx, c, l.Bucket, key, dst)
		if err == nil || !isNoSuchKey(err) {
			return s3Err(err, l)
		}
	}
	// Not an object: maybe a "directory" of objects below KEY/.
	prefix := strings.TrimSuffix(key, "/") + "/"
	n := 0
	for obj := range c.ListObjects(ctx, l.Bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if obj.Err != nil {
			return s3Err(obj.Err, l)
		}
		rel := strings.TrimPrefix(obj.Key, prefix)
		if rel == "" || strings.HasSuffix(rel, "/") {
			continue
		}
		target := filepath.Join(dst, filepath.FromSlash(path.Clean("/"+rel)))
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		if err := s3GetFile(ctx, c, l.Bucket, obj.Key, target); err != nil {
			return s3Err(err, l)
		}
		n++
	}
	if n == 0 {
		return fmt.Errorf("%w: no object s3://%s/%s", errNotFound, l.Bucket, key)
	}
	return nil
}

func s3GetFile(ctx context.Context, c *minio.Client, bucket, key, dst string) error {
	obj, err := c.GetObject(ctx, bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return err
	}
	defer func() { _ = obj.Close() }()
	if _, err := obj.Stat(); err != nil {
		return err
	}
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, obj)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// s3Err adds what to do to the errors people meet.
func s3Err(err error, l *S3Location) error {
	if err == nil {
		return nil
	}
	switch minio.ToErrorResponse(err).Code {
	case "NoSuchBucket":
		return fmt.Errorf("bucket %q does not exist at %s: create it or fix the artifact repository's bucket", l.Bucket, l.Endpoint)
	case "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch":
		return fmt.Errorf("%w: check the artifact repository's credentials and the bucket policy", err)
	}
	return err
}

func (o Options) s3EnsureBucket(ctx context.Context, c *minio.Client, l *S3Location) error {
	if !l.CreateBucket {
		return nil
	}
	ok, err := c.BucketExists(ctx, l.Bucket)
	if err != nil {
		return s3Err(err, l)
	}
	if ok {
		return nil
	}
	if err := c.MakeBucket(ctx, l.Bucket, minio.MakeBucketOptions{Region: l.Region}); err != nil {
		code := minio.ToErrorResponse(err).Code
		if code != "BucketAlreadyOwnedByYou" && code != "BucketAlreadyExists" {
			return fmt.Errorf("creating bucket %q: %w", l.Bucket, err)
		}
	}
	return nil
}

func (o Options) s3Put(ctx context.Context, l *S3Location, src string) error {
	c, err := o.s3Client(l)
	if err != nil {
		return err
	}
	if err := o.s3EnsureBucket(ctx, c, l); err != nil {
		return err
	}
	key := s3Key(l.Key)
	fi, err := os.Stat(src)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		_, err := c.FPutObject(ctx, l.Bucket, key, src, minio.PutObjectOptions{})
		return s3Err(err, l)
	}
	prefix := strings.TrimSuffix(key, "/")
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		k := path.Join(prefix, filepath.ToSlash(rel))
		if _, err := c.FPutObject(ctx, l.Bucket, k, p, minio.PutObjectOptions{}); err != nil {
			return fmt.Errorf("uploading %s: %w", p, s3Err(err, l))
		}
		return nil
	})
}

func (o Options) httpFetch(ctx context.Context, h *HTTPLocation, dst string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.URL, nil)
	if err != nil {
		return fmt.Errorf("bad URL %s: %w", redactURL(h.URL), err)
	}
	for k, v := range h.Headers {
		req.Header.Set(k, v)
	}
	resp, err := o.HTTPClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return fmt.Errorf("%w: GET %s answered %s", errNotFound, redactURL(h.URL), resp.Status)
	case resp.StatusCode/100 != 2:
		return fmt.Errorf("GET %s answered %s", redactURL(h.URL), resp.Status)
	}
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, resp.Body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("reading %s: %w", redactURL(h.URL), err)
	}
	return nil
}

func (o Options) httpPut(ctx context.Context, h *HTTPLocation, body io.Reader, size int64) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, h.URL, body)
	if err != nil {
		return fmt.Errorf("bad URL %s: %w", redactURL(h.URL), err)
	}
	req.ContentLength = size
	for k, v := range h.Headers {
		req.Header.Set(k, v)
	}
	resp, err := o.HTTPClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("PUT %s answered %s", redactURL(h.URL), resp.Status)
	}
	return nil
}

// redactURL hides a URL's password and query (tokens live there).
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "an unparsable URL"
	}
	if u.RawQuery != "" {
		u.RawQuery = "REDACTED"
	}
	return u.Redacted()
}

// ReadOffloaded reads back a Result the wrapper stored because it did not
// fit the termination message. getenv resolves the credential variables the
// location names (the agent reads them from the step Pod's Secrets).
func ReadOffloaded(ctx context.Context, loc Location, getenv func(string) string) (*Result, error) {
	if loc.S3 == nil {
		return nil, errors.New("the offloaded outputs have no S3 location")
	}
	o := Options{Getenv: getenv, HTTPClient: http.DefaultClient}
	c, err := o.s3Client(loc.S3)
	if err != nil {
		return nil, err
	}
	obj, err := c.GetObject(ctx, loc.S3.Bucket, s3Key(loc.S3.Key), minio.GetObjectOptions{})
	if err != nil {
		return nil, s3Err(err, loc.S3)
	}
	defer func() { _ = obj.Close() }()
	var r Result
	if err := json.NewDecoder(io.LimitReader(obj, 64<<20)).Decode(&r); err != nil {
		return nil, fmt.Errorf("reading the offloaded outputs at %s: %w", describe(loc), err)
	}
	return &r, nil
}
