package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Load is one measured run of the generator: closed loop, Conns
// connections with one request in flight each, request i sending
// Requests[i % len(Requests)]. Everything is built, and every connection
// dialled, before the clock starts.
type Load struct {
	Name     string
	Addr     string // host:port of the target
	Requests [][]byte
	// Total stops the run after this many requests; Duration after this
	// long. At least one is set.
	Total    int64
	Duration time.Duration
	// Warmup runs the same requests this long first, unrecorded.
	Warmup time.Duration
	Conns  int
	// SrcIPs spreads the connections over this many loopback source
	// addresses (127.0.0.2 onwards), as that many clients would come from
	// different addresses; 0 lets the kernel choose. Loopback targets only.
	SrcIPs int
	// Winner is the status whose latencies are also summarised apart (the
	// purchases that got a unit); 0 for none.
	Winner int
	// Procs are the processes whose CPU the result reports.
	Procs    procSet
	Progress io.Writer
}

// Result is the outcome of a Load.
type Result struct {
	Name     string  `json:"name"`
	Conns    int     `json:"conns"`
	Requests int64   `json:"requests"`
	Seconds  float64 `json:"seconds"`
	RPS      float64 `json:"rps"`
	// Status counts answers by HTTP status; "error" counts transport
	// errors (refused, reset, timed out).
	Status  map[string]int64 `json:"status"`
	Latency Latency          `json:"latency"`
	// Winners is the latency of the answers with the Load's Winner status.
	Winners *Latency `json:"winners,omitempty"`
	// CPU is each process's CPU over the run, the generator's first.
	CPU []ProcCPU `json:"cpu"`
	// TCPOpens counts the TCP connections the machine opened during the
	// run (the generator's own are dialled before it).
	TCPOpens int64 `json:"tcp_opens"`
	// DB is what the database server did from the run's start to its end
	// (to the last order created, for runs that create orders).
	DB       *DBStats         `json:"db,omitempty"`
	dbBefore map[string]int64 // the server's counters at the start
	// Redis is what the run's Redis server ran over the same span.
	Redis       RedisStats `json:"redis,omitempty"`
	redisBefore RedisStats // its counters at the start
	// LoadAvg is the machine's one-minute load average as the run began.
	LoadAvg float64   `json:"loadavg_1m_at_start"`
	Start   time.Time `json:"start"`
}

// Count returns the number of answers with status code.
func (r Result) Count(code int) int64 { return r.Status[strconv.Itoa(code)] }

// GeneratorMicros returns the generator's CPU per request.
func (r Result) GeneratorMicros() float64 {
	for _, p := range r.CPU {
		if p.Name == "generator" {
			return p.MicrosPerRequest
		}
	}
	return 0
}

// maxStatus bounds the status codes counted one by one.
const maxStatus = 600

// worker drives one connection. Its histograms and counts are its own;
// only the progress counters are read by another goroutine.
type worker struct {
	c      *conn
	hist   *Histogram
	win    *Histogram
	status [maxStatus]int64

	_    [64]byte // keep the progress counters off the others' cache line
	done atomic.Int64
	ok   atomic.Int64 // 2xx
	conf atomic.Int64 // 409
	rest atomic.Int64 // anything else, errors included
}

// runLoad dials l.Conns connections, runs the warm-up, then the measured
// run, and returns its result.
func runLoad(ctx context.Context, l Load) (Result, error) {
	if l.Conns <= 0 || len(l.Requests) == 0 || l.Total <= 0 && l.Duration <= 0 {
		return Result{}, fmt.Errorf("load %s: needs connections, requests and a bound", l.Name)
	}
	ws := make([]*worker, l.Conns)
	for i := range ws {
		ws[i] = &worker{c: &conn{addr: l.Addr, src: srcIP(l.Addr, i, l.SrcIPs)}}
	}
	if err := dialAll(ws); err != nil {
		return Result{}, fmt.Errorf("load %s: %w", l.Name, err)
	}
	defer func() {
		for _, w := range ws {
			w.c.close()
		}
	}()
	if l.Warmup > 0 {
		drive(ctx, l, ws, 0, l.Warmup, false, l.Name+" warm-up")
	}
	for _, w := range ws {
		w.hist, w.win, w.status = NewHistogram(), NewHistogram(), [maxStatus]int64{}
	}
	snap := l.Procs.snapshot()
	res := Result{Name: l.Name, Conns: l.Conns, LoadAvg: loadAvg(), Start: time.Now()}
	elapsed := drive(ctx, l, ws, l.Total, l.Duration, true, l.Name)
	hist, win := NewHistogram(), NewHistogram()
	var status [maxStatus]int64
	for _, w := range ws {
		hist.Merge(w.hist)
		win.Merge(w.win)
		for i, n := range w.status {
			status[i] += n
		}
	}
	res.Requests = hist.Count()
	res.Seconds = elapsed.Seconds()
	res.RPS = float64(res.Requests) / res.Seconds
	res.Latency = hist.Summary()
	if l.Winner != 0 {
		s := win.Summary()
		res.Winners = &s
	}
	res.Status = map[string]int64{}
	for code, n := range status {
		switch {
		case n == 0:
		case code == 0:
			res.Status["error"] = n
		default:
			res.Status[strconv.Itoa(code)] = n
		}
	}
	res.CPU, res.TCPOpens = l.Procs.cpuSince(snap, res.Requests)
	return res, ctx.Err()
}

// dialAll opens every worker's connection, 64 at a time.
func dialAll(ws []*worker) error {
	sem := make(chan struct{}, 64)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for _, w := range ws {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := w.c.dial(); err != nil {
				mu.Lock()
				first = cmpOr(first, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return first
}

// drive runs the workers until total requests were sent or dur passed (or
// ctx ends) and returns the time it took. Requests still unanswered at
// the hard deadline (dur + 60 s, or 15 min) fail with a timeout.
func drive(ctx context.Context, l Load, ws []*worker, total int64, dur time.Duration, record bool, name string) time.Duration {
	var next atomic.Int64
	var stop atomic.Bool
	start := time.Now()
	hard := start.Add(15 * time.Minute)
	if dur > 0 {
		hard = start.Add(dur + 60*time.Second)
		t := time.AfterFunc(dur, func() { stop.Store(true) })
		defer t.Stop()
	}
	defer context.AfterFunc(ctx, func() { stop.Store(true) })()
	for _, w := range ws {
		w.c.setDeadline(hard)
	}
	reqs := int64(len(l.Requests))
	var wg sync.WaitGroup
	for _, w := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				i := next.Add(1) - 1
				if total > 0 && i >= total {
					return
				}
				t0 := time.Now()
				st, err := w.c.roundTrip(l.Requests[i%reqs])
				d := time.Since(t0)
				if err != nil {
					st = 0
					var de dialError
					if errors.As(err, &de) {
						time.Sleep(10 * time.Millisecond) // the target is down: do not spin
					}
				}
				if st >= maxStatus {
					st = maxStatus - 1
				}
				if record {
					w.hist.Record(d)
					if st == l.Winner {
						w.win.Record(d)
					}
					w.status[st]++
				}
				w.done.Add(1)
				switch {
				case st/100 == 2:
					w.ok.Add(1)
				case st == 409:
					w.conf.Add(1)
				default:
					w.rest.Add(1)
				}
			}
		}()
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	progress(l.Progress, name, ws, total, start, finished)
	return time.Since(start)
}

// progress prints a line a second until finished: requests so far, the
// rate over the last second (over the whole run on the last line), and the
// answers by class.
func progress(w io.Writer, name string, ws []*worker, total int64, start time.Time, finished <-chan struct{}) {
	if w == nil {
		<-finished
		return
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var last int64
	lastAt := start
	line := func(final bool) {
		var done, ok, conf, rest int64
		for _, wk := range ws {
			done += wk.done.Load()
			ok += wk.ok.Load()
			conf += wk.conf.Load()
			rest += wk.rest.Load()
		}
		now := time.Now()
		rate := float64(done-last) / now.Sub(lastAt).Seconds()
		if final {
			rate = float64(done) / now.Sub(start).Seconds()
		}
		last, lastAt = done, now
		of := ""
		if total > 0 {
			of = "/" + strconv.FormatInt(total, 10)
		}
		fmt.Fprintf(w, "  %-24s %5.1fs %9d%s req %8.0f req/s  2xx %d  409 %d  other %d\n",
			name, now.Sub(start).Seconds(), done, of, rate, ok, conf, rest)
	}
	for {
		select {
		case <-finished:
			line(true)
			return
		case <-tick.C:
			line(false)
		}
	}
}

// srcIP returns the loopback source address of connection i when the
// target is on loopback and n addresses are asked for.
func srcIP(addr string, i, n int) net.IP {
	host, _, err := net.SplitHostPort(addr)
	if err != nil || n <= 0 || !strings.HasPrefix(host, "127.") {
		return nil
	}
	n = min(n, 250)
	return net.IPv4(127, 0, 0, byte(2+i%n))
}

func cmpOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}
