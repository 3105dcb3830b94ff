package main

import (
	"fmt"
	"io"
	"strconv"
	"sync"

	"github.com/johannesboyne/gofakes3"
)

// objectCharge is what every stored object costs beyond its data and key:
// the in-memory backend keeps about 1.2 KiB per object (metadata map with
// the request's x-amz-* headers, hash, ETag, skip-list entry; measured with
// minio-go uploads), so many tiny objects are bounded too.
const objectCharge = 1536

// quotaBackend is the in-memory backend bounded to max bytes (0: no bound).
// It charges every object its data, its key and objectCharge, and reserves
// an upload's size before its body is read, so in-flight uploads count too.
// It embeds only gofakes3.Backend, so gofakes3 sees neither versioning nor
// multipart methods: versions are not offered, and multipart uploads are
// assembled by gofakes3 and stored (and charged) by PutObject when complete.
type quotaBackend struct {
	gofakes3.Backend
	max int64

	mu       sync.Mutex
	used     int64                       // charged for stored objects
	reserved int64                       // uploads being read
	charged  map[string]map[string]int64 // bucket -> key -> charge
}

func newQuotaBackend(b gofakes3.Backend, max int64) *quotaBackend {
	return &quotaBackend{Backend: b, max: max, charged: map[string]map[string]int64{}}
}

func charge(key string, size int64) int64 { return size + int64(len(key)) + objectCharge }

// Used returns the bytes charged for stored objects.
func (q *quotaBackend) Used() int64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.used
}

// reserve books c bytes for an upload to bucket/key, or says the store is
// full. An overwrite is credited with the charge of the object it replaces
// (for a moment both are in memory: the bound is on what is stored, not on
// the peak). Callers hold q.mu.
func (q *quotaBackend) reserve(bucket, key string, c int64, arg string) error {
	if q.max > 0 && q.used-q.charged[bucket][key]+q.reserved+c > q.max {
		return gofakes3.ErrorInvalidArgument(arg, strconv.FormatInt(c, 10), fmt.Sprintf(
			"s3server is full: storing %d more bytes would exceed its -max-bytes of %d (%d in use, %d being uploaded); delete objects or raise -max-bytes",
			c, q.max, q.used, q.reserved))
	}
	q.reserved += c
	return nil
}

// settle sets the charge of bucket/key from what the backend now holds.
// Asking the backend, rather than trusting the operation just done, keeps
// the count right when writers of one key race: the last to settle sees the
// final state. Callers hold q.mu.
func (q *quotaBackend) settle(bucket, key string) {
	c := int64(-1)
	if obj, err := q.HeadObject(bucket, key); err == nil {
		c = charge(key, obj.Size)
		obj.Contents.Close()
	}
	keys := q.charged[bucket]
	q.used -= keys[key]
	if c < 0 {
		delete(keys, key)
		return
	}
	if keys == nil {
		keys = map[string]int64{}
		q.charged[bucket] = keys
	}
	keys[key] = c
	q.used += c
}

func (q *quotaBackend) PutObject(bucket, key string, meta map[string]string, input io.Reader, size int64, conditions *gofakes3.PutConditions) (gofakes3.PutObjectResult, error) {
	c := charge(key, size)
	q.mu.Lock()
	err := q.reserve(bucket, key, c, "Content-Length")
	q.mu.Unlock()
	if err != nil {
		return gofakes3.PutObjectResult{}, err
	}
	// The body is read without the lock: a slow client must not stop others.
	res, err := q.Backend.PutObject(bucket, key, meta, input, size, conditions)
	q.mu.Lock()
	defer q.mu.Unlock()
	q.reserved -= c
	if err == nil {
		q.settle(bucket, key)
	}
	return res, err
}

func (q *quotaBackend) CopyObject(srcBucket, srcKey, dstBucket, dstKey string, meta map[string]string) (gofakes3.CopyObjectResult, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	src, err := q.HeadObject(srcBucket, srcKey)
	if err != nil {
		return gofakes3.CopyObjectResult{}, err
	}
	src.Contents.Close()
	c := charge(dstKey, src.Size)
	if err := q.reserve(dstBucket, dstKey, c, "x-amz-copy-source"); err != nil {
		return gofakes3.CopyObjectResult{}, err
	}
	// A copy is in memory already: quick enough to do under the lock.
	res, err := q.Backend.CopyObject(srcBucket, srcKey, dstBucket, dstKey, meta)
	q.reserved -= c
	if err == nil {
		q.settle(dstBucket, dstKey)
	}
	return res, err
}

func (q *quotaBackend) DeleteObject(bucket, key string) (gofakes3.ObjectDeleteResult, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	res, err := q.Backend.DeleteObject(bucket, key)
	if err == nil {
		q.settle(bucket, key)
	}
	return res, err
}

func (q *quotaBackend) DeleteMulti(bucket string, keys ...string) (gofakes3.MultiDeleteResult, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	res, err := q.Backend.DeleteMulti(bucket, keys...)
	for _, k := range keys {
		q.settle(bucket, k)
	}
	return res, err
}

func (q *quotaBackend) DeleteBucket(name string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	err := q.Backend.DeleteBucket(name)
	if err == nil {
		q.dropBucket(name)
	}
	return err
}

func (q *quotaBackend) ForceDeleteBucket(name string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	err := q.Backend.ForceDeleteBucket(name)
	if err == nil {
		q.dropBucket(name)
	}
	return err
}

func (q *quotaBackend) dropBucket(name string) {
	for _, c := range q.charged[name] {
		q.used -= c
	}
	delete(q.charged, name)
}
