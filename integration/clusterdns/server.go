package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"log"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

const (
	// plainUDPSize is the largest UDP answer to a query without EDNS.
	plainUDPSize = 512
	// ednsUDPSize is the UDP payload size this server advertises and the
	// largest it sends, whatever a client offers (the DNS flag day value).
	ednsUDPSize = 1232
	// tcpIdle is how long a TCP connection may wait for its next query.
	tcpIdle = 10 * time.Second
)

// server answers DNS queries over UDP and TCP with a resolver.
type server struct {
	res     *resolver
	verbose bool
	logf    func(format string, args ...any)

	mu     sync.Mutex
	closed bool
	pc     net.PacketConn
	ln     net.Listener
	conns  map[net.Conn]struct{}
	wg     sync.WaitGroup
}

func newServer(res *resolver, verbose bool) *server {
	return &server{res: res, verbose: verbose, logf: log.Printf, conns: map[net.Conn]struct{}{}}
}

// listen binds UDP and TCP on the same address. With port 0 it picks a port
// free for both.
func (s *server) listen(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			return err
		}
		udpPort := strconv.Itoa(pc.LocalAddr().(*net.UDPAddr).Port)
		ln, err := net.Listen("tcp", net.JoinHostPort(host, udpPort))
		if err != nil {
			_ = pc.Close()
			if port == "0" && attempt < 10 {
				continue
			}
			return err
		}
		s.pc, s.ln = pc, ln
		return nil
	}
}

// addr is the address the server listens on (the same for UDP and TCP).
func (s *server) addr() string { return s.pc.LocalAddr().String() }

// serve answers queries until close; it returns at once.
func (s *server) serve() {
	s.wg.Add(2)
	go func() { defer s.wg.Done(); s.serveUDP() }()
	go func() { defer s.wg.Done(); s.serveTCP() }()
}

// close stops the listeners and open TCP connections and waits for them.
func (s *server) close() {
	s.mu.Lock()
	s.closed = true
	_ = s.pc.Close()
	_ = s.ln.Close()
	for c := range s.conns {
		_ = c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

func (s *server) serveUDP() {
	buf := make([]byte, 65535)
	for {
		n, from, err := s.pc.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) || s.isClosed() {
				return
			}
			s.logf("error: reading a UDP query: %v", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		if resp := s.handle(buf[:n], true, from); resp != nil {
			if _, err := s.pc.WriteTo(resp, from); err != nil && !s.isClosed() {
				s.logf("error: answering %s over UDP: %v", from, err)
			}
		}
	}
}

func (s *server) serveTCP() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) || s.isClosed() {
				return
			}
			s.logf("error: accepting a TCP connection: %v", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			_ = c.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			s.serveConn(c)
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
		}()
	}
}

// serveConn answers length-prefixed queries on one TCP connection, in order,
// until the client closes it or stays idle for tcpIdle.
func (s *server) serveConn(c net.Conn) {
	defer func() { _ = c.Close() }()
	r := bufio.NewReader(c)
	for {
		if err := c.SetDeadline(time.Now().Add(tcpIdle)); err != nil {
			return
		}
		var n [2]byte
		if _, err := io.ReadFull(r, n[:]); err != nil {
			return
		}
		msg := make([]byte, binary.BigEndian.Uint16(n[:]))
		if _, err := io.ReadFull(r, msg); err != nil {
			return
		}
		resp := s.handle(msg, false, c.RemoteAddr())
		if resp == nil {
			return
		}
		out := binary.BigEndian.AppendUint16(make([]byte, 0, 2+len(resp)), uint16(len(resp)))
		if _, err := c.Write(append(out, resp...)); err != nil {
			return
		}
	}
}

// handle answers one query message; nil means no answer (not a query, or
// too short to have an ID).
func (s *server) handle(req []byte, udp bool, from net.Addr) []byte {
	var p dnsmessage.Parser
	h, err := p.Start(req)
	if err != nil || h.Response {
		return nil
	}
	resp := dnsmessage.Message{Header: dnsmessage.Header{
		ID: h.ID, Response: true, OpCode: h.OpCode, RecursionDesired: h.RecursionDesired,
	}}
	questions, err := p.AllQuestions()
	if err != nil {
		resp.RCode = dnsmessage.RCodeFormatError
		return s.pack(&resp, plainUDPSize)
	}
	limit := plainUDPSize
	edns := false
	if p.SkipAllAnswers() == nil && p.SkipAllAuthorities() == nil {
		for {
			rh, err := p.AdditionalHeader()
			if err != nil {
				break
			}
			if rh.Type == dnsmessage.TypeOPT {
				edns = true
				limit = min(max(int(rh.Class), plainUDPSize), ednsUDPSize)
			}
			if p.SkipAdditional() != nil {
				break
			}
		}
	}
	if edns {
		var opt dnsmessage.ResourceHeader
		if opt.SetEDNS0(ednsUDPSize, dnsmessage.RCodeSuccess, false) == nil {
			resp.Additionals = []dnsmessage.Resource{{Header: opt, Body: &dnsmessage.OPTResource{}}}
		}
	}
	if !udp {
		limit = 65535
	}

	switch {
	case h.OpCode != 0:
		resp.RCode = dnsmessage.RCodeNotImplemented
	case len(questions) != 1:
		resp.RCode = dnsmessage.RCodeFormatError
	default:
		q := questions[0]
		resp.Questions = questions
		res := s.res.answer(q)
		resp.RCode, resp.Answers, resp.Authoritative = res.rcode, res.answers, res.authoritative
		// Negative answers carry the zone's SOA so resolvers cache them for its minimum TTL.
		if res.authoritative && (res.rcode == dnsmessage.RCodeNameError || len(res.answers) == 0) {
			resp.Authorities = []dnsmessage.Resource{s.res.soa}
		}
		if s.verbose {
			s.logf("%s %s %s from %s: %s, %d answers", proto(udp), typeName(q.Type), q.Name, from, rcodeName(res.rcode), len(res.answers))
		}
	}
	return s.pack(&resp, limit)
}

// pack encodes a response; one larger than limit loses its records and gets
// the TC bit, so the client asks again over TCP.
func (s *server) pack(m *dnsmessage.Message, limit int) []byte {
	b, err := m.Pack()
	if err != nil {
		s.logf("error: packing the answer to %v: %v", m.Questions, err)
		m.Answers, m.Authorities = nil, nil
		m.RCode = dnsmessage.RCodeServerFailure
		if b, err = m.Pack(); err != nil {
			return nil
		}
	}
	if len(b) > limit {
		m.Truncated = true
		m.Answers, m.Authorities = nil, nil
		if b, err = m.Pack(); err != nil {
			return nil
		}
	}
	return b
}

// typeName is a record type's name without dnsmessage's "Type" prefix.
func typeName(t dnsmessage.Type) string {
	if t == dnsmessage.TypeALL {
		return "ANY"
	}
	return strings.TrimPrefix(t.String(), "Type")
}

func proto(udp bool) string {
	if udp {
		return "udp"
	}
	return "tcp"
}

// rcodeName is the name dig prints for a response code.
func rcodeName(rc dnsmessage.RCode) string {
	switch rc {
	case dnsmessage.RCodeSuccess:
		return "NOERROR"
	case dnsmessage.RCodeFormatError:
		return "FORMERR"
	case dnsmessage.RCodeServerFailure:
		return "SERVFAIL"
	case dnsmessage.RCodeNameError:
		return "NXDOMAIN"
	case dnsmessage.RCodeNotImplemented:
		return "NOTIMP"
	case dnsmessage.RCodeRefused:
		return "REFUSED"
	}
	return "RCODE" + strconv.Itoa(int(rc))
}
