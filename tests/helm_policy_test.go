package tests

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

// checkPolicies: with networkPolicy.enabled, every pod is under a
// NetworkPolicy and may be reached, port by port, by exactly whom the
// chart promises: dtm's HTTP and gRPC ports by flashsale and orders, the
// order service by flashsale and dtm, flashsale's internal listener by
// dtm and orders, the shopper and admin ports by shopperFrom / adminFrom
// (anyone when empty), dtm's HTTP port and the order service's by
// metricsFrom too.
func (c *helmCheck) checkPolicies() {
	if !c.v.NetworkPolicy.Enabled {
		if len(c.objs.Policies) != 0 {
			c.errorf("%d NetworkPolicies with networkPolicy.enabled off; want none", len(c.objs.Policies))
		}
		return
	}
	got := c.ingress()
	peers := func(l []map[string]any, none ...string) []string {
		keys, err := helmPeers(l)
		if err != nil {
			c.errorf("networkPolicy values: %v", err)
		}
		if len(keys) == 0 {
			return none
		}
		return keys
	}
	metrics := peers(c.v.NetworkPolicy.MetricsFrom)
	port := func(s composeService, key string) int32 {
		_, p, _ := net.SplitHostPort(s.Environment[key])
		n, _ := strconv.Atoi(p)
		return int32(n)
	}
	flag := func(s composeService, f string) int32 {
		n, _ := strconv.Atoi(s.flag(f))
		return int32(n)
	}
	dtm, orders, flashsale := c.cluster["dtm"], c.cluster["orders"], c.cluster["flashsale"]
	want := map[string]map[int32][]string{}
	for _, d := range c.deployments("dtm") {
		want[d.Name] = map[int32][]string{
			flag(dtm, "-http-port"): append([]string{"pods:flashsale", "pods:orders"}, metrics...),
			flag(dtm, "-grpc-port"): {"pods:flashsale", "pods:orders"},
		}
	}
	for _, d := range c.deployments("orders") {
		want[d.Name] = map[int32][]string{port(orders, "ORDERS_ADDR"): append([]string{"pods:dtm", "pods:flashsale"}, metrics...)}
	}
	for _, d := range c.deployments("flashsale") {
		want[d.Name] = map[int32][]string{
			port(flashsale, "FLASHSALE_ADDR"):          peers(c.v.NetworkPolicy.ShopperFrom, "anyone"),
			port(flashsale, "FLASHSALE_ADMIN_ADDR"):    peers(c.v.NetworkPolicy.AdminFrom, "anyone"),
			port(flashsale, "FLASHSALE_INTERNAL_ADDR"): {"pods:dtm", "pods:orders"},
		}
	}
	for name, ports := range want {
		if helmIngressString(got[name]) != helmIngressString(ports) {
			c.errorf("Deployment %s: NetworkPolicies admit %s; want %s", name, helmIngressString(got[name]), helmIngressString(ports))
		}
	}
}

// ingress evaluates the NetworkPolicies: for each Deployment's pods, each
// port and who may reach it ("anyone", "pods:<binary>" for every pod of
// a binary's Deployments, "peer:<json>" for a peer outside the chart).
func (c *helmCheck) ingress() map[string]map[int32][]string {
	out := map[string]map[int32][]string{}
	covered := map[string]bool{}
	for _, p := range c.objs.Policies {
		what := "NetworkPolicy " + p.Name
		targets := c.selects(what, &p.Spec.PodSelector)
		if len(targets) == 0 {
			c.errorf("%s selects no pods", what)
		}
		if !slices.Contains(p.Spec.PolicyTypes, networkingv1.PolicyTypeIngress) {
			c.errorf("%s: policyTypes %v; want Ingress", what, p.Spec.PolicyTypes)
			continue
		}
		for i, r := range p.Spec.Ingress {
			from := []string{"anyone"}
			if len(r.From) > 0 {
				from = nil
				for _, peer := range r.From {
					from = append(from, c.peer(fmt.Sprintf("%s: rule %d", what, i), peer))
				}
			}
			if len(r.Ports) == 0 {
				c.errorf("%s: rule %d admits every port", what, i)
			}
			for _, pp := range r.Ports {
				if pp.Port == nil || pp.Port.String() == "0" || pp.EndPort != nil || (pp.Protocol != nil && *pp.Protocol != corev1.ProtocolTCP) {
					c.errorf("%s: rule %d: port %v; want one TCP port by number", what, i, pp.Port)
					continue
				}
				for _, d := range targets {
					covered[d.Name] = true
					if out[d.Name] == nil {
						out[d.Name] = map[int32][]string{}
					}
					n := int32(pp.Port.IntValue())
					out[d.Name][n] = append(out[d.Name][n], from...)
				}
			}
		}
	}
	for _, d := range c.objs.Deployments {
		if !covered[d.Name] {
			c.errorf("Deployment %s: no NetworkPolicy admits anything to its pods (so none restricts them)", d.Name)
		}
	}
	return out
}

// peer names a rule's peer: the chart's pods by their binary when the
// peer selects every pod of that binary and nothing else.
func (c *helmCheck) peer(what string, p networkingv1.NetworkPolicyPeer) string {
	if p.PodSelector == nil || p.NamespaceSelector != nil || p.IPBlock != nil {
		return helmPeerKey(p)
	}
	ds := c.selects(what+" peer", p.PodSelector)
	var binaries []string
	for _, d := range ds {
		if b := helmBinary(d); !slices.Contains(binaries, b) {
			binaries = append(binaries, b)
		}
	}
	if len(binaries) != 1 || len(ds) != len(c.deployments(binaries[0])) {
		names := helmDeploymentNames(ds)
		c.errorf("%s: a peer selecting the pods of %v; want every pod of one program", what, names)
		return "pods:" + strings.Join(names, "+")
	}
	return "pods:" + binaries[0]
}

// helmIngressString prints a port -> sources map in one order.
func helmIngressString(m map[int32][]string) string {
	ports := make([]int32, 0, len(m))
	for p := range m {
		ports = append(ports, p)
	}
	slices.Sort(ports)
	var parts []string
	for _, p := range ports {
		from := slices.Clone(m[p])
		slices.Sort(from)
		parts = append(parts, fmt.Sprintf("%d from %s", p, strings.Join(slices.Compact(from), ", ")))
	}
	if len(parts) == 0 {
		return "nothing"
	}
	return strings.Join(parts, "; ")
}

// helmDeploymentNames lists Deployments' names.
func helmDeploymentNames(ds []*appsv1.Deployment) []string {
	names := make([]string, 0, len(ds))
	for _, d := range ds {
		names = append(names, d.Name)
	}
	return names
}
