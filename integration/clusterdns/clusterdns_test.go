package main

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
)

func TestParseName(t *testing.T) {
	const domain = "cluster.local"
	tests := []struct {
		name   string
		inZone bool
		want   clusterName
	}{
		{"cluster.local", true, clusterName{kind: kindApex}},
		{"svc.cluster.local", true, clusterName{kind: kindApex}},
		{"pod.cluster.local", true, clusterName{kind: kindApex}},
		{"argo.svc.cluster.local", true, clusterName{kind: kindNamespace, namespace: "argo"}},
		{"minio.argo.svc.cluster.local", true, clusterName{kind: kindService, service: "minio", namespace: "argo"}},
		{"db-0.db.argo.svc.cluster.local", true, clusterName{kind: kindEndpoint, endpoint: "db-0", service: "db", namespace: "argo"}},
		{"_http._tcp.minio.argo.svc.cluster.local", true, clusterName{kind: kindNone}},
		{"argo.pod.cluster.local", true, clusterName{kind: kindPodNamespace, namespace: "argo"}},
		{"198-18-0-7.argo.pod.cluster.local", true, clusterName{kind: kindPod, namespace: "argo", podIP: netip.MustParseAddr("198.18.0.7")}},
		{"fd00--7.argo.pod.cluster.local", true, clusterName{kind: kindPod, namespace: "argo", podIP: netip.MustParseAddr("fd00::7")}},
		{"198-18-0.argo.pod.cluster.local", true, clusterName{kind: kindNone}},
		{"x.y.argo.pod.cluster.local", true, clusterName{kind: kindNone}},
		{"minio.argo.cluster.local", true, clusterName{kind: kindNone}},
		{"foo.cluster.local", true, clusterName{kind: kindNone}},
		{"github.com", false, clusterName{}},
		{"local", false, clusterName{}},
		{"notcluster.local", false, clusterName{}},
		{"minio.argo.svc.cluster.local.example.com", false, clusterName{}},
	}
	for _, tt := range tests {
		got, inZone := parseName(tt.name, domain)
		if inZone != tt.inZone || got != tt.want {
			t.Errorf("parseName(%q) = %+v, %v; want %+v, %v", tt.name, got, inZone, tt.want, tt.inZone)
		}
	}
	if got := canonical("MinIO.Argo.SVC.Cluster.Local."); got != "minio.argo.svc.cluster.local" {
		t.Errorf("canonical = %q", got)
	}
}

func TestDashed(t *testing.T) {
	for _, s := range []string{"198.18.0.7", "fd00::7", "2001:db8::1:2"} {
		ip := netip.MustParseAddr(s)
		back, ok := parseDashed(dashed(ip))
		if !ok || back != ip {
			t.Errorf("parseDashed(dashed(%s)) = %s, %v", s, back, ok)
		}
	}
	for _, s := range []string{"", "1-2-3", "1-2-3-4-5", "db-0", "fe80--1%eth0"} {
		if ip, ok := parseDashed(s); ok {
			t.Errorf("parseDashed(%q) = %s, want no address", s, ip)
		}
	}
}

func service(ns, name string, mutate func(*corev1.Service)) *corev1.Service {
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	mutate(svc)
	return svc
}

type ep struct {
	ip       string
	ready    *bool
	hostname string
}

func endpointSlice(ns, name, svc string, eps ...ep) *discoveryv1.EndpointSlice {
	s := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{discoveryv1.LabelServiceName: svc}},
		AddressType: discoveryv1.AddressTypeIPv4,
	}
	for _, e := range eps {
		var host *string
		if e.hostname != "" {
			host = &e.hostname
		}
		s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{
			Addresses: []string{e.ip}, Hostname: host, Conditions: discoveryv1.EndpointConditions{Ready: e.ready},
		})
	}
	return s
}

// startServer serves the objects from a fake clientset on 127.0.0.1:0.
func startServer(t *testing.T, objs ...runtime.Object) (*server, *fake.Clientset) {
	t.Helper()
	client := fake.NewClientset(objs...)
	store := newInformerStore(client, t.Logf)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	store.start(ctx.Done())
	if !store.waitForSync(ctx.Done()) {
		t.Fatal("caches did not sync")
	}
	res, err := newResolver("cluster.local.", 5*time.Second, store)
	if err != nil {
		t.Fatal(err)
	}
	srv := newServer(res, testing.Verbose())
	srv.logf = t.Logf
	if err := srv.listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	srv.serve()
	t.Cleanup(srv.close)
	return srv, client
}

// answers prints a reply's answer section as sorted "TYPE rdata" lines.
func answers(m *dnsmessage.Message) []string {
	var out []string
	for _, rr := range m.Answers {
		out = append(out, typeName(rr.Header.Type)+" "+rdata(rr.Body))
	}
	slices.Sort(out)
	return out
}

func TestServer(t *testing.T) {
	yes, no := new(bool), new(bool)
	*yes = true
	srv, client := startServer(t,
		service("argo", "minio", func(s *corev1.Service) {
			s.Spec.ClusterIP, s.Spec.ClusterIPs = "198.19.1.10", []string{"198.19.1.10"}
		}),
		service("argo", "dual", func(s *corev1.Service) {
			s.Spec.ClusterIP, s.Spec.ClusterIPs = "198.19.1.11", []string{"198.19.1.11", "fd00::11"}
		}),
		service("argo", "db", func(s *corev1.Service) { s.Spec.ClusterIP = corev1.ClusterIPNone }),
		endpointSlice("argo", "db-a", "db", ep{ip: "198.18.0.6", ready: yes, hostname: "db-0"}, ep{ip: "198.18.0.5"}, ep{ip: "198.18.0.7", ready: no}),
		endpointSlice("argo", "db-b", "db", ep{ip: "198.18.0.6", ready: yes, hostname: "db-0"}),
		endpointSlice("argo", "other", "minio", ep{ip: "198.18.0.9", ready: yes}),
		service("argo", "empty", func(s *corev1.Service) { s.Spec.ClusterIP = corev1.ClusterIPNone }),
		service("argo", "alias", func(s *corev1.Service) {
			s.Spec.Type, s.Spec.ExternalName = corev1.ServiceTypeExternalName, "minio.argo.svc.cluster.local"
		}),
		service("argo", "outside", func(s *corev1.Service) {
			s.Spec.Type, s.Spec.ExternalName = corev1.ServiceTypeExternalName, "example.com"
		}),
		service("default", "kubernetes", func(s *corev1.Service) { s.Spec.ClusterIP = "198.19.0.1" }),
	)

	tests := []struct {
		name    string
		qtype   dnsmessage.Type
		rcode   dnsmessage.RCode
		answers []string
	}{
		{"minio.argo.svc.cluster.local", dnsmessage.TypeA, dnsmessage.RCodeSuccess, []string{"A 198.19.1.10"}},
		{"MinIO.Argo.svc.Cluster.Local", dnsmessage.TypeA, dnsmessage.RCodeSuccess, []string{"A 198.19.1.10"}},
		{"kubernetes.default.svc.cluster.local", dnsmessage.TypeA, dnsmessage.RCodeSuccess, []string{"A 198.19.0.1"}},
		{"minio.argo.svc.cluster.local", dnsmessage.TypeAAAA, dnsmessage.RCodeSuccess, nil},
		{"minio.argo.svc.cluster.local", dnsmessage.TypeTXT, dnsmessage.RCodeSuccess, nil},
		{"minio.argo.svc.cluster.local", dnsmessage.TypeALL, dnsmessage.RCodeSuccess, []string{"A 198.19.1.10"}},
		{"dual.argo.svc.cluster.local", dnsmessage.TypeA, dnsmessage.RCodeSuccess, []string{"A 198.19.1.11"}},
		{"dual.argo.svc.cluster.local", dnsmessage.TypeAAAA, dnsmessage.RCodeSuccess, []string{"AAAA fd00::11"}},
		// Headless: the ready endpoints (ready unset counts as ready), once each.
		{"db.argo.svc.cluster.local", dnsmessage.TypeA, dnsmessage.RCodeSuccess, []string{"A 198.18.0.5", "A 198.18.0.6"}},
		{"db.argo.svc.cluster.local", dnsmessage.TypeAAAA, dnsmessage.RCodeSuccess, nil},
		{"db-0.db.argo.svc.cluster.local", dnsmessage.TypeA, dnsmessage.RCodeSuccess, []string{"A 198.18.0.6"}},
		{"198-18-0-5.db.argo.svc.cluster.local", dnsmessage.TypeA, dnsmessage.RCodeSuccess, []string{"A 198.18.0.5"}},
		{"198-18-0-7.db.argo.svc.cluster.local", dnsmessage.TypeA, dnsmessage.RCodeNameError, nil},
		{"db-1.db.argo.svc.cluster.local", dnsmessage.TypeA, dnsmessage.RCodeNameError, nil},
		{"empty.argo.svc.cluster.local", dnsmessage.TypeA, dnsmessage.RCodeSuccess, nil},
		// ExternalName: a CNAME, followed when it stays in the cluster domain.
		{"alias.argo.svc.cluster.local", dnsmessage.TypeA, dnsmessage.RCodeSuccess, []string{"A 198.19.1.10", "CNAME minio.argo.svc.cluster.local."}},
		{"alias.argo.svc.cluster.local", dnsmessage.TypeCNAME, dnsmessage.RCodeSuccess, []string{"CNAME minio.argo.svc.cluster.local."}},
		{"outside.argo.svc.cluster.local", dnsmessage.TypeA, dnsmessage.RCodeSuccess, []string{"CNAME example.com."}},
		{"198-18-0-7.argo.pod.cluster.local", dnsmessage.TypeA, dnsmessage.RCodeSuccess, []string{"A 198.18.0.7"}},
		{"198-18-0-7.argo.pod.cluster.local", dnsmessage.TypeAAAA, dnsmessage.RCodeSuccess, nil},
		{"198-18-0.argo.pod.cluster.local", dnsmessage.TypeA, dnsmessage.RCodeNameError, nil},
		{"cluster.local", dnsmessage.TypeA, dnsmessage.RCodeSuccess, nil},
		{"svc.cluster.local", dnsmessage.TypeA, dnsmessage.RCodeSuccess, nil},
		{"argo.svc.cluster.local", dnsmessage.TypeA, dnsmessage.RCodeSuccess, nil},
		{"nosuchns.svc.cluster.local", dnsmessage.TypeA, dnsmessage.RCodeNameError, nil},
		{"nope.argo.svc.cluster.local", dnsmessage.TypeA, dnsmessage.RCodeNameError, nil},
		{"nope.argo.svc.cluster.local", dnsmessage.TypeAAAA, dnsmessage.RCodeNameError, nil},
		{"minio.nosuchns.svc.cluster.local", dnsmessage.TypeA, dnsmessage.RCodeNameError, nil},
		{"minio.argo.cluster.local", dnsmessage.TypeA, dnsmessage.RCodeNameError, nil},
		{"a.b.c.d.e.svc.cluster.local", dnsmessage.TypeA, dnsmessage.RCodeNameError, nil},
		// Outside the cluster domain: refused at once, never forwarded.
		{"github.com", dnsmessage.TypeA, dnsmessage.RCodeRefused, nil},
		{"minio", dnsmessage.TypeA, dnsmessage.RCodeRefused, nil},
		{"1.0.19.198.in-addr.arpa", dnsmessage.TypePTR, dnsmessage.RCodeRefused, nil},
	}
	for _, tcp := range []bool{false, true} {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/%s/%s", proto(!tcp), tt.name, typeName(tt.qtype)), func(t *testing.T) {
				start := time.Now()
				m, err := exchange(srv.addr(), tt.name, tt.qtype, tcp, 2*time.Second)
				if err != nil {
					t.Fatal(err)
				}
				if d := time.Since(start); d > time.Second {
					t.Errorf("the answer took %s", d)
				}
				if m.RCode != tt.rcode {
					t.Errorf("rcode %s, want %s", rcodeName(m.RCode), rcodeName(tt.rcode))
				}
				if got := answers(m); !slices.Equal(got, tt.answers) {
					t.Errorf("answers %q, want %q", got, tt.answers)
				}
				if len(m.Questions) != 1 || !strings.EqualFold(m.Questions[0].Name.String(), tt.name+".") {
					t.Errorf("question section %v", m.Questions)
				}
				inZone := tt.rcode != dnsmessage.RCodeRefused
				if m.Authoritative != inZone {
					t.Errorf("authoritative %v, want %v", m.Authoritative, inZone)
				}
				for _, rr := range m.Answers {
					if rr.Header.TTL != 5 {
						t.Errorf("TTL %d, want 5", rr.Header.TTL)
					}
				}
				// Negative answers carry the SOA, so resolvers cache them for 5 s.
				wantSOA := inZone && len(tt.answers) == 0
				if gotSOA := len(m.Authorities) == 1 && m.Authorities[0].Header.Type == dnsmessage.TypeSOA; gotSOA != wantSOA {
					t.Errorf("SOA in the authority section: %v, want %v", gotSOA, wantSOA)
				} else if wantSOA && m.Authorities[0].Body.(*dnsmessage.SOAResource).MinTTL != 5 {
					t.Errorf("SOA minimum %d, want 5", m.Authorities[0].Body.(*dnsmessage.SOAResource).MinTTL)
				}
			})
		}
	}

	// The informers keep the answers current.
	ctx := context.Background()
	_, err := client.CoreV1().Services("argo").Create(ctx, service("argo", "late", func(s *corev1.Service) {
		s.Spec.ClusterIP = "198.19.1.12"
	}), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitForAnswer(t, srv, "late.argo.svc.cluster.local", []string{"A 198.19.1.12"})
	if err := client.CoreV1().Services("argo").Delete(ctx, "minio", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitForAnswer(t, srv, "minio.argo.svc.cluster.local", nil)
}

func waitForAnswer(t *testing.T, srv *server, name string, want []string) {
	t.Helper()
	var got []string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		m, err := exchange(srv.addr(), name, dnsmessage.TypeA, false, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if got = answers(m); slices.Equal(got, want) {
			return
		}
	}
	t.Fatalf("%s: answers %q, want %q", name, got, want)
}

// TestTruncation: a UDP answer that does not fit is sent empty with the TC
// bit; TCP carries all of it.
func TestTruncation(t *testing.T) {
	var eps []ep
	for i := range 60 {
		eps = append(eps, ep{ip: fmt.Sprintf("198.18.0.%d", 10+i)})
	}
	srv, _ := startServer(t,
		service("argo", "big", func(s *corev1.Service) { s.Spec.ClusterIP = corev1.ClusterIPNone }),
		endpointSlice("argo", "big-a", "big", eps...),
	)
	const name = "big.argo.svc.cluster.local."
	m, err := exchange(srv.addr(), name, dnsmessage.TypeA, false, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !m.Truncated || len(m.Answers) != 0 || m.RCode != dnsmessage.RCodeSuccess {
		t.Errorf("UDP without EDNS: truncated %v, %d answers, %s; want truncated and empty", m.Truncated, len(m.Answers), rcodeName(m.RCode))
	}

	// With EDNS (1232 bytes here) the 60 addresses fit; the answer carries an OPT record.
	qname := dnsmessage.MustNewName(name)
	var opt dnsmessage.ResourceHeader
	if err := opt.SetEDNS0(4096, dnsmessage.RCodeSuccess, false); err != nil {
		t.Fatal(err)
	}
	q := dnsmessage.Message{
		Header:      dnsmessage.Header{ID: 7, RecursionDesired: true},
		Questions:   []dnsmessage.Question{{Name: qname, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET}},
		Additionals: []dnsmessage.Resource{{Header: opt, Body: &dnsmessage.OPTResource{}}},
	}
	m, err = send(srv.addr(), q, false, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if m.Truncated || len(m.Answers) != 60 {
		t.Errorf("UDP with EDNS: truncated %v, %d answers; want 60", m.Truncated, len(m.Answers))
	}
	if len(m.Additionals) != 1 || m.Additionals[0].Header.Type != dnsmessage.TypeOPT || m.Additionals[0].Header.Class != ednsUDPSize {
		t.Errorf("additional section %+v, want an OPT record offering %d bytes", m.Additionals, ednsUDPSize)
	}

	m, err = exchange(srv.addr(), name, dnsmessage.TypeA, true, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if m.Truncated || len(m.Answers) != 60 {
		t.Errorf("TCP: truncated %v, %d answers; want 60", m.Truncated, len(m.Answers))
	}
}

// TestMalformed: what is not one plain query gets an error code or nothing.
func TestMalformed(t *testing.T) {
	srv, _ := startServer(t, service("default", "kubernetes", func(s *corev1.Service) { s.Spec.ClusterIP = "198.19.0.1" }))
	pack := func(m dnsmessage.Message) []byte {
		b, err := m.Pack()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	q := dnsmessage.Question{Name: dnsmessage.MustNewName("kubernetes.default.svc.cluster.local."), Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET}
	reply := func(req []byte) *dnsmessage.Message {
		b := srv.handle(req, true, nil)
		if b == nil {
			return nil
		}
		var m dnsmessage.Message
		if err := m.Unpack(b); err != nil {
			t.Fatal(err)
		}
		return &m
	}
	if m := reply([]byte{1, 2, 3}); m != nil {
		t.Errorf("3 bytes: got an answer %+v", m.Header)
	}
	if m := reply(pack(dnsmessage.Message{Header: dnsmessage.Header{ID: 1, Response: true}, Questions: []dnsmessage.Question{q}})); m != nil {
		t.Errorf("a response: got an answer %+v", m.Header)
	}
	if m := reply(pack(dnsmessage.Message{Header: dnsmessage.Header{ID: 2}, Questions: []dnsmessage.Question{q, q}})); m == nil || m.RCode != dnsmessage.RCodeFormatError || m.ID != 2 {
		t.Errorf("two questions: got %+v, want FORMERR", m)
	}
	if m := reply(pack(dnsmessage.Message{Header: dnsmessage.Header{ID: 3, OpCode: 2}, Questions: []dnsmessage.Question{q}})); m == nil || m.RCode != dnsmessage.RCodeNotImplemented {
		t.Errorf("opcode STATUS: got %+v, want NOTIMP", m)
	}
	q.Class = dnsmessage.Class(3) // CHAOS
	if m := reply(pack(dnsmessage.Message{Header: dnsmessage.Header{ID: 4}, Questions: []dnsmessage.Question{q}})); m == nil || m.RCode != dnsmessage.RCodeRefused {
		t.Errorf("class CHAOS: got %+v, want REFUSED", m)
	}
	// A header with a question count but a cut-off question.
	if m := reply([]byte{0, 5, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, 'a'}); m == nil || m.RCode != dnsmessage.RCodeFormatError || m.ID != 5 {
		t.Errorf("cut-off question: got %+v, want FORMERR", m)
	}
}

// notSynced is a store whose caches never fill.
type notSynced struct{}

func (notSynced) synced() bool                                               { return false }
func (notSynced) service(string, string) *corev1.Service                     { return nil }
func (notSynced) endpointSlices(string, string) []*discoveryv1.EndpointSlice { return nil }
func (notSynced) hasServices(string) bool                                    { return false }

// TestNotSynced: before the first list, cluster names get SERVFAIL (never a
// cacheable NXDOMAIN); other names are still refused.
func TestNotSynced(t *testing.T) {
	res, err := newResolver("cluster.local", 5*time.Second, notSynced{})
	if err != nil {
		t.Fatal(err)
	}
	ask := func(name string) dnsmessage.RCode {
		return res.answer(dnsmessage.Question{Name: dnsmessage.MustNewName(name), Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET}).rcode
	}
	if rc := ask("minio.argo.svc.cluster.local."); rc != dnsmessage.RCodeServerFailure {
		t.Errorf("cluster name: %s, want SERVFAIL", rcodeName(rc))
	}
	if rc := ask("github.com."); rc != dnsmessage.RCodeRefused {
		t.Errorf("outside name: %s, want REFUSED", rcodeName(rc))
	}
}
