package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// Links of the run that carry network faults: a TCP proxy (toxiproxy, used
// as a library) on each, which the services are pointed at instead of
// their peer.
const (
	linkFS1DTM    = "flashsale1->dtm" // flashsale 1's DTM_SERVER
	linkFS2DTM    = "flashsale2->dtm" // flashsale 2's DTM_SERVER
	linkDTMOrders = "dtm->orders"     // ORDERS_URL in every message
	linkDTMFS     = "dtm->flashsale"  // FLASHSALE_INTERNAL_URL (back-checks), via the balancer
)

// network holds the proxies and the balancer of a run.
type network struct {
	srv   *toxiproxy.ApiServer
	lb    *balancer
	links map[string]*toxiproxy.Proxy

	mu     sync.Mutex // mu guards faulty
	faulty map[string]bool
}

// newNetwork starts a proxy per link: dtm is the dtm server's HTTP address,
// orders the order service's, internals the flashsale instances' internal
// listeners (behind the balancer).
func newNetwork(dtm, orders string, internals []string) (*network, error) {
	n := &network{
		srv:    toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop()),
		links:  map[string]*toxiproxy.Proxy{},
		faulty: map[string]bool{},
	}
	var err error
	if n.lb, err = newBalancer(internals); err != nil {
		return nil, err
	}
	for link, up := range map[string]string{linkFS1DTM: dtm, linkFS2DTM: dtm, linkDTMOrders: orders, linkDTMFS: n.lb.addr()} {
		p := toxiproxy.NewProxy(n.srv, strings.NewReplacer(">", "", "-", "_").Replace(link), "127.0.0.1:0", up)
		if err := p.Start(); err != nil {
			n.close()
			return nil, fmt.Errorf("proxy %s: %w", link, err)
		}
		n.links[link] = p
	}
	return n, nil
}

// addr is the address the services dial for link.
func (n *network) addr(link string) string { return n.links[link].Listen }

// netFaults are the kinds of network fault, each with the toxic that makes
// it. Latency is above dtm's request timeout (3 s), so a call goes through
// and its answer comes too late: the caller cannot tell whether it
// happened.
var netFaults = map[string]func(rng *rand.Rand) string{
	"latency": func(rng *rand.Rand) string {
		stream := []string{"upstream", "downstream"}[rng.IntN(2)]
		return fmt.Sprintf(`{"name":"chaos","type":"latency","stream":%q,"toxicity":1,"attributes":{"latency":%d,"jitter":500}}`, stream, 3500+rng.IntN(1500))
	},
	"reset": func(rng *rand.Rand) string {
		return fmt.Sprintf(`{"name":"chaos","type":"reset_peer","stream":"upstream","toxicity":1,"attributes":{"timeout":%d}}`, rng.IntN(200))
	},
	"blackhole": func(*rand.Rand) string {
		return `{"name":"chaos","type":"timeout","stream":"upstream","toxicity":1,"attributes":{"timeout":0}}`
	},
}

// injectJSON adds the toxic described by toxic (JSON, named "chaos") on
// link and returns the function that heals it. A link carries one fault at
// a time.
func (n *network) injectJSON(link, toxic string) (func(), error) {
	n.mu.Lock()
	if n.faulty[link] {
		n.mu.Unlock()
		return nil, errBusy
	}
	n.faulty[link] = true
	n.mu.Unlock()
	p := n.links[link]
	if _, err := p.Toxics.AddToxicJson(strings.NewReader(toxic)); err != nil {
		n.mu.Lock()
		n.faulty[link] = false
		n.mu.Unlock()
		return nil, fmt.Errorf("toxic on %s: %w", link, err)
	}
	return func() {
		p.Toxics.RemoveToxic(context.Background(), "chaos")
		n.mu.Lock()
		n.faulty[link] = false
		n.mu.Unlock()
	}, nil
}

// close stops every proxy and the balancer.
func (n *network) close() {
	for _, p := range n.links {
		p.Stop()
	}
	if n.lb != nil {
		n.lb.close()
	}
}
