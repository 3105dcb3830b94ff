package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

const (
	testAccessKey = "admin"
	testSecretKey = "password"
)

// start runs the server on a free port with args (plus the test keys from
// the environment) and stops it when the test ends, checking it shuts down
// cleanly. It returns the host:port.
func start(t *testing.T, args ...string) string {
	t.Helper()
	env := map[string]string{"S3_ACCESS_KEY": testAccessKey, "S3_SECRET_KEY": testSecretKey}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	go func() {
		done <- run(ctx, append([]string{"-addr", "127.0.0.1:0"}, args...), func(k string) string { return env[k] }, io.Discard, log, ready)
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("run: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if !strings.Contains(logs.String(), "s3server started") || !strings.Contains(logs.String(), "s3server stopped") {
			t.Errorf("logs lack the start or stop line:\n%s", logs.String())
		}
		if strings.Contains(logs.String(), testSecretKey) {
			t.Errorf("logs show the secret key:\n%s", logs.String())
		}
	})
	return addr
}

func client(t *testing.T, addr, ak, sk string) *minio.Client {
	t.Helper()
	c, err := minio.New(addr, &minio.Options{Creds: credentials.NewStaticV4(ak, sk, ""), Secure: false})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func code(err error) string { return minio.ToErrorResponse(err).Code }

func TestObjects(t *testing.T) {
	addr := start(t, "-buckets", "my-bucket, other-bucket")
	c := client(t, addr, testAccessKey, testSecretKey)
	ctx := context.Background()

	for _, b := range []string{"my-bucket", "other-bucket"} {
		if ok, err := c.BucketExists(ctx, b); err != nil || !ok {
			t.Fatalf("BucketExists(%s) = %v, %v: the -buckets bucket is missing", b, ok, err)
		}
	}
	if err := c.MakeBucket(ctx, "made", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.MakeBucket(ctx, "made", minio.MakeBucketOptions{}); code(err) != "BucketAlreadyExists" {
		t.Errorf("second MakeBucket: %v, want BucketAlreadyExists", err)
	}

	// Keys that need encoding in the path and in list queries.
	objects := map[string]string{
		"wf/pod-1/main.log":         "hello\n",
		"wf/pod-1/out put+plus.tgz": "tar",
		"wf/pod-2/ünïcode~(1)*.txt": "u",
		"wf-other/x":                "x",
		"top":                       "t",
	}
	for k, v := range objects {
		if _, err := c.PutObject(ctx, "made", k, strings.NewReader(v), int64(len(v)), minio.PutObjectOptions{ContentType: "text/plain"}); err != nil {
			t.Fatalf("PutObject(%q): %v", k, err)
		}
	}
	for k, v := range objects {
		obj, err := c.GetObject(ctx, "made", k, minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(obj)
		if err != nil || string(got) != v {
			t.Errorf("GetObject(%q) = %q, %v, want %q", k, got, err, v)
		}
	}

	list := func(prefix string, recursive bool) []string {
		var keys []string
		for o := range c.ListObjects(ctx, "made", minio.ListObjectsOptions{Prefix: prefix, Recursive: recursive}) {
			if o.Err != nil {
				t.Fatalf("ListObjects(%q): %v", prefix, o.Err)
			}
			keys = append(keys, o.Key)
		}
		return keys
	}
	if got, want := list("wf/", true), []string{"wf/pod-1/main.log", "wf/pod-1/out put+plus.tgz", "wf/pod-2/ünïcode~(1)*.txt"}; !slices.Equal(got, want) {
		t.Errorf("recursive list of wf/ = %q, want %q", got, want)
	}
	if got, want := list("wf/", false), []string{"wf/pod-1/", "wf/pod-2/"}; !slices.Equal(got, want) {
		t.Errorf("list of wf/ = %q, want %q", got, want)
	}

	_, err := c.StatObject(ctx, "made", "wf/missing", minio.StatObjectOptions{})
	if code(err) != "NoSuchKey" {
		t.Errorf("StatObject of a missing key: %v (code %q), want NoSuchKey", err, code(err))
	}
	_, err = c.StatObject(ctx, "no-such-bucket", "k", minio.StatObjectOptions{})
	if code(err) != "NoSuchBucket" {
		t.Errorf("StatObject in a missing bucket: %v (code %q), want NoSuchBucket", err, code(err))
	}

	if _, err := c.CopyObject(ctx, minio.CopyDestOptions{Bucket: "my-bucket", Object: "copied"}, minio.CopySrcOptions{Bucket: "made", Object: "top"}); err != nil {
		t.Fatalf("CopyObject: %v", err)
	}
	if st, err := c.StatObject(ctx, "my-bucket", "copied", minio.StatObjectOptions{}); err != nil || st.Size != 1 {
		t.Errorf("StatObject of the copy = %+v, %v", st, err)
	}

	if err := c.RemoveObject(ctx, "made", "top", minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.StatObject(ctx, "made", "top", minio.StatObjectOptions{}); code(err) != "NoSuchKey" {
		t.Errorf("StatObject after RemoveObject: %v, want NoSuchKey", err)
	}

	// minio-go sends PUTs over plain HTTP aws-chunked: as one object, as
	// multipart uploads of unknown or large size, with checksum trailers.
	trailing, err := minio.New(addr, &minio.Options{Creds: credentials.NewStaticV4(testAccessKey, testSecretKey, ""), TrailingHeaders: true})
	if err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("0123456789abcdef"), 6<<16) // 6 MiB
	for _, tc := range []struct {
		name string
		c    *minio.Client
		data []byte
		size int64
		opts minio.PutObjectOptions
	}{
		{"unknown size", c, big[:1<<20], -1, minio.PutObjectOptions{PartSize: 5 << 20}},
		{"two parts", c, big, int64(len(big)), minio.PutObjectOptions{PartSize: 5 << 20}},
		{"checksum trailer", trailing, big[:100<<10], 100 << 10, minio.PutObjectOptions{Checksum: minio.ChecksumCRC32C}},
		{"parts with checksum trailers", trailing, big, int64(len(big)), minio.PutObjectOptions{PartSize: 5 << 20, Checksum: minio.ChecksumCRC32C}},
		{"gzip", c, []byte("zipped"), 6, minio.PutObjectOptions{ContentEncoding: "gzip"}},
	} {
		if _, err := tc.c.PutObject(ctx, "my-bucket", tc.name, bytes.NewReader(tc.data), tc.size, tc.opts); err != nil {
			t.Errorf("PutObject %s: %v", tc.name, err)
			continue
		}
		obj, err := c.GetObject(ctx, "my-bucket", tc.name, minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(obj)
		if err != nil || !bytes.Equal(got, tc.data) {
			t.Errorf("%s: the object came back as %d bytes, %v; want %d bytes", tc.name, len(got), err, len(tc.data))
		}
		st, err := obj.Stat()
		if err != nil {
			t.Fatal(err)
		}
		if enc := st.Metadata.Get("Content-Encoding"); enc != tc.opts.ContentEncoding {
			t.Errorf("%s: Content-Encoding %q, want %q", tc.name, enc, tc.opts.ContentEncoding)
		}
	}

	// Presigned URLs work with a plain HTTP client.
	u, err := c.PresignedPutObject(ctx, "my-bucket", "presigned", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPut, u.String(), strings.NewReader("via presigned PUT"))
	if resp, err := http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	} else if resp.Body.Close(); resp.StatusCode != http.StatusOK {
		t.Fatalf("presigned PUT: %s", resp.Status)
	}
	u, err = c.PresignedGetObject(ctx, "my-bucket", "presigned", time.Minute, url.Values{"response-content-type": {"text/x-test"}})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(u.String())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "via presigned PUT" {
		t.Errorf("presigned GET: %s %q", resp.Status, body)
	}

	// Tampering with a presigned URL breaks it.
	tampered := strings.Replace(u.String(), "/presigned?", "/other?", 1)
	if resp, err := http.Get(tampered); err != nil {
		t.Fatal(err)
	} else if resp.Body.Close(); resp.StatusCode != http.StatusForbidden {
		t.Errorf("tampered presigned GET: %s, want 403", resp.Status)
	}
}

func TestCredentialsAreChecked(t *testing.T) {
	addr := start(t, "-buckets", "my-bucket")
	ctx := context.Background()

	if _, err := client(t, addr, testAccessKey, "wrong").ListBuckets(ctx); code(err) != "SignatureDoesNotMatch" {
		t.Errorf("wrong secret: %v, want SignatureDoesNotMatch", err)
	}
	if _, err := client(t, addr, "nobody", testSecretKey).ListBuckets(ctx); code(err) != "InvalidAccessKeyId" {
		t.Errorf("wrong access key: %v, want InvalidAccessKeyId", err)
	}
	put := func(c *minio.Client) error {
		_, err := c.PutObject(ctx, "my-bucket", "k", strings.NewReader("v"), 1, minio.PutObjectOptions{})
		return err
	}
	if err := put(client(t, addr, testAccessKey, "wrong")); code(err) != "SignatureDoesNotMatch" {
		t.Errorf("PUT with a wrong secret: %v, want SignatureDoesNotMatch", err)
	}
	anon, err := minio.New(addr, &minio.Options{Creds: credentials.NewStaticV4("", "", "")})
	if err != nil {
		t.Fatal(err)
	}
	if err := put(anon); code(err) != "AccessDenied" {
		t.Errorf("anonymous PUT: %v, want AccessDenied", err)
	}

	for _, tc := range []struct {
		method, path string
		header       http.Header
		status       int
		contains     string
	}{
		{"GET", "/", nil, 403, "<Code>AccessDenied</Code>"},
		{"GET", "/my-bucket/k", nil, 403, "<Code>AccessDenied</Code>"},
		{"GET", "/", http.Header{"Authorization": {"AWS admin:c2lnbmF0dXJl"}}, 400, "signature version 2"},
		{"GET", "/", http.Header{"Authorization": {"AWS4-HMAC-SHA256 Credential=admin/x"}}, 400, "AuthorizationHeaderMalformed"},
		{"GET", "/healthz", nil, 200, "ok"},
		{"HEAD", "/healthz", nil, 200, ""},
		{"GET", "/minio/health/ready", nil, 200, "ok"},
	} {
		req, _ := http.NewRequest(tc.method, "http://"+addr+tc.path, nil)
		for k, v := range tc.header {
			req.Header[k] = v
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || !strings.Contains(string(body), tc.contains) {
			t.Errorf("%s %s %v: %s %q, want %d and %q", tc.method, tc.path, tc.header, resp.Status, body, tc.status, tc.contains)
		}
	}

	// The good keys still work after all that.
	if err := put(client(t, addr, testAccessKey, testSecretKey)); err != nil {
		t.Errorf("PUT with the right keys: %v", err)
	}
}

func TestUnverifiedAcceptsAnyone(t *testing.T) {
	addr := start(t, "-buckets", "my-bucket", "-verify-signatures=false")
	req, _ := http.NewRequest(http.MethodPut, "http://"+addr+"/my-bucket/plain", strings.NewReader("plain http"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("unsigned PUT: %s", resp.Status)
	}
	resp, err = http.Get("http://" + addr + "/my-bucket/plain")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "plain http" {
		t.Errorf("unsigned GET = %s %q", resp.Status, body)
	}
	if _, err := client(t, addr, "any", "thing").ListBuckets(context.Background()); err != nil {
		t.Errorf("signed with other keys: %v", err)
	}
}

func TestMaxBytes(t *testing.T) {
	const max = 20 << 10
	addr := start(t, "-buckets", "bkt", "-max-bytes", "20Ki")
	c := client(t, addr, testAccessKey, testSecretKey)
	ctx := context.Background()
	put := func(key string, n int) error {
		_, err := c.PutObject(ctx, "bkt", key, bytes.NewReader(make([]byte, n)), int64(n), minio.PutObjectOptions{})
		return err
	}

	if err := put("too-big", max); code(err) != "InvalidArgument" || !strings.Contains(err.Error(), "full") {
		t.Fatalf("PUT beyond -max-bytes: %v, want InvalidArgument saying the store is full", err)
	}
	for i := range 3 {
		if err := put("k"+string(rune('0'+i)), 4<<10); err != nil {
			t.Fatalf("PUT %d: %v", i, err)
		}
	}
	// Three 4 KiB objects and their per-object charges leave less than another.
	if err := put("k3", 4<<10); code(err) != "InvalidArgument" {
		t.Fatalf("fourth PUT: %v, want InvalidArgument", err)
	}
	// Small objects are charged too, so their number is bounded.
	n := 0
	for ; n < 100 && put("tiny/"+string(rune('a'+n%26))+string(rune('a'+n/26)), 1) == nil; n++ {
	}
	if n == 100 {
		t.Errorf("100 one-byte objects fit in the 4 KiB left: objects are not charged")
	}
	if err := c.RemoveObject(ctx, "bkt", "k0", minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := put("k3", 2<<10); err != nil {
		t.Errorf("PUT after a delete freed room: %v", err)
	}
	// Overwriting keeps one charge per key.
	for range 10 {
		if err := put("k3", 2<<10); err != nil {
			t.Fatalf("overwrite: %v", err)
		}
	}
	// Multi-delete frees everything.
	var keys []string
	for o := range c.ListObjects(ctx, "bkt", minio.ListObjectsOptions{Recursive: true}) {
		keys = append(keys, o.Key)
	}
	objs := make(chan minio.ObjectInfo, len(keys))
	for _, k := range keys {
		objs <- minio.ObjectInfo{Key: k}
	}
	close(objs)
	for e := range c.RemoveObjects(ctx, "bkt", objs, minio.RemoveObjectsOptions{}) {
		t.Errorf("RemoveObjects: %v", e.Err)
	}
	if err := put("again", 12<<10); err != nil {
		t.Errorf("PUT of 12 KiB into the emptied store: %v", err)
	}
}

func TestQuotaBackendCounts(t *testing.T) {
	q := newQuotaBackend(s3mem.New(), 0)
	if err := q.CreateBucket("b"); err != nil {
		t.Fatal(err)
	}
	put := func(key, body string) {
		t.Helper()
		if _, err := q.PutObject("b", key, nil, strings.NewReader(body), int64(len(body)), nil); err != nil {
			t.Fatal(err)
		}
	}
	check := func(want int64) {
		t.Helper()
		if got := q.Used(); got != want {
			t.Errorf("Used() = %d, want %d", got, want)
		}
	}
	put("a", "12345")
	check(charge("a", 5))
	put("a", "123")
	check(charge("a", 3))
	put("cc", "")
	check(charge("a", 3) + charge("cc", 0))
	if _, err := q.CopyObject("b", "a", "b", "dd", nil); err != nil {
		t.Fatal(err)
	}
	check(charge("a", 3) + charge("cc", 0) + charge("dd", 3))
	if _, err := q.DeleteObject("b", "cc"); err != nil {
		t.Fatal(err)
	}
	if _, err := q.DeleteObject("b", "never"); err != nil {
		t.Fatal(err)
	}
	check(charge("a", 3) + charge("dd", 3))
	if _, err := q.DeleteMulti("b", "a", "never"); err != nil {
		t.Fatal(err)
	}
	check(charge("dd", 3))
	if err := q.ForceDeleteBucket("b"); err != nil {
		t.Fatal(err)
	}
	check(0)
	if q.reserved != 0 {
		t.Errorf("reserved = %d after all uploads finished", q.reserved)
	}
}

func TestParseConfig(t *testing.T) {
	env := map[string]string{"S3_ACCESS_KEY": "ak", "S3_SECRET_KEY": "sk", "S3_BUCKETS": "a,b", "S3_MAX_BYTES": "2Mi"}
	getenv := func(k string) string { return env[k] }
	c, err := parseConfig(nil, getenv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.addr != ":9000" || c.accessKey != "ak" || c.secretKey != "sk" || !slices.Equal(c.buckets, []string{"a", "b"}) || c.maxBytes != 2<<20 || !c.verify {
		t.Errorf("from the environment: %+v", c)
	}
	c, err = parseConfig([]string{"-access-key", "x", "-buckets", "", "-max-bytes", "1000"}, getenv, io.Discard)
	if err != nil || c.accessKey != "x" || len(c.buckets) != 0 || c.maxBytes != 1000 {
		t.Errorf("flags over the environment: %+v, %v", c, err)
	}
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{nil, nil, "-access-key and -secret-key"},
		{[]string{"-max-bytes", "12MB"}, env, "-max-bytes"},
		{[]string{"-max-bytes", "-1"}, env, "-max-bytes"},
		{[]string{"-verify-signatures=maybe"}, env, "-verify-signatures"},
		{[]string{"extra"}, env, "unexpected arguments"},
	} {
		_, err := parseConfig(tc.args, func(k string) string { return tc.env[k] }, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("parseConfig(%q) = %v, want an error containing %q", tc.args, err, tc.want)
		}
	}
	if c, err := parseConfig([]string{"-verify-signatures=false"}, func(string) string { return "" }, io.Discard); err != nil || c.verify {
		t.Errorf("-verify-signatures=false without keys: %+v, %v", c, err)
	}
	if _, err := newHandler(config{buckets: []string{"Not_Valid!"}}, slog.New(slog.DiscardHandler), time.Now); err == nil {
		t.Error("an invalid bucket name was accepted")
	}
}

// TestSigV4Vectors checks the verifier against the worked examples of the S3
// documentation ("Signature Calculations for the Authorization Header" and
// "Authenticating Requests: Using Query Parameters").
func TestSigV4Vectors(t *testing.T) {
	at, _ := time.Parse(amzDateFormat, "20130524T000000Z")
	v := &verifier{accessKey: "AKIAIOSFODNN7EXAMPLE", secretKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", now: func() time.Time { return at }}

	req := httptest.NewRequest(http.MethodGet, "http://examplebucket.s3.amazonaws.com/test.txt", nil)
	req.Header.Set("Range", "bytes=0-9")
	req.Header.Set("X-Amz-Content-Sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
	req.Header.Set("X-Amz-Date", "20130524T000000Z")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
	if err := v.verify(req); err != nil {
		t.Errorf("GET Object example: %v\n%s\n%s", err, err.canonicalRequest, err.stringToSign)
	}
	req.Header.Set("Range", "bytes=0-10")
	if err := v.verify(req); err == nil || err.code != "SignatureDoesNotMatch" {
		t.Errorf("changed signed header: %v, want SignatureDoesNotMatch", err)
	}

	req = httptest.NewRequest(http.MethodGet, "http://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404", nil)
	if err := v.verify(req); err != nil {
		t.Errorf("presigned example: %v\n%s\n%s", err, err.canonicalRequest, err.stringToSign)
	}
	v.now = func() time.Time { return at.Add(25 * time.Hour) }
	if err := v.verify(req); err == nil || err.message != "Request has expired" {
		t.Errorf("presigned URL a day later: %v, want expired", err)
	}
	req = httptest.NewRequest(http.MethodGet, "http://examplebucket.s3.amazonaws.com/test.txt", nil)
	req.Header.Set("X-Amz-Content-Sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
	req.Header.Set("X-Amz-Date", "20130524T000000Z")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;x-amz-content-sha256;x-amz-date,Signature=00")
	if err := v.verify(req); err == nil || err.code != "RequestTimeTooSkewed" {
		t.Errorf("a day-old signed request: %v, want RequestTimeTooSkewed", err)
	}
}

func TestParseBytes(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "1000": 1000, "4Ki": 4096, "128Mi": 128 << 20, "2Gi": 2 << 30} {
		if got, err := parseBytes(in); err != nil || got != want {
			t.Errorf("parseBytes(%q) = %d, %v, want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "x", "1.5Mi", "-3", "9999999999Gi"} {
		if _, err := parseBytes(in); err == nil {
			t.Errorf("parseBytes(%q) succeeded", in)
		}
	}
}

func TestChunkedReader(t *testing.T) {
	for _, tc := range []struct{ name, body, want string }{
		{"signed", "5;chunk-signature=abc\r\nhello\r\n6;chunk-signature=def\r\n world\r\n0;chunk-signature=0\r\n\r\n", "hello world"},
		{"empty", "0;chunk-signature=0\r\n\r\n", ""},
		{"unsigned trailer", "b\r\nhello world\r\n0\r\nx-amz-checksum-crc32:AAAA\r\n\r\n", "hello world"},
		{"signed trailer", "b;chunk-signature=1\r\nhello world\r\n0;chunk-signature=2\r\nx-amz-checksum-crc32c:AAAA\n\r\nx-amz-trailer-signature:3\r\n\r\n", "hello world"},
	} {
		got, err := io.ReadAll(&chunkedReader{r: bufio.NewReader(strings.NewReader(tc.body))})
		if err != nil || string(got) != tc.want {
			t.Errorf("%s: %q, %v, want %q", tc.name, got, err, tc.want)
		}
	}
	for _, body := range []string{"5\r\nhel", "5\r\nhelloXX0\r\n", "zz\r\n", "5"} {
		if got, err := io.ReadAll(&chunkedReader{r: bufio.NewReader(strings.NewReader(body))}); err == nil {
			t.Errorf("%q read as %q without an error", body, got)
		}
	}
}
