// Command nc is the nc of the alpine stand-in image (integration/images):
// the TCP subset of the nc applet of Alpine's busybox (nc_bloaty, "nc 1.10
// compatible"), which Debian's busybox-static lacks (its small nc knows no
// -k, -s, -z or -v). Only the standard library; built static like pause.
//
//	nc [OPTIONS] HOST PORT                 connect
//	nc [OPTIONS] -l [-p PORT] [HOST] [PORT] listen
//
// Options, as busybox has them:
//
//	-e PROG [ARGS]  run PROG after connect, its stdin and stdout on the
//	                socket, stderr nc's (must be last: the rest of the
//	                arguments are PROG's)
//	-l              listen for one inbound connection
//	-lk, -ll        with -e: keep listening, PROG per connection, the
//	                connections served concurrently (busybox forks);
//	                without -e: serve connections one after another
//	-p PORT         local port (listen mode: the port to listen on;
//	                without it, or with 0, the kernel picks one and -v
//	                prints it)
//	-s ADDR         local address
//	-w SEC          timeout for connects, accepts and, once stdin is at
//	                its end, for network silence (then nc exits 0)
//	-i SEC          delay before sending and between the lines sent
//	-n              no DNS lookups of peers (nc never does reverse lookups)
//	-v              verbose: "listening on ADDR ...", "connect to ...",
//	                "HOST (ADDR) open"; -vv also connection refusals and
//	                the byte counts
//	-z              zero I/O: connect and close (exit 0 when the port is
//	                open, 1 when not)
//
// -u (UDP) and -o (hex dump) are not supported and fail with exit code 1.
// Like busybox, nc exits 1 when a connect fails (silently without -v), and
// 0 after a connection once both stdin and the network are closed. With -e
// and without -k, nc exits with PROG's status.
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const usage = `Usage: nc [OPTIONS] HOST PORT  - connect
nc [OPTIONS] -l -p PORT [HOST] [PORT]  - listen

	-e PROG	Run PROG after connect (must be last)
	-l	Listen mode, for inbound connects
	-lk	With -e, provides persistent server
	-p PORT	Local port
	-s ADDR	Local address
	-w SEC	Timeout for connects and final net reads
	-i SEC	Delay interval for lines sent
	-n	Don't do DNS resolution
	-v	Verbose
	-z	Zero-I/O mode (scanning)

(argolite's nc for the alpine stand-in image: TCP only, no -u or -o)
`

func main() {
	// A write to a closed stdout must fail with EPIPE rather than kill nc,
	// as busybox ignores SIGPIPE. Notify, not Ignore: an ignored signal
	// would stay ignored in the programs -e runs.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// config is the parsed command line.
type config struct {
	listen   int // -l count; 2 or more (-ll, -lk) is persistent
	keep     bool
	lport    int
	lportSet bool
	laddr    string
	wait     time.Duration
	interval time.Duration
	numeric  bool
	verbose  int
	zero     bool
	prog     []string // -e PROG [ARGS]
	args     []string // HOST [PORT]
}

// usageError is a command line nc cannot run: exit 1 after the usage text.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// parse reads the command line as busybox's nc does: the first "-e" (or a
// group of flags ending in e, such as -lke) takes the rest of the arguments
// as PROG and its arguments; options and operands may be mixed before it,
// "--" ends the options.
func parse(args []string) (*config, error) {
	c := &config{}
	for i, a := range args {
		if a == "--" {
			break
		}
		if a == "-e" || (len(a) > 2 && a[0] == '-' && a[len(a)-1] == 'e' && strings.Trim(a[1:len(a)-1], "nuvlkz") == "") {
			c.prog = args[i+1:]
			if len(c.prog) == 0 {
				return nil, usageError{"option requires an argument -- 'e'"}
			}
			args = append(args[:i:i], strings.TrimSuffix(a, "e"))
			if args[i] == "-" {
				args = args[:i]
			}
			break
		}
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			c.args = append(c.args, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			c.args = append(c.args, a)
			continue
		}
		for j := 1; j < len(a); j++ {
			opt := a[j]
			switch opt {
			case 'l':
				c.listen++
				continue
			case 'k':
				c.keep = true
				continue
			case 'n':
				c.numeric = true
				continue
			case 'v':
				c.verbose++
				continue
			case 'z':
				c.zero = true
				continue
			case 'u':
				return nil, errors.New("UDP mode (-u) is not supported by this nc (argolite's alpine stand-in: TCP only)")
			case 'p', 's', 'w', 'i', 'o':
			default:
				return nil, usageError{fmt.Sprintf("invalid option -- '%c'", opt)}
			}
			// An option with a value: the rest of this argument or the next.
			val := a[j+1:]
			if val == "" {
				if i+1 >= len(args) {
					return nil, usageError{fmt.Sprintf("option requires an argument -- '%c'", opt)}
				}
				i++
				val = args[i]
			}
			switch opt {
			case 'p':
				p, err := lookupPort(val)
				if err != nil {
					return nil, fmt.Errorf("bad local port '%s'", val)
				}
				c.lport, c.lportSet = p, true
			case 's':
				c.laddr = val
			case 'w':
				n, err := strconv.ParseUint(val, 10, 32)
				if err != nil {
					return nil, fmt.Errorf("invalid number '%s'", val)
				}
				c.wait = time.Duration(n) * time.Second
			case 'i':
				n, err := strconv.ParseUint(val, 10, 16)
				if err != nil || n < 1 {
					return nil, fmt.Errorf("invalid number '%s'", val)
				}
				c.interval = time.Duration(n) * time.Second
			case 'o':
				return nil, errors.New("hex dump (-o FILE) is not supported by this nc (argolite's alpine stand-in)")
			}
			break
		}
	}
	if len(c.args) > 2 {
		return nil, usageError{"too many arguments"}
	}
	return c, nil
}

// lookupPort is a port number or a service name of /etc/services.
func lookupPort(s string) (int, error) {
	if n, err := strconv.ParseUint(s, 10, 16); err == nil {
		return int(n), nil
	}
	return net.LookupPort("tcp", s)
}

// run is nc with the given arguments and stdio; it returns the exit code.
// Cancelling ctx stops a listener (main never does; tests do).
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 1 && (args[0] == "--help" || args[0] == "-h") {
		fmt.Fprint(stdout, usage)
		return 0
	}
	c, err := parse(args)
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "nc: %s\n%s", ue.msg, usage)
		return 1
	}
	if err != nil {
		fmt.Fprintf(stderr, "nc: %v\n", err)
		return 1
	}
	n := &nc{config: c, stdout: stdout, stderr: stderr}
	if c.prog == nil && (!c.zero || c.listen > 0) { // busybox closes stdin for -e; -z sends nothing
		n.stdin = readStdin(stdin, c.interval > 0)
	}
	if c.listen > 0 {
		return n.serve(ctx)
	}
	if len(c.args) != 2 {
		fmt.Fprint(stderr, usage)
		return 1
	}
	return n.connect(ctx)
}

type nc struct {
	*config
	stdin          <-chan []byte // nil with -e
	stdout, stderr io.Writer

	mu             sync.Mutex // guards the counts and stderr
	sent, received int64
}

func (n *nc) logf(format string, args ...any) {
	n.mu.Lock()
	defer n.mu.Unlock()
	fmt.Fprintf(n.stderr, format, args...)
}

// errorf prints a busybox-style "nc: ..." error.
func (n *nc) errorf(format string, args ...any) { n.logf("nc: "+format+"\n", args...) }

// counts prints the byte counts at -vv, as busybox does before exiting.
func (n *nc) counts() {
	if n.verbose > 1 {
		n.mu.Lock()
		s, r := n.sent, n.received
		n.mu.Unlock()
		n.logf("sent %d, rcvd %d\n", s, r)
	}
}

// localAddr is the address -s and -p ask for ("" and 0 when not given).
func (n *nc) localAddr() (*net.TCPAddr, error) {
	a := &net.TCPAddr{Port: n.lport}
	if n.laddr != "" {
		ip, err := n.resolve(n.laddr)
		if err != nil {
			return nil, err
		}
		a.IP = ip
	}
	return a, nil
}

// resolve is the first address of host.
func (n *nc) resolve(host string) (net.IP, error) {
	if ip := net.ParseIP(strings.Trim(host, "[]")); ip != nil {
		return ip, nil
	}
	ips, err := net.DefaultResolver.LookupIP(context.Background(), "ip", host)
	if err != nil || len(ips) == 0 {
		return nil, fmt.Errorf("bad address '%s'", host)
	}
	return ips[0], nil
}

// connect is client mode: connect to HOST PORT, then -z, -e or relay.
func (n *nc) connect(ctx context.Context) int {
	host := n.args[0]
	port, err := lookupPort(n.args[1])
	if err != nil {
		n.errorf("bad port '%s'", n.args[1])
		return 1
	}
	d := net.Dialer{Timeout: n.wait}
	if n.laddr != "" || n.lportSet {
		la, err := n.localAddr()
		if err != nil {
			n.errorf("%v", err)
			return 1
		}
		d.LocalAddr = la
	}
	target := net.JoinHostPort(strings.Trim(host, "[]"), strconv.Itoa(port))
	conn, err := d.DialContext(ctx, "tcp", target)
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		n.errorf("bad address '%s'", host)
		return 1
	}
	if err != nil {
		refused := errors.Is(err, syscall.ECONNREFUSED)
		if n.verbose > 1 || (n.verbose > 0 && !refused) {
			n.errorf("%s (%s): %s", host, target, describe(err))
		}
		return 1
	}
	tc := conn.(*net.TCPConn)
	if n.verbose > 0 {
		n.logf("%s (%s) open\n", host, tc.RemoteAddr())
	}
	if n.prog != nil {
		return n.exec(tc, true)
	}
	if n.zero {
		_ = tc.Close()
		n.counts()
		return 0
	}
	code := n.relay(tc, false)
	n.counts()
	return code
}

// describe is err as a short message: "Connection refused", "timed out".
func describe(err error) string {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "Connection timed out"
	}
	var se syscall.Errno
	if errors.As(err, &se) {
		s := se.Error()
		return strings.ToUpper(s[:1]) + s[1:]
	}
	return err.Error()
}

// serve is listen mode.
func (n *nc) serve(ctx context.Context) int {
	la, err := n.localAddr()
	if err != nil {
		n.errorf("%v", err)
		return 1
	}
	peer, err := n.peerFilter()
	if err != nil {
		n.errorf("%v", err)
		return 1
	}
	l, err := net.ListenTCP("tcp", la)
	if err != nil {
		n.errorf("bind: %s", describe(err))
		return 1
	}
	defer func() { _ = l.Close() }()
	stop := context.AfterFunc(ctx, func() { _ = l.Close() })
	defer stop()
	if n.verbose > 0 {
		n.logf("listening on %s ...\n", l.Addr())
	}
	persistent := n.keep || n.listen > 1
	for {
		if n.wait > 0 {
			_ = l.SetDeadline(time.Now().Add(n.wait))
		}
		conn, err := l.AcceptTCP()
		if err != nil {
			if ctx.Err() != nil {
				return 0
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				n.errorf("timeout")
			} else {
				n.errorf("accept: %s", describe(err))
			}
			return 1
		}
		if peer != nil && !peer(conn.RemoteAddr().(*net.TCPAddr)) {
			if n.verbose > 0 {
				n.errorf("connect from wrong ip/port %s ignored", conn.RemoteAddr())
			}
			_ = conn.Close()
			continue
		}
		if n.verbose > 0 {
			n.logf("connect to %s from %s (%s)\n", conn.LocalAddr(), conn.RemoteAddr(), conn.RemoteAddr())
		}
		switch {
		case n.prog != nil && persistent:
			n.exec(conn, false) // concurrently, as busybox forks per connection
		case n.prog != nil:
			_ = l.Close()
			return n.exec(conn, true)
		case persistent:
			n.relay(conn, true)
		default:
			_ = l.Close()
			code := n.relay(conn, false)
			n.counts()
			return code
		}
	}
}

// peerFilter is the check of the optional HOST [PORT] of listen mode: only
// connections from there are served, others are closed.
func (n *nc) peerFilter() (func(*net.TCPAddr) bool, error) {
	if len(n.args) == 0 {
		return nil, nil
	}
	ip, err := n.resolve(n.args[0])
	if err != nil {
		return nil, err
	}
	port := 0
	if len(n.args) == 2 {
		if port, err = lookupPort(n.args[1]); err != nil {
			return nil, fmt.Errorf("bad port '%s'", n.args[1])
		}
	}
	return func(a *net.TCPAddr) bool {
		return a.IP.Equal(ip) && (port == 0 || a.Port == port)
	}, nil
}

// exec runs PROG with stdin and stdout on conn and nc's stderr. With wait it
// returns PROG's exit status (127 when it cannot be found, 126 when it
// cannot be run, 128+N after signal N); without, it returns 0 at once and
// reaps PROG in the background.
func (n *nc) exec(conn *net.TCPConn, wait bool) int {
	f, err := conn.File() // a blocking duplicate, for the child
	_ = conn.Close()
	if err != nil {
		n.errorf("%v", err)
		return 1
	}
	defer f.Close()
	cmd := command(n.prog)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = f, f, n.stderr
	if err := cmd.Start(); err != nil {
		n.errorf("can't execute '%s': %s", n.prog[0], describe(err))
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
			return 127
		}
		return 126
	}
	if !wait {
		go func() { _ = cmd.Wait() }()
		return 0
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	}
	if err != nil {
		n.errorf("%v", err)
		return 1
	}
	return 0
}

// command is PROG [ARGS] as busybox runs it (execvp: a path, or a name
// looked up in PATH). A single PROG with spaces that names no program, as
// in -e "echo hi", runs through /bin/sh -c.
func command(prog []string) *exec.Cmd {
	if len(prog) == 1 && strings.ContainsAny(prog[0], " \t;|&<>$") {
		if _, err := exec.LookPath(prog[0]); err != nil {
			return exec.Command("/bin/sh", "-c", prog[0])
		}
	}
	return exec.Command(prog[0], prog[1:]...)
}

// relay copies the network to stdout and stdin to the network, shutting the
// write side down when stdin ends. It returns when both directions are done
// (like busybox it goes on reading stdin after the peer closed, and fails
// on the next write), with -w once the network has been silent for -w
// seconds after stdin ended. With persistent (-lk without -e) it returns
// as soon as the peer closes, leaving the rest of stdin to the next
// connection. The exit code is 1 when writing to the network failed.
func (n *nc) relay(conn *net.TCPConn, persistent bool) int {
	defer func() { _ = conn.Close() }()
	var stdinDone atomic.Bool
	netDone := make(chan struct{})
	go func() { // network -> stdout
		defer close(netDone)
		buf := make([]byte, 8192)
		for {
			k, err := conn.Read(buf)
			if k > 0 {
				if stdinDone.Load() && n.wait > 0 {
					_ = conn.SetReadDeadline(time.Now().Add(n.wait))
				}
				w, _ := n.stdout.Write(buf[:k])
				n.count(0, w)
			}
			if errors.Is(err, os.ErrDeadlineExceeded) {
				if n.verbose > 1 {
					n.logf("net timeout\n")
				}
				return
			}
			if err != nil {
				if n.verbose > 1 && !errors.Is(err, io.EOF) {
					n.errorf("net read: %s", describe(err))
				}
				return
			}
		}
	}()

	var stop <-chan struct{}
	if persistent {
		stop = netDone
	}
	code := 0
	if n.interval > 0 {
		time.Sleep(n.interval) // busybox pauses before sending anything
	}
	for {
		var chunk []byte
		ok := true
		select {
		case chunk, ok = <-n.stdin:
		case <-stop:
			return code
		}
		if !ok {
			break
		}
		w, err := conn.Write(chunk)
		n.count(w, 0)
		if err != nil {
			if n.verbose > 0 {
				n.errorf("net write: %s", describe(err))
			}
			code = 1
			if persistent {
				<-netDone
			}
			return code
		}
		if n.interval > 0 {
			time.Sleep(n.interval)
		}
	}
	_ = conn.CloseWrite() // let the peer know no more data comes
	stdinDone.Store(true)
	if n.wait > 0 {
		_ = conn.SetReadDeadline(time.Now().Add(n.wait))
	}
	<-netDone
	return code
}

func (n *nc) count(sent, received int) {
	n.mu.Lock()
	n.sent += int64(sent)
	n.received += int64(received)
	n.mu.Unlock()
}

// readStdin reads r in one goroutine for the whole run, so -lk without -e
// can hand what the last connection left of it on to the next one. lines
// (-i) sends a line at a time. The channel is closed at the end of r; a nil
// r gives a closed channel.
func readStdin(r io.Reader, lines bool) <-chan []byte {
	ch := make(chan []byte)
	if r == nil {
		close(ch)
		return ch
	}
	go func() {
		defer close(ch)
		br := bufio.NewReaderSize(r, 8192)
		for {
			var b []byte
			var err error
			if lines {
				b, err = br.ReadSlice('\n')
				if errors.Is(err, bufio.ErrBufferFull) {
					err = nil
				}
				b = append([]byte(nil), b...)
			} else {
				b = make([]byte, 8192)
				var k int
				k, err = br.Read(b)
				b = b[:k]
			}
			if len(b) > 0 {
				ch <- b
			}
			if err != nil {
				return
			}
		}
	}()
	return ch
}
