package main

import (
	"fmt"
	"strconv"
	"strings"
)

// layout is the whole scale-out layout on loopback: its sizes and where
// each process listens. Every port derives from base, so that the layout
// is the same at every start and cluster-down finds it from its pid files.
type layout struct {
	masters, replicas int
	flashsale, orders int
	groups            int
	shopperWeights    []int // one per flashsale instance: the balancer's weights
	base              int
	host              string // the balancer's listen host
	shopper, admin    int    // the balancer's public ports
	internal, ordersP int    // the balancer's ports for dtm's calls
}

func (l layout) nodes() int { return l.masters * (1 + l.replicas) }

// redisPort is node i's port, busPort its cluster bus port (chosen, not
// Redis's default of port+10000, which can fall in the kernel's ephemeral
// range).
func (l layout) redisPort(i int) int { return l.base + i }
func (l layout) busPort(i int) int   { return l.base + 50 + i }

// dtmRedisPort is the port of dtm's stores' Redis: a Redis of their own,
// never a master of the stock's cluster (docs/durability.md).
func (l layout) dtmRedisPort() int { return l.base + 99 }

// dtmPort is group g's HTTP port, its gRPC port the next one.
func (l layout) dtmPort(g int) int { return l.base + 100 + 2*g }

// flashsalePorts are instance i's shopper, admin and internal ports.
func (l layout) flashsalePorts(i int) (int, int, int) {
	p := l.base + 200 + 3*i
	return p, p + 1, p + 2
}

func (l layout) ordersPort(i int) int { return l.base + 300 + i }

func (l layout) redisAddrs() string {
	var a []string
	for i := range l.nodes() {
		a = append(a, addr(l.redisPort(i)))
	}
	return strings.Join(a, ",")
}

// dtmServers is DTM_SERVER: every group's API base, in order.
func (l layout) dtmServers() string {
	var a []string
	for g := range l.groups {
		a = append(a, "http://"+addr(l.dtmPort(g))+"/api/dtmsvr")
	}
	return strings.Join(a, ",")
}

// storePrefix is group g's store prefix: a hash tag of its own, so its
// own slot.
func storePrefix(g int) string { return fmt.Sprintf("{dtm-g%d}", g) }

func addr(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }

// balancer renders the HAProxy configuration: the shopper and admin ports
// to every flashsale instance (the shopper port by weight), and the two
// ports dtm calls (flashsale's internal listeners: back-checks, returns
// and adjustments; the order services: branches and back-checks) to every
// instance, each checked at /readyz. The client's address goes on in
// X-Forwarded-For, which flashsale trusts from loopback only.
func (l layout) balancer() string {
	var b strings.Builder
	fmt.Fprintf(&b, `# Written by scripts/cluster-up: the balancer in front of the scale-out layout.
global
  # Two descriptors per connection must fit the process's limit.
  maxconn 8000

defaults
  mode http
  option http-keep-alive
  timeout connect 2s
  timeout client 60s
  timeout server 60s
  timeout http-request 10s
`)
	backend := func(name string, port int, servers func(i int) (string, int, int), n int) {
		fmt.Fprintf(&b, "\nfrontend %s\n  bind %s:%d\n  default_backend %s\n", name, l.host, port, name)
		if name == "shopper" {
			b.WriteString("  option forwardfor\n")
		}
		fmt.Fprintf(&b, "\nbackend %s\n  balance roundrobin\n  option httpchk GET /readyz\n", name)
		for i := range n {
			srv, p, w := servers(i)
			fmt.Fprintf(&b, "  server %s 127.0.0.1:%d weight %d check inter 1s fall 2 rise 1\n", srv, p, w)
		}
	}
	backend("shopper", l.shopper, func(i int) (string, int, int) {
		p, _, _ := l.flashsalePorts(i)
		return fmt.Sprintf("flashsale%d", i), p, l.weight(i)
	}, l.flashsale)
	backend("admin", l.admin, func(i int) (string, int, int) {
		_, p, _ := l.flashsalePorts(i)
		return fmt.Sprintf("flashsale%d", i), p, 1
	}, l.flashsale)
	backend("internal", l.internal, func(i int) (string, int, int) {
		_, _, p := l.flashsalePorts(i)
		return fmt.Sprintf("flashsale%d", i), p, 1
	}, l.flashsale)
	backend("orders", l.ordersP, func(i int) (string, int, int) {
		return fmt.Sprintf("orders%d", i), l.ordersPort(i), 1
	}, l.orders)
	return b.String()
}

func (l layout) weight(i int) int {
	if i < len(l.shopperWeights) {
		return l.shopperWeights[i]
	}
	return 1
}
