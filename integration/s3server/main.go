// Command s3server is the S3-compatible artifact store of the local test
// cluster, standing in for the MinIO of Argo's quick-start (which we cannot
// pull): github.com/johannesboyne/gofakes3 over its in-memory backend, served
// path-style (http://HOST:9000/BUCKET/KEY) on -addr. The image
// argolite.local/library/s3server:v1 is built by integration/images, and
// manifest.yaml runs it as Deployment and Service minio with the Secret
// my-minio-cred, the names Argo's examples use.
//
// Storage is memory: everything is gone when the Pod restarts. -max-bytes
// bounds it (object data plus a per-object charge for key and metadata, so
// many tiny objects count too); a PUT or copy that would go beyond it fails
// with 400 InvalidArgument and a message saying the store is full, rather
// than the process growing until it is killed. Not bounded: the parts of a
// multipart upload, which gofakes3 holds until the upload completes (its
// object is then charged). Object versioning is not offered.
//
// Credentials: gofakes3 itself checks nothing (it accepts any signature or
// none). This program puts an AWS Signature Version 4 check in front of it,
// so with -verify-signatures (the default) a request must be signed, in the
// Authorization header or as a presigned URL, with -access-key and
// -secret-key, or it is refused with 403 (AccessDenied, InvalidAccessKeyId,
// SignatureDoesNotMatch, RequestTimeTooSkewed) as S3 does. Any region is
// accepted. Not checked: the x-amz-content-sha256 payload hash against the
// body, and the chunk and trailer signatures of aws-chunked uploads (the
// seed signature in the header is). Signature Version 2 is refused.
// -verify-signatures=false accepts every request, signed or not. The health
// paths /healthz, /minio/health/live and /minio/health/ready (MinIO's probe
// paths) answer 200 to anyone, and shadow buckets of those names.
//
// aws-chunked bodies (minio-go sends every PUT over plain HTTP that way) are
// decoded here, since gofakes3 decodes them only for single PUTs, without
// trailers, and not for multipart parts.
//
// Every flag falls back to an environment variable, so the Deployment can
// take the keys from a Secret:
//
//	-addr               S3_ADDR               listen address (default :9000)
//	-access-key         S3_ACCESS_KEY         access key ID
//	-secret-key         S3_SECRET_KEY         secret access key
//	-buckets            S3_BUCKETS            buckets to create at start, comma-separated
//	-max-bytes          S3_MAX_BYTES          bound of stored bytes: 1048576, 64Mi, 1Gi; 0 = none
//	-verify-signatures  S3_VERIFY_SIGNATURES  check SigV4 signatures (default true)
//
// It logs one line when it starts, one per refused request and one when it
// stops; SIGTERM or SIGINT shut it down gracefully (in-flight requests get
// 10 seconds).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stderr, log, nil); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			log.Error("s3server failed", "error", err)
		}
		os.Exit(1)
	}
}

// config is what the flags say.
type config struct {
	addr      string
	accessKey string
	secretKey string
	buckets   []string
	maxBytes  int64
	verify    bool
}

// parseConfig reads the flags, each defaulting to its environment variable.
func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	envOr := func(key, def string) string {
		if v := getenv(key); v != "" {
			return v
		}
		return def
	}
	fs := flag.NewFlagSet("s3server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c config
	var buckets, maxBytes, verify string
	fs.StringVar(&c.addr, "addr", envOr("S3_ADDR", ":9000"), "listen address (env S3_ADDR)")
	fs.StringVar(&c.accessKey, "access-key", getenv("S3_ACCESS_KEY"), "access key ID (env S3_ACCESS_KEY)")
	fs.StringVar(&c.secretKey, "secret-key", getenv("S3_SECRET_KEY"), "secret access key (env S3_SECRET_KEY); prefer the env, flags show in ps")
	fs.StringVar(&buckets, "buckets", getenv("S3_BUCKETS"), "buckets to create at start, comma-separated (env S3_BUCKETS)")
	fs.StringVar(&maxBytes, "max-bytes", envOr("S3_MAX_BYTES", "0"), "bound of the bytes stored, e.g. 134217728 or 128Mi; 0 = unbounded (env S3_MAX_BYTES)")
	fs.StringVar(&verify, "verify-signatures", envOr("S3_VERIFY_SIGNATURES", "true"), "refuse requests not signed (SigV4) with the access and secret key (env S3_VERIFY_SIGNATURES)")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var err error
	if c.verify, err = strconv.ParseBool(verify); err != nil {
		return config{}, fmt.Errorf("-verify-signatures %q: want true or false", verify)
	}
	if c.maxBytes, err = parseBytes(maxBytes); err != nil {
		return config{}, fmt.Errorf("-max-bytes: %w", err)
	}
	for _, b := range strings.Split(buckets, ",") {
		if b = strings.TrimSpace(b); b != "" {
			c.buckets = append(c.buckets, b)
		}
	}
	if c.verify && (c.accessKey == "" || c.secretKey == "") {
		return config{}, errors.New("set -access-key and -secret-key (or S3_ACCESS_KEY and S3_SECRET_KEY), or pass -verify-signatures=false to accept any request")
	}
	return c, nil
}

// parseBytes reads a byte count, plain or with a binary suffix Ki, Mi or Gi.
func parseBytes(s string) (int64, error) {
	s = strings.TrimSpace(s)
	mult := int64(1)
	for suffix, m := range map[string]int64{"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30} {
		if strings.HasSuffix(s, suffix) {
			s, mult = strings.TrimSuffix(s, suffix), m
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("%q is not a byte count such as 134217728 or 128Mi", s)
	}
	return n * mult, nil
}

// run serves until ctx is done, then shuts down gracefully. When ready is
// not nil it receives the listening address once the server accepts.
func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer, log *slog.Logger, ready chan<- string) error {
	c, err := parseConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	h, err := newHandler(c, log, time.Now)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("s3server started", "addr", ln.Addr().String(), "buckets", strings.Join(c.buckets, ","),
		"maxBytes", c.maxBytes, "verifySignatures", c.verify, "backend", "memory")
	if ready != nil {
		ready <- ln.Addr().String()
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		log.Warn("s3server stopped before its requests finished", "error", err)
		return err
	}
	log.Info("s3server stopped")
	return nil
}
