package main

import (
	"net/netip"
	"strings"
)

// nameKind says which shape of cluster name a query asks for.
type nameKind int

const (
	// kindNone is a name inside the cluster domain that no record can have
	// (a wrong shape, an unknown second-level label, a malformed pod IP).
	kindNone nameKind = iota
	// kindApex is the domain itself, svc.<domain> or pod.<domain>.
	kindApex
	// kindNamespace is <ns>.svc.<domain>.
	kindNamespace
	// kindService is <svc>.<ns>.svc.<domain>.
	kindService
	// kindEndpoint is <endpoint>.<svc>.<ns>.svc.<domain>: an endpoint's
	// hostname, or its address with dashes (198-18-0-7).
	kindEndpoint
	// kindPodNamespace is <ns>.pod.<domain>.
	kindPodNamespace
	// kindPod is <a-b-c-d>.<ns>.pod.<domain>.
	kindPod
)

// clusterName is a query name inside the cluster domain, taken apart.
type clusterName struct {
	kind      nameKind
	namespace string
	service   string
	endpoint  string
	podIP     netip.Addr
}

// canonical lowercases a DNS name and drops its trailing dot.
func canonical(name string) string {
	return strings.TrimSuffix(strings.ToLower(name), ".")
}

// parseName takes a canonical name apart against the canonical cluster
// domain. inZone is false for names outside the domain.
func parseName(name, domain string) (cn clusterName, inZone bool) {
	if name == domain {
		return clusterName{kind: kindApex}, true
	}
	rest, ok := strings.CutSuffix(name, "."+domain)
	if !ok || rest == "" {
		return clusterName{}, false
	}
	labels := strings.Split(rest, ".")
	last := len(labels) - 1
	switch labels[last] {
	case "svc":
		switch last {
		case 0:
			return clusterName{kind: kindApex}, true
		case 1:
			return clusterName{kind: kindNamespace, namespace: labels[0]}, true
		case 2:
			return clusterName{kind: kindService, service: labels[0], namespace: labels[1]}, true
		case 3:
			return clusterName{kind: kindEndpoint, endpoint: labels[0], service: labels[1], namespace: labels[2]}, true
		}
	case "pod":
		switch last {
		case 0:
			return clusterName{kind: kindApex}, true
		case 1:
			return clusterName{kind: kindPodNamespace, namespace: labels[0]}, true
		case 2:
			if ip, ok := parseDashed(labels[0]); ok {
				return clusterName{kind: kindPod, podIP: ip, namespace: labels[1]}, true
			}
		}
	}
	return clusterName{kind: kindNone}, true
}

// parseDashed reads an address written with dashes for its dots (IPv4,
// 198-18-0-7) or colons (IPv6, 2001-db8--7), as pod and endpoint names do.
func parseDashed(label string) (netip.Addr, bool) {
	if ip, err := netip.ParseAddr(strings.ReplaceAll(label, "-", ".")); err == nil && ip.Is4() {
		return ip, true
	}
	if ip, err := netip.ParseAddr(strings.ReplaceAll(label, "-", ":")); err == nil && ip.Is6() && ip.Zone() == "" {
		return ip, true
	}
	return netip.Addr{}, false
}

// dashed writes an address the way parseDashed reads it.
func dashed(ip netip.Addr) string {
	if ip.Is4() {
		return strings.ReplaceAll(ip.String(), ".", "-")
	}
	return strings.ReplaceAll(ip.String(), ":", "-")
}
