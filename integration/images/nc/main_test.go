package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for nc's goroutines and the test's.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor polls buf until re matches and returns the submatches.
func waitFor(t *testing.T, buf *syncBuffer, re string) []string {
	t.Helper()
	r := regexp.MustCompile(re)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if m := r.FindStringSubmatch(buf.String()); m != nil {
			return m
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no %q in %q", re, buf.String())
	return nil
}

// ncRun is a running nc.
type ncRun struct {
	stdout, stderr *syncBuffer
	cancel         context.CancelFunc
	done           chan struct{} // closed when nc returned code
	code           int
}

// start runs nc with args in the background.
func start(t *testing.T, stdin io.Reader, args ...string) *ncRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &ncRun{stdout: &syncBuffer{}, stderr: &syncBuffer{}, cancel: cancel, done: make(chan struct{})}
	go func() {
		r.code = run(ctx, args, stdin, r.stdout, r.stderr)
		close(r.done)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(5 * time.Second):
		}
	})
	return r
}

// listen starts nc -v -s 127.0.0.1 with args (a listen mode) and returns it
// with the address -v reports it listens on.
func listen(t *testing.T, stdin io.Reader, args ...string) (*ncRun, string) {
	t.Helper()
	r := start(t, stdin, append([]string{"-v", "-s", "127.0.0.1"}, args...)...)
	m := waitFor(t, r.stderr, `listening on (127\.0\.0\.1:\d+) \.\.\.`)
	return r, m[1]
}

// exit waits for nc to exit and returns its exit code.
func (r *ncRun) exit(t *testing.T) int {
	t.Helper()
	select {
	case <-r.done:
		return r.code
	case <-time.After(10 * time.Second):
		t.Fatalf("nc did not exit; stderr %q", r.stderr.String())
		return -1
	}
}

// readAll reads c to its end, failing when that takes more than 5 seconds.
func readAll(t *testing.T, c net.Conn) string {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("reading %s: %v (got %q)", c.RemoteAddr(), err, b)
	}
	return string(b)
}

func dial(t *testing.T, addr string) *net.TCPConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c.(*net.TCPConn)
}

// closedPort is a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want config
	}{
		{[]string{"-lk", "-p", "9999", "-e", "/bin/true"}, config{listen: 1, keep: true, lport: 9999, lportSet: true, prog: []string{"/bin/true"}}},
		{[]string{"-ll", "-p9999", "-e", "sh", "-c", "echo hi"}, config{listen: 2, lport: 9999, lportSet: true, prog: []string{"sh", "-c", "echo hi"}}},
		{[]string{"-lke", "cat", "-n"}, config{listen: 1, keep: true, prog: []string{"cat", "-n"}}},
		{[]string{"-w", "60", "example.com", "80", "-e", "ls", "-l"}, config{wait: 60 * time.Second, args: []string{"example.com", "80"}, prog: []string{"ls", "-l"}}},
		{[]string{"-vvnz", "-w5", "-i", "2", "host", "http"}, config{verbose: 2, numeric: true, zero: true, wait: 5 * time.Second, interval: 2 * time.Second, args: []string{"host", "http"}}},
		{[]string{"-s", "127.0.0.1", "-l", "--", "-odd-host"}, config{listen: 1, laddr: "127.0.0.1", args: []string{"-odd-host"}}},
	} {
		got, err := parse(tc.args)
		if err != nil {
			t.Errorf("parse(%q): %v", tc.args, err)
			continue
		}
		if !reflect.DeepEqual(*got, tc.want) {
			t.Errorf("parse(%q) =\n%+v, want\n%+v", tc.args, *got, tc.want)
		}
	}
	for _, args := range [][]string{{"-u", "h", "1"}, {"-x"}, {"-e"}, {"-l", "-p"}, {"-p", "nosuchservice"}, {"-w", "x", "h", "1"}, {"a", "b", "c"}, {"-o", "f", "h", "1"}} {
		if c, err := parse(args); err == nil {
			t.Errorf("parse(%q) = %+v, want an error", args, c)
		}
	}
}

func TestUsageAndUnsupported(t *testing.T) {
	for _, tc := range []struct {
		args       []string
		code       int
		wantStderr string
	}{
		{[]string{"-u", "127.0.0.1", "1"}, 1, "UDP mode (-u) is not supported"},
		{[]string{"-q"}, 1, "invalid option -- 'q'"},
		{[]string{"127.0.0.1"}, 1, "Usage: nc"},
		{[]string{"-e"}, 1, "requires an argument"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), tc.args, strings.NewReader(""), &stdout, &stderr); code != tc.code || !strings.Contains(stderr.String(), tc.wantStderr) {
			t.Errorf("nc %q: exit %d, stderr %q; want %d and %q", tc.args, code, stderr.String(), tc.code, tc.wantStderr)
		}
	}
	var stdout bytes.Buffer
	if code := run(context.Background(), []string{"--help"}, nil, &stdout, io.Discard); code != 0 || !strings.Contains(stdout.String(), "-lk") {
		t.Errorf("nc --help: %d %q", code, stdout.String())
	}
}

// TestKeepListeningExecTrue is the readiness probe server of Argo's
// examples, nc -lk -p PORT -e /bin/true: every connection is accepted and
// closed by /bin/true exiting, and nc goes on listening.
func TestKeepListeningExecTrue(t *testing.T) {
	for _, args := range [][]string{
		{"-lk", "-p", "0", "-e", "/bin/true"},
		{"-ll", "-e", "true"}, // PATH lookup, -ll as the old spelling of -lk
		{"-lke", "/bin/true"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			r, addr := listen(t, nil, args...)
			for i := 0; i < 3; i++ {
				c := dial(t, addr)
				if got := readAll(t, c); got != "" {
					t.Errorf("connection %d: read %q from /bin/true", i, got)
				}
				for deadline := time.Now().Add(5 * time.Second); strings.Count(r.stderr.String(), "connect to 127.0.0.1:") <= i; {
					if time.Now().After(deadline) {
						t.Fatalf("-v did not report connection %d: %q", i, r.stderr.String())
					}
					time.Sleep(10 * time.Millisecond)
				}
			}
			// Connections overlap: a second one is served while the first is open.
			c1 := dial(t, addr)
			c2 := dial(t, addr)
			readAll(t, c2)
			readAll(t, c1)
			select {
			case <-r.done:
				t.Fatalf("nc -lk exited (%d); stderr %q", r.code, r.stderr.String())
			default:
			}
			r.cancel()
			if code := r.exit(t); code != 0 {
				t.Errorf("nc exited %d after its listener was stopped", code)
			}
		})
	}
}

// TestListenExecOnce: without -k nc serves one connection with PROG and
// exits with PROG's status; PROG's stdio is the socket.
func TestListenExecOnce(t *testing.T) {
	r, addr := listen(t, nil, "-l", "-e", "/bin/sh", "-c", `read x; echo "got $x"; exit 3`)
	c := dial(t, addr)
	if _, err := c.Write([]byte("hello\n")); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, c); got != "got hello\n" {
		t.Errorf("PROG answered %q", got)
	}
	if code := r.exit(t); code != 3 {
		t.Errorf("nc exited %d, want PROG's 3", code)
	}
	// The listener is gone.
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		_ = c.Close()
		t.Error("nc -l without -k still accepts connections")
	}

	r, addr = listen(t, nil, "-l", "-e", "/no/such/prog")
	readAll(t, dial(t, addr))
	if code := r.exit(t); code != 127 || !strings.Contains(r.stderr.String(), "can't execute '/no/such/prog'") {
		t.Errorf("missing PROG: exit %d, stderr %q; want 127", code, r.stderr.String())
	}
}

// TestExecShellFallback: a single PROG with spaces runs through /bin/sh.
func TestExecShellFallback(t *testing.T) {
	r, addr := listen(t, nil, "-lk", "-e", "echo a b | tr a-z A-Z")
	for i := 0; i < 2; i++ {
		if got := readAll(t, dial(t, addr)); got != "A B\n" {
			t.Errorf("connection %d: %q", i, got)
		}
	}
	r.cancel()
	r.exit(t)
}

// TestListenKeepWithoutExec: -lk without -e serves connections one after
// another, each one's data on stdout, stdin going to the first.
func TestListenKeepWithoutExec(t *testing.T) {
	r, addr := listen(t, strings.NewReader("to the first\n"), "-lk")
	for i, msg := range []string{"one\n", "two\n"} {
		c := dial(t, addr)
		// nc's stdin first: nc closes its write side at stdin's end.
		if got, want := readAll(t, c), map[int]string{0: "to the first\n", 1: ""}[i]; got != want {
			t.Errorf("connection %d read %q, want %q", i, got, want)
		}
		if _, err := c.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		_ = c.Close()
		waitFor(t, r.stdout, msg+"$")
	}
	waitFor(t, r.stdout, `^one\ntwo\n$`)
	r.cancel()
	r.exit(t)
}

// TestClientRoundTrip: stdin goes to the socket, the socket to stdout, and
// nc exits 0 once both ends are closed.
func TestClientRoundTrip(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() { // an upper-casing echo server
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer func() { _ = c.Close() }()
		b, _ := io.ReadAll(c)
		_, _ = c.Write(bytes.ToUpper(b))
	}()
	host, port, _ := net.SplitHostPort(l.Addr().String())
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"-v", host, port}, strings.NewReader("hello nc\n"), &stdout, &stderr); code != 0 {
		t.Fatalf("nc exited %d: %s", code, stderr.String())
	}
	if stdout.String() != "HELLO NC\n" {
		t.Errorf("stdout %q", stdout.String())
	}
	if want := host + " (" + l.Addr().String() + ") open\n"; stderr.String() != want {
		t.Errorf("stderr %q, want %q", stderr.String(), want)
	}
}

// TestListenAndConnect: nc -l and nc HOST PORT exchange their stdin and
// both exit, as busybox's do since 1.22.
func TestListenAndConnect(t *testing.T) {
	server, addr := listen(t, strings.NewReader("from the server\n"), "-l")
	host, port, _ := net.SplitHostPort(addr)
	client := start(t, strings.NewReader("from the client\n"), host, port)
	if code := client.exit(t); code != 0 {
		t.Errorf("client exited %d: %s", code, client.stderr.String())
	}
	if code := server.exit(t); code != 0 {
		t.Errorf("server exited %d: %s", code, server.stderr.String())
	}
	if got := client.stdout.String(); got != "from the server\n" {
		t.Errorf("client stdout %q", got)
	}
	if got := server.stdout.String(); got != "from the client\n" {
		t.Errorf("server stdout %q", got)
	}
}

// TestClientExec: -e works for outbound connections too.
func TestClientExec(t *testing.T) {
	server, addr := listen(t, strings.NewReader(""), "-l")
	host, port, _ := net.SplitHostPort(addr)
	client := start(t, nil, host, port, "-e", "/bin/sh", "-c", "echo hi from prog")
	if code := client.exit(t); code != 0 {
		t.Errorf("client exited %d: %s", code, client.stderr.String())
	}
	server.exit(t)
	if got := server.stdout.String(); got != "hi from prog\n" {
		t.Errorf("server got %q", got)
	}
}

func TestZero(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan struct{})
	go func() {
		c, err := l.Accept()
		if err == nil {
			_, _ = io.ReadAll(c) // -z sends nothing and closes
			_ = c.Close()
			close(accepted)
		}
	}()
	host, port, _ := net.SplitHostPort(l.Addr().String())
	var stderr bytes.Buffer
	if code := run(context.Background(), []string{"-zv", "-w", "2", host, port}, nil, io.Discard, &stderr); code != 0 {
		t.Errorf("nc -z on an open port: exit %d, %s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), ") open") {
		t.Errorf("nc -zv stderr %q", stderr.String())
	}
	select {
	case <-accepted:
	case <-time.After(5 * time.Second):
		t.Error("nc -z did not close its connection")
	}

	host, port, _ = net.SplitHostPort(closedPort(t))
	stderr.Reset()
	if code := run(context.Background(), []string{"-z", host, port}, nil, io.Discard, &stderr); code != 1 || stderr.Len() != 0 {
		t.Errorf("nc -z on a closed port: exit %d, stderr %q; want 1 and silence", code, stderr.String())
	}
	if code := run(context.Background(), []string{"-zvv", host, port}, nil, io.Discard, &stderr); code != 1 || !strings.Contains(stderr.String(), "onnection refused") {
		t.Errorf("nc -zvv on a closed port: exit %d, stderr %q", code, stderr.String())
	}
	// A plain connect to a closed port fails the same way.
	if code := run(context.Background(), []string{host, port}, strings.NewReader("x"), io.Discard, io.Discard); code != 1 {
		t.Errorf("nc to a closed port: exit %d, want 1", code)
	}
}

// TestWait: -w ends a connection that stays silent after stdin ended, and
// a listen that gets no connection.
func TestWait(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	silent := make(chan struct{})
	defer close(silent)
	go func() { // accepts and says nothing, closes only at the end of the test
		c, err := l.Accept()
		if err == nil {
			<-silent
			_ = c.Close()
		}
	}()
	host, port, _ := net.SplitHostPort(l.Addr().String())
	begin := time.Now()
	if code := run(context.Background(), []string{"-w", "1", host, port}, strings.NewReader(""), io.Discard, io.Discard); code != 0 {
		t.Errorf("nc -w 1 to a silent peer: exit %d, want 0", code)
	}
	if d := time.Since(begin); d > 5*time.Second {
		t.Errorf("nc -w 1 took %v", d)
	}

	var stderr bytes.Buffer
	if code := run(context.Background(), []string{"-l", "-s", "127.0.0.1", "-w", "1"}, nil, io.Discard, &stderr); code != 1 || !strings.Contains(stderr.String(), "timeout") {
		t.Errorf("nc -l -w 1 without a connection: exit %d, stderr %q", code, stderr.String())
	}
}

// TestListenPeerFilter: with HOST after -l only that peer is served.
func TestListenPeerFilter(t *testing.T) {
	r, addr := listen(t, strings.NewReader(""), "-lk", "127.0.0.2")
	c := dial(t, addr) // from 127.0.0.1
	if got := readAll(t, c); got != "" {
		t.Errorf("read %q", got)
	}
	waitFor(t, r.stderr, `connect from wrong ip/port 127\.0\.0\.1:\d+ ignored`)
}
