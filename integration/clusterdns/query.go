package main

import (
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

var queryTypes = map[string]dnsmessage.Type{
	"A": dnsmessage.TypeA, "AAAA": dnsmessage.TypeAAAA, "CNAME": dnsmessage.TypeCNAME,
	"SOA": dnsmessage.TypeSOA, "SRV": dnsmessage.TypeSRV, "PTR": dnsmessage.TypePTR,
	"TXT": dnsmessage.TypeTXT, "MX": dnsmessage.TypeMX, "NS": dnsmessage.TypeNS, "ANY": dnsmessage.TypeALL,
}

// exchange sends one query to server over UDP or TCP and returns the reply.
func exchange(server, name string, qtype dnsmessage.Type, tcp bool, timeout time.Duration) (*dnsmessage.Message, error) {
	if !strings.HasSuffix(name, ".") {
		name += "."
	}
	qname, err := dnsmessage.NewName(name)
	if err != nil {
		return nil, err
	}
	return send(server, dnsmessage.Message{
		Header:    dnsmessage.Header{ID: uint16(rand.Uint32()), RecursionDesired: true},
		Questions: []dnsmessage.Question{{Name: qname, Type: qtype, Class: dnsmessage.ClassINET}},
	}, tcp, timeout)
}

// send sends the query q and returns the reply.
func send(server string, q dnsmessage.Message, tcp bool, timeout time.Duration) (*dnsmessage.Message, error) {
	req, err := q.Pack()
	if err != nil {
		return nil, err
	}
	network := "udp"
	if tcp {
		network = "tcp"
	}
	c, err := net.DialTimeout(network, server, timeout)
	if err != nil {
		return nil, err
	}
	defer func() { _ = c.Close() }()
	if err := c.SetDeadline(time.Now().Add(timeout)); err != nil {
		return nil, err
	}
	var resp []byte
	if tcp {
		if _, err := c.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(req))), req...)); err != nil {
			return nil, err
		}
		var n [2]byte
		if _, err := io.ReadFull(c, n[:]); err != nil {
			return nil, err
		}
		resp = make([]byte, binary.BigEndian.Uint16(n[:]))
		if _, err := io.ReadFull(c, resp); err != nil {
			return nil, err
		}
	} else {
		if _, err := c.Write(req); err != nil {
			return nil, err
		}
		buf := make([]byte, 65535)
		n, err := c.Read(buf)
		if err != nil {
			return nil, err
		}
		resp = buf[:n]
	}
	var m dnsmessage.Message
	if err := m.Unpack(resp); err != nil {
		return nil, err
	}
	if m.ID != q.ID || !m.Response {
		return nil, errors.New("the reply does not match the query")
	}
	return &m, nil
}

// queryMain is `clusterdns query`: a small dig for scripts. It exits 0 when
// the answer has records, 1 when it has none or the response code is not
// NOERROR, 2 when no answer came.
func queryMain(args []string) int {
	fs := flag.NewFlagSet("clusterdns query", flag.ContinueOnError)
	server := fs.String("server", "127.0.0.1:53", "DNS server `host:port`")
	typ := fs.String("type", "A", "query type: A, AAAA, CNAME, SOA, SRV, PTR, TXT, MX, NS or ANY")
	tcp := fs.Bool("tcp", false, "query over TCP (UDP answers with the TC bit are retried over TCP anyway)")
	timeout := fs.Duration("timeout", 2*time.Second, "time to wait for the answer")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: clusterdns query [flags] NAME")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 {
		if err == nil {
			fs.Usage()
		}
		return 2
	}
	qtype, ok := queryTypes[strings.ToUpper(*typ)]
	if !ok {
		fmt.Fprintf(os.Stderr, "clusterdns query: unknown type %q\n", *typ)
		return 2
	}
	m, err := exchange(*server, fs.Arg(0), qtype, *tcp, *timeout)
	if err == nil && m.Truncated && !*tcp {
		m, err = exchange(*server, fs.Arg(0), qtype, true, *timeout)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "clusterdns query: %v\n", err)
		return 2
	}
	fmt.Printf("status: %s, %d answers\n", rcodeName(m.RCode), len(m.Answers))
	for _, rr := range m.Answers {
		fmt.Printf("%s\t%d\t%s\t%s\n", rr.Header.Name, rr.Header.TTL, typeName(rr.Header.Type), rdata(rr.Body))
	}
	if m.RCode != dnsmessage.RCodeSuccess || len(m.Answers) == 0 {
		return 1
	}
	return 0
}

// rdata prints a record's data the way zone files do, for the types this
// server sends.
func rdata(b dnsmessage.ResourceBody) string {
	switch b := b.(type) {
	case *dnsmessage.AResource:
		return netip.AddrFrom4(b.A).String()
	case *dnsmessage.AAAAResource:
		return netip.AddrFrom16(b.AAAA).String()
	case *dnsmessage.CNAMEResource:
		return b.CNAME.String()
	case *dnsmessage.SOAResource:
		return fmt.Sprintf("%s %s %d %d %d %d %d", b.NS, b.MBox, b.Serial, b.Refresh, b.Retry, b.Expire, b.MinTTL)
	}
	return fmt.Sprintf("%+v", b)
}
