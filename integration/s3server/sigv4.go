package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// AWS Signature Version 4, as S3 checks it:
// https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-authenticating-requests.html
const (
	sigV4Algorithm  = "AWS4-HMAC-SHA256"
	amzDateFormat   = "20060102T150405Z"
	scopeDateFormat = "20060102"
	unsignedPayload = "UNSIGNED-PAYLOAD"
	maxClockSkew    = 15 * time.Minute
	maxPresignAge   = 7 * 24 * time.Hour
)

// verifier checks SigV4 signatures made with one key pair. Any region is
// accepted (clients that do not know one sign with us-east-1); the service
// must be s3.
type verifier struct {
	accessKey string
	secretKey string
	now       func() time.Time
}

// authError is a refused request: the status and S3 error code to answer
// with. stringToSign and canonicalRequest go into SignatureDoesNotMatch
// answers, as S3 does, so a client's signing bug can be found.
type authError struct {
	status           int
	code             string
	message          string
	accessKey        string
	stringToSign     string
	canonicalRequest string
}

func (e *authError) Error() string { return e.code + ": " + e.message }

func denied(status int, code, format string, args ...any) *authError {
	return &authError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

// sigV4Request is what a request says about its own signature.
type sigV4Request struct {
	accessKey     string
	scope         []string // date, region, service, "aws4_request"
	signedHeaders []string
	signature     string
	date          time.Time
	payloadHash   string
	presigned     bool
	expires       time.Duration
}

// verify returns nil when r is signed with the verifier's keys.
func (v *verifier) verify(r *http.Request) *authError {
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return denied(http.StatusBadRequest, "InvalidArgument", "the query string cannot be parsed: %v", err)
	}
	auth := r.Header.Get("Authorization")
	var s *sigV4Request
	var aerr *authError
	switch {
	case strings.HasPrefix(auth, sigV4Algorithm+" "):
		s, aerr = parseAuthHeader(auth, r)
	case query.Has("X-Amz-Algorithm") || query.Has("X-Amz-Signature"):
		s, aerr = parsePresigned(query)
	case strings.HasPrefix(auth, "AWS ") || query.Has("AWSAccessKeyId"):
		return denied(http.StatusBadRequest, "InvalidRequest", "signature version 2 is not supported; sign with %s (Signature Version 4)", sigV4Algorithm)
	case auth != "":
		return denied(http.StatusBadRequest, "InvalidArgument", "unsupported Authorization scheme %q; sign with %s", strings.SplitN(auth, " ", 2)[0], sigV4Algorithm)
	default:
		return denied(http.StatusForbidden, "AccessDenied", "anonymous access is not allowed: sign requests with %s and the store's access key", sigV4Algorithm)
	}
	if aerr != nil {
		return aerr
	}

	if s.accessKey != v.accessKey {
		e := denied(http.StatusForbidden, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.")
		e.accessKey = s.accessKey
		return e
	}
	if len(s.scope) != 4 || s.scope[2] != "s3" || s.scope[3] != "aws4_request" {
		return denied(http.StatusBadRequest, "AuthorizationHeaderMalformed", "the credential scope %q must be DATE/REGION/s3/aws4_request", strings.Join(s.scope, "/"))
	}
	if s.scope[0] != s.date.Format(scopeDateFormat) {
		return denied(http.StatusBadRequest, "AuthorizationHeaderMalformed", "the credential scope date %s is not the request date %s", s.scope[0], s.date.Format(scopeDateFormat))
	}
	now := v.now().UTC()
	if s.presigned {
		if now.Before(s.date.Add(-maxClockSkew)) {
			return denied(http.StatusForbidden, "AccessDenied", "Request is not valid yet")
		}
		if now.After(s.date.Add(s.expires)) {
			return denied(http.StatusForbidden, "AccessDenied", "Request has expired")
		}
	} else if d := now.Sub(s.date); d > maxClockSkew || d < -maxClockSkew {
		return denied(http.StatusForbidden, "RequestTimeTooSkewed", "The difference between the request time (%s) and the server's time (%s) is too large.", s.date.Format(time.RFC3339), now.Format(time.RFC3339))
	}

	canonical, aerr := canonicalRequest(r, query, s)
	if aerr != nil {
		return aerr
	}
	sum := sha256.Sum256([]byte(canonical))
	stringToSign := strings.Join([]string{sigV4Algorithm, s.date.Format(amzDateFormat), strings.Join(s.scope, "/"), hex.EncodeToString(sum[:])}, "\n")
	key := hmacSHA256([]byte("AWS4"+v.secretKey), s.scope[0])
	for _, part := range s.scope[1:] {
		key = hmacSHA256(key, part)
	}
	want := hex.EncodeToString(hmacSHA256(key, stringToSign))
	if !hmac.Equal([]byte(want), []byte(strings.ToLower(s.signature))) {
		e := denied(http.StatusForbidden, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your key and signing method.")
		e.accessKey, e.stringToSign, e.canonicalRequest = s.accessKey, stringToSign, canonical
		return e
	}
	return nil
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

// parseCredential splits ACCESSKEY/DATE/REGION/SERVICE/aws4_request.
func parseCredential(cred string) (string, []string, *authError) {
	parts := strings.Split(cred, "/")
	if len(parts) < 5 {
		return "", nil, denied(http.StatusBadRequest, "AuthorizationHeaderMalformed", "the credential %q must be ACCESSKEY/DATE/REGION/s3/aws4_request", cred)
	}
	n := len(parts) - 4
	return strings.Join(parts[:n], "/"), parts[n:], nil
}

func parseSignedHeaders(s string) ([]string, *authError) {
	hs := strings.Split(s, ";")
	hasHost := false
	for i, h := range hs {
		hs[i] = strings.ToLower(strings.TrimSpace(h))
		hasHost = hasHost || hs[i] == "host"
	}
	if !hasHost {
		return nil, denied(http.StatusBadRequest, "AuthorizationHeaderMalformed", "the signed headers %q must include host", s)
	}
	return hs, nil
}

// parseAuthHeader reads "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=...,
// Signature=..." and the date and payload hash headers.
func parseAuthHeader(auth string, r *http.Request) (*sigV4Request, *authError) {
	fields := map[string]string{}
	for _, kv := range strings.Split(strings.TrimPrefix(auth, sigV4Algorithm), ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok {
			return nil, denied(http.StatusBadRequest, "AuthorizationHeaderMalformed", "the Authorization header has a part %q without '='", strings.TrimSpace(kv))
		}
		fields[k] = strings.TrimSpace(v)
	}
	for _, k := range []string{"Credential", "SignedHeaders", "Signature"} {
		if fields[k] == "" {
			return nil, denied(http.StatusBadRequest, "AuthorizationHeaderMalformed", "the Authorization header lacks %s", k)
		}
	}
	s := &sigV4Request{signature: fields["Signature"]}
	var aerr *authError
	if s.accessKey, s.scope, aerr = parseCredential(fields["Credential"]); aerr != nil {
		return nil, aerr
	}
	if s.signedHeaders, aerr = parseSignedHeaders(fields["SignedHeaders"]); aerr != nil {
		return nil, aerr
	}
	var err error
	if d := r.Header.Get("X-Amz-Date"); d != "" {
		s.date, err = time.Parse(amzDateFormat, d)
	} else if d := r.Header.Get("Date"); d != "" {
		s.date, err = http.ParseTime(d)
	} else {
		return nil, denied(http.StatusForbidden, "AccessDenied", "AWS authentication requires a valid Date or x-amz-date header")
	}
	if err != nil {
		return nil, denied(http.StatusForbidden, "AccessDenied", "AWS authentication requires a valid Date or x-amz-date header: %v", err)
	}
	s.date = s.date.UTC()
	if s.payloadHash = r.Header.Get("X-Amz-Content-Sha256"); s.payloadHash == "" {
		return nil, denied(http.StatusBadRequest, "InvalidRequest", "Missing required header for this request: x-amz-content-sha256")
	}
	return s, nil
}

// parsePresigned reads the X-Amz-* query parameters of a presigned URL.
func parsePresigned(q url.Values) (*sigV4Request, *authError) {
	if a := q.Get("X-Amz-Algorithm"); a != sigV4Algorithm {
		return nil, denied(http.StatusBadRequest, "AuthorizationQueryParametersError", "X-Amz-Algorithm must be %s, not %q", sigV4Algorithm, a)
	}
	for _, k := range []string{"X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Expires"} {
		if q.Get(k) == "" {
			return nil, denied(http.StatusBadRequest, "AuthorizationQueryParametersError", "the presigned URL lacks %s", k)
		}
	}
	s := &sigV4Request{signature: q.Get("X-Amz-Signature"), presigned: true, payloadHash: unsignedPayload}
	if h := q.Get("X-Amz-Content-Sha256"); h != "" {
		s.payloadHash = h
	}
	var aerr *authError
	if s.accessKey, s.scope, aerr = parseCredential(q.Get("X-Amz-Credential")); aerr != nil {
		return nil, aerr
	}
	if s.signedHeaders, aerr = parseSignedHeaders(q.Get("X-Amz-SignedHeaders")); aerr != nil {
		return nil, aerr
	}
	var err error
	if s.date, err = time.Parse(amzDateFormat, q.Get("X-Amz-Date")); err != nil {
		return nil, denied(http.StatusBadRequest, "AuthorizationQueryParametersError", "X-Amz-Date %q is not of the form %s", q.Get("X-Amz-Date"), amzDateFormat)
	}
	secs, err := strconv.ParseInt(q.Get("X-Amz-Expires"), 10, 64)
	if err != nil || secs < 0 || time.Duration(secs)*time.Second > maxPresignAge {
		return nil, denied(http.StatusBadRequest, "AuthorizationQueryParametersError", "X-Amz-Expires must be a number of seconds from 0 to 604800, not %q", q.Get("X-Amz-Expires"))
	}
	s.expires = time.Duration(secs) * time.Second
	return s, nil
}

// canonicalRequest is the request as the client signed it: method, path,
// query without the signature, the signed headers and the payload hash.
func canonicalRequest(r *http.Request, query url.Values, s *sigV4Request) (string, *authError) {
	var headers strings.Builder
	for _, h := range s.signedHeaders {
		vals, ok := headerValues(r, h)
		if !ok {
			return "", denied(http.StatusForbidden, "SignatureDoesNotMatch", "the signed header %q is not in the request", h)
		}
		for i, v := range vals {
			vals[i] = strings.Join(strings.Fields(v), " ")
		}
		headers.WriteString(h + ":" + strings.Join(vals, ",") + "\n")
	}
	return strings.Join([]string{
		r.Method,
		uriEncode(r.URL.Path, false),
		canonicalQuery(query),
		headers.String(),
		strings.Join(s.signedHeaders, ";"),
		s.payloadHash,
	}, "\n"), nil
}

// headerValues returns the values of header h (lower case), including those
// net/http moves out of Header.
func headerValues(r *http.Request, h string) ([]string, bool) {
	switch h {
	case "host":
		return []string{r.Host}, true
	case "content-length":
		if v := r.Header.Values(h); len(v) > 0 {
			return append([]string(nil), v...), true
		}
		if r.ContentLength >= 0 {
			return []string{strconv.FormatInt(r.ContentLength, 10)}, true
		}
	case "transfer-encoding":
		if len(r.TransferEncoding) > 0 {
			return []string{strings.Join(r.TransferEncoding, ",")}, true
		}
	}
	v := r.Header.Values(h)
	return append([]string(nil), v...), len(v) > 0
}

// canonicalQuery encodes the query sorted by name, then value, leaving out
// the signature of a presigned URL.
func canonicalQuery(q url.Values) string {
	type pair struct{ k, v string }
	var pairs []pair
	for k, vs := range q {
		if k == "X-Amz-Signature" {
			continue
		}
		for _, v := range vs {
			pairs = append(pairs, pair{uriEncode(k, true), uriEncode(v, true)})
		}
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].k != pairs[j].k {
			return pairs[i].k < pairs[j].k
		}
		return pairs[i].v < pairs[j].v
	})
	out := make([]string, len(pairs))
	for i, p := range pairs {
		out[i] = p.k + "=" + p.v
	}
	return strings.Join(out, "&")
}

// uriEncode percent-encodes every byte but the unreserved A-Z a-z 0-9 - _ .
// ~ (and / when encodeSlash is false), as SigV4 wants.
func uriEncode(s string, encodeSlash bool) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_', c == '.', c == '~':
			b.WriteByte(c)
		case c == '/' && !encodeSlash:
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
	}
	return b.String()
}
