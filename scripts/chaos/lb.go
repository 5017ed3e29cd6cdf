package main

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// balancer is the load balancer in front of the flashsale instances'
// internal listeners, as the dtm server reaches the back-check in
// production: each connection goes to the next upstream, round robin,
// skipping one that refuses it. It has no health checks, like a plain TCP
// balancer: a SIGSTOPped instance accepts connections and never answers,
// and the dtm server's request timeout deals with that.
type balancer struct {
	ln   net.Listener
	ups  []string
	next atomic.Uint64

	mu    sync.Mutex // mu guards conns
	conns map[net.Conn]bool
}

// newBalancer listens on a free loopback port and forwards to ups.
func newBalancer(ups []string) (*balancer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	b := &balancer{ln: ln, ups: ups, conns: map[net.Conn]bool{}}
	go b.serve()
	return b, nil
}

// addr is the balancer's listen address.
func (b *balancer) addr() string { return b.ln.Addr().String() }

func (b *balancer) serve() {
	for {
		c, err := b.ln.Accept()
		if err != nil {
			return
		}
		go b.forward(c)
	}
}

func (b *balancer) forward(c net.Conn) {
	start := b.next.Add(1)
	var up net.Conn
	for i := range b.ups {
		var err error
		up, err = net.DialTimeout("tcp", b.ups[(int(start)+i)%len(b.ups)], time.Second)
		if err == nil {
			break
		}
	}
	if up == nil {
		c.Close()
		return
	}
	b.track(c, up)
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		io.Copy(dst, src)
		dst.Close()
		src.Close()
		done <- struct{}{}
	}
	go pipe(up, c)
	go pipe(c, up)
	<-done
	<-done
	b.untrack(c, up)
}

func (b *balancer) track(cs ...net.Conn) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, c := range cs {
		b.conns[c] = true
	}
}

func (b *balancer) untrack(cs ...net.Conn) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, c := range cs {
		delete(b.conns, c)
	}
}

// close stops listening and closes every connection.
func (b *balancer) close() {
	b.ln.Close()
	b.mu.Lock()
	defer b.mu.Unlock()
	for c := range b.conns {
		c.Close()
	}
}
