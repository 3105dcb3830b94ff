package main

import (
	"bufio"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// gofakes3 decodes aws-chunked bodies only for a whole-object PUT, and not
// their trailers, and stores Content-Encoding: aws-chunked as the object's
// encoding; the parts of a multipart upload it stores with the chunk framing
// in them. minio-go sends every PUT over plain HTTP aws-chunked (signed
// chunks, with a checksum trailer when asked), so unwrapChunked decodes such
// bodies before gofakes3 sees them, for objects and parts alike.

// maxChunkHeader bounds one chunk header line: hex size, ";chunk-signature="
// and 64 hex digits, with room for other extensions.
const maxChunkHeader = 4096

// unwrapChunked turns an aws-chunked request (x-amz-content-sha256
// STREAMING-*) into a plain one: the decoded body, Content-Length from
// x-amz-decoded-content-length, and the aws-chunked headers gone. The chunk
// and trailer signatures are not checked, nor the checksum trailers.
func unwrapChunked(r *http.Request) *authError {
	if !strings.HasPrefix(r.Header.Get("X-Amz-Content-Sha256"), "STREAMING-") {
		return nil
	}
	n, err := strconv.ParseInt(r.Header.Get("X-Amz-Decoded-Content-Length"), 10, 64)
	if err != nil || n < 0 {
		return denied(http.StatusLengthRequired, "MissingContentLength", "an aws-chunked upload needs x-amz-decoded-content-length")
	}
	r.Body = struct {
		io.Reader
		io.Closer
	}{&chunkedReader{r: bufio.NewReader(r.Body)}, r.Body}
	r.ContentLength = n
	r.Header.Set("Content-Length", strconv.FormatInt(n, 10))
	for _, h := range []string{"X-Amz-Content-Sha256", "X-Amz-Decoded-Content-Length", "X-Amz-Trailer"} {
		r.Header.Del(h)
	}
	var enc []string
	for _, v := range r.Header.Values("Content-Encoding") {
		for _, e := range strings.Split(v, ",") {
			if e = strings.TrimSpace(e); e != "" && !strings.EqualFold(e, "aws-chunked") {
				enc = append(enc, e)
			}
		}
	}
	r.Header.Del("Content-Encoding")
	if len(enc) > 0 {
		r.Header.Set("Content-Encoding", strings.Join(enc, ","))
	}
	return nil
}

var errBadChunk = errors.New("malformed aws-chunked body")

// chunkedReader reads the data of an aws-chunked body:
//
//	SIZE-IN-HEX[;chunk-signature=SIG]\r\n DATA \r\n ... 0[;...]\r\n [trailers] \r\n
//
// Whatever follows the last (empty) chunk is read and dropped.
type chunkedReader struct {
	r       *bufio.Reader
	remain  int64 // data left in the current chunk
	started bool  // a chunk was read, so its CRLF comes next
	done    bool
}

func (c *chunkedReader) Read(p []byte) (int, error) {
	for c.remain == 0 {
		if c.done {
			return 0, io.EOF
		}
		if err := c.next(); err != nil {
			return 0, err
		}
	}
	if int64(len(p)) > c.remain {
		p = p[:c.remain]
	}
	n, err := c.r.Read(p)
	c.remain -= int64(n)
	if errors.Is(err, io.EOF) && c.remain > 0 {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// next reads the next chunk header.
func (c *chunkedReader) next() error {
	if c.started {
		if crlf, err := c.r.Peek(2); err != nil || string(crlf) != "\r\n" {
			return errBadChunk
		}
		_, _ = c.r.Discard(2)
	}
	c.started = true
	line, err := c.r.ReadSlice('\n')
	if err != nil || len(line) > maxChunkHeader {
		return errBadChunk
	}
	size, _, _ := strings.Cut(strings.TrimSpace(string(line)), ";")
	n, err := strconv.ParseInt(size, 16, 64)
	if err != nil || n < 0 {
		return errBadChunk
	}
	if n == 0 {
		c.done = true
		_, err := io.Copy(io.Discard, c.r) // trailers
		return err
	}
	c.remain = n
	return nil
}
