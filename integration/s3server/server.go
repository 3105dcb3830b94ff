package main

import (
	"encoding/xml"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// healthPaths answer 200 without credentials: ours and MinIO's probe paths.
var healthPaths = map[string]bool{"/healthz": true, "/minio/health/live": true, "/minio/health/ready": true}

// newHandler returns the S3 API over a fresh in-memory store holding c's
// buckets, behind the signature check when c.verify is set.
func newHandler(c config, log *slog.Logger, now func() time.Time) (http.Handler, error) {
	store := newQuotaBackend(s3mem.New(), c.maxBytes)
	for _, b := range c.buckets {
		if err := gofakes3.ValidateBucketName(b); err != nil {
			return nil, fmt.Errorf("bucket %q: %w", b, err)
		}
		if err := store.CreateBucket(b); err != nil && !gofakes3.HasErrorCode(err, gofakes3.ErrBucketAlreadyExists) {
			return nil, fmt.Errorf("creating bucket %q: %w", b, err)
		}
	}
	s3 := gofakes3.New(store, gofakes3.WithLogger(errorLog{log}), gofakes3.WithoutVersioning()).Server()
	var v *verifier
	if c.verify {
		v = &verifier{accessKey: c.accessKey, secretKey: c.secretKey, now: now}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if healthPaths[r.URL.Path] && (r.Method == http.MethodGet || r.Method == http.MethodHead) && r.URL.RawQuery == "" {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = w.Write([]byte("ok\n"))
			return
		}
		// CORS preflights carry no credentials, in S3 too.
		if v != nil && r.Method != http.MethodOptions {
			if err := v.verify(r); err != nil {
				log.Warn("request refused", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr,
					"status", err.status, "code", err.code, "reason", err.message, "accessKey", err.accessKey)
				writeError(w, r, err)
				return
			}
		}
		if err := unwrapChunked(r); err != nil {
			writeError(w, r, err)
			return
		}
		s3.ServeHTTP(w, r)
	}), nil
}

// s3Error is S3's XML error body.
type s3Error struct {
	XMLName          xml.Name `xml:"Error"`
	Code             string   `xml:"Code"`
	Message          string   `xml:"Message"`
	Resource         string   `xml:"Resource"`
	RequestID        string   `xml:"RequestId"`
	AWSAccessKeyID   string   `xml:"AWSAccessKeyId,omitempty"`
	StringToSign     string   `xml:"StringToSign,omitempty"`
	CanonicalRequest string   `xml:"CanonicalRequest,omitempty"`
}

func writeError(w http.ResponseWriter, r *http.Request, e *authError) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(e.status)
	if r.Method == http.MethodHead {
		return
	}
	body, _ := xml.Marshal(s3Error{
		Code: e.code, Message: e.message, Resource: r.URL.Path,
		AWSAccessKeyID: e.accessKey, StringToSign: e.stringToSign, CanonicalRequest: e.canonicalRequest,
	})
	_, _ = w.Write([]byte(xml.Header))
	_, _ = w.Write(body)
}

// errorLog passes gofakes3's error lines (internal errors) to log and drops
// its per-request info lines.
type errorLog struct{ log *slog.Logger }

func (l errorLog) Print(level gofakes3.LogLevel, v ...interface{}) {
	if level == gofakes3.LogErr {
		l.log.Error("s3 request failed", "error", fmt.Sprint(v...))
	}
}
