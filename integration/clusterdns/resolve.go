package main

import (
	"net/netip"
	"slices"
	"time"

	"golang.org/x/net/dns/dnsmessage"
	corev1 "k8s.io/api/core/v1"
)

// maxChase bounds how many ExternalName CNAMEs inside the cluster domain one
// answer follows.
const maxChase = 8

// resolver answers questions about names in the cluster domain from records.
type resolver struct {
	domain string // canonical: lower case, no trailing dot
	ttl    uint32
	store  records
	soa    dnsmessage.Resource
}

func newResolver(domain string, ttl time.Duration, store records) (*resolver, error) {
	domain = canonical(domain)
	zone, err := dnsmessage.NewName(domain + ".")
	if err != nil {
		return nil, err
	}
	ns, err := dnsmessage.NewName("ns.dns." + domain + ".")
	if err != nil {
		return nil, err
	}
	mbox, err := dnsmessage.NewName("hostmaster." + domain + ".")
	if err != nil {
		return nil, err
	}
	secs := uint32(ttl / time.Second)
	return &resolver{
		domain: domain,
		ttl:    secs,
		store:  store,
		// The SOA that goes with negative answers; its minimum is the TTL
		// resolvers cache an NXDOMAIN or an empty answer for.
		soa: dnsmessage.Resource{
			Header: dnsmessage.ResourceHeader{Name: zone, Type: dnsmessage.TypeSOA, Class: dnsmessage.ClassINET, TTL: secs},
			Body: &dnsmessage.SOAResource{NS: ns, MBox: mbox, Serial: uint32(time.Now().Unix()),
				Refresh: 7200, Retry: 1800, Expire: 86400, MinTTL: secs},
		},
	}, nil
}

// result is the answer to one question.
type result struct {
	rcode   dnsmessage.RCode
	answers []dnsmessage.Resource
	// authoritative is set for names inside the cluster domain once the
	// caches are synced.
	authoritative bool
}

// answer resolves one question. Names outside the cluster domain are
// REFUSED: this server forwards nothing.
func (r *resolver) answer(q dnsmessage.Question) result {
	cn, inZone := parseName(canonical(q.Name.String()), r.domain)
	if !inZone || (q.Class != dnsmessage.ClassINET && q.Class != dnsmessage.ClassANY) {
		return result{rcode: dnsmessage.RCodeRefused}
	}
	if !r.store.synced() {
		return result{rcode: dnsmessage.RCodeServerFailure}
	}
	rcode, answers := r.lookup(q.Name, cn, q.Type, 0)
	return result{rcode: rcode, answers: answers, authoritative: true}
}

func (r *resolver) lookup(owner dnsmessage.Name, cn clusterName, qtype dnsmessage.Type, depth int) (dnsmessage.RCode, []dnsmessage.Resource) {
	switch cn.kind {
	case kindApex, kindPodNamespace:
		return dnsmessage.RCodeSuccess, nil
	case kindNamespace:
		if r.store.hasServices(cn.namespace) {
			return dnsmessage.RCodeSuccess, nil
		}
	case kindPod:
		return dnsmessage.RCodeSuccess, r.addresses(owner, qtype, []netip.Addr{cn.podIP})
	case kindService, kindEndpoint:
		svc := r.store.service(cn.namespace, cn.service)
		if svc == nil {
			break
		}
		if cn.kind == kindEndpoint {
			ips := r.endpointIPs(svc, cn.endpoint)
			if len(ips) == 0 {
				break
			}
			return dnsmessage.RCodeSuccess, r.addresses(owner, qtype, ips)
		}
		switch {
		case svc.Spec.Type == corev1.ServiceTypeExternalName:
			return r.externalName(owner, svc.Spec.ExternalName, qtype, depth)
		case svc.Spec.ClusterIP == corev1.ClusterIPNone:
			return dnsmessage.RCodeSuccess, r.addresses(owner, qtype, r.endpointIPs(svc, ""))
		default:
			return dnsmessage.RCodeSuccess, r.addresses(owner, qtype, clusterIPs(svc))
		}
	}
	return dnsmessage.RCodeNameError, nil
}

// externalName answers with a CNAME to the Service's external name and, when
// that name is in the cluster domain too, with what it resolves to.
func (r *resolver) externalName(owner dnsmessage.Name, external string, qtype dnsmessage.Type, depth int) (dnsmessage.RCode, []dnsmessage.Resource) {
	target := canonical(external)
	tname, err := dnsmessage.NewName(target + ".")
	if target == "" || err != nil {
		return dnsmessage.RCodeServerFailure, nil
	}
	rrs := []dnsmessage.Resource{{Header: r.header(owner, dnsmessage.TypeCNAME), Body: &dnsmessage.CNAMEResource{CNAME: tname}}}
	if qtype == dnsmessage.TypeCNAME {
		return dnsmessage.RCodeSuccess, rrs
	}
	if tcn, inZone := parseName(target, r.domain); inZone && depth < maxChase {
		rcode, more := r.lookup(tname, tcn, qtype, depth+1)
		return rcode, append(rrs, more...)
	}
	return dnsmessage.RCodeSuccess, rrs
}

// addresses makes the A (IPv4) or AAAA (IPv6) records the question asks for.
func (r *resolver) addresses(owner dnsmessage.Name, qtype dnsmessage.Type, ips []netip.Addr) []dnsmessage.Resource {
	var rrs []dnsmessage.Resource
	for _, ip := range ips {
		switch {
		case ip.Is4() && (qtype == dnsmessage.TypeA || qtype == dnsmessage.TypeALL):
			rrs = append(rrs, dnsmessage.Resource{Header: r.header(owner, dnsmessage.TypeA), Body: &dnsmessage.AResource{A: ip.As4()}})
		case ip.Is6() && (qtype == dnsmessage.TypeAAAA || qtype == dnsmessage.TypeALL):
			rrs = append(rrs, dnsmessage.Resource{Header: r.header(owner, dnsmessage.TypeAAAA), Body: &dnsmessage.AAAAResource{AAAA: ip.As16()}})
		}
	}
	return rrs
}

func (r *resolver) header(owner dnsmessage.Name, typ dnsmessage.Type) dnsmessage.ResourceHeader {
	return dnsmessage.ResourceHeader{Name: owner, Type: typ, Class: dnsmessage.ClassINET, TTL: r.ttl}
}

// clusterIPs are a Service's virtual IPs (both families when dual-stack).
func clusterIPs(svc *corev1.Service) []netip.Addr {
	ips := svc.Spec.ClusterIPs
	if len(ips) == 0 {
		ips = []string{svc.Spec.ClusterIP}
	}
	var out []netip.Addr
	for _, s := range ips {
		if ip, err := netip.ParseAddr(s); err == nil {
			out = append(out, ip.Unmap())
		}
	}
	return out
}

// endpointIPs are the addresses of the Service's ready endpoints, sorted and
// without duplicates; with a name, only those of the endpoint whose hostname
// or dashed address is that name.
func (r *resolver) endpointIPs(svc *corev1.Service, name string) []netip.Addr {
	var out []netip.Addr
	for _, slice := range r.store.endpointSlices(svc.Namespace, svc.Name) {
		for _, ep := range slice.Endpoints {
			if ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
				continue
			}
			for _, s := range ep.Addresses {
				ip, err := netip.ParseAddr(s)
				if err != nil {
					continue
				}
				ip = ip.Unmap()
				if name != "" && (ep.Hostname == nil || canonical(*ep.Hostname) != name) && dashed(ip) != name {
					continue
				}
				out = append(out, ip)
			}
		}
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return slices.Compact(out)
}
