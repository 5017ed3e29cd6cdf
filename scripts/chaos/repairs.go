package main

import (
	"bufio"
	"bytes"
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/flashsale/flashsale/internal/api"
	"github.com/flashsale/flashsale/internal/proc"
)

// repairCounts keeps the repair counters of the services (flashsale's
// flashsale_repairs_total{kind} on each instance's admin port, the order
// service's orders_repairs_total{kind}), as last scraped from each start of
// each process: a restart starts its counters at zero, so a run's repairs
// are the sum over every start of the last values seen.
type repairCounts struct {
	mu   sync.Mutex
	seen map[string]map[int]map[string]float64 // process -> start -> "metric{kind}" -> value
}

// repairTargets are the processes with a repair counter, each with a
// client, over hc, of the listener that serves its /metrics.
func (s *stack) repairTargets(hc *http.Client) map[*proc.Process]*api.ClientWithResponses {
	return map[*proc.Process]*api.ClientWithResponses{
		s.fsProc[0]:  api.New(s.adminURL(0), hc),
		s.fsProc[1]:  api.New(s.adminURL(1), hc),
		s.ordersProc: api.New("http://"+s.addr(s.orders), hc),
	}
}

// scrapeRepairs reads the repair counters of every process that runs.
func (s *stack) scrapeRepairs(ctx context.Context) {
	for p, c := range s.repairTargets(&http.Client{Timeout: time.Second}) {
		if p == nil {
			continue
		}
		start := p.Starts()
		if !p.Alive() {
			continue
		}
		vals, err := repairMetrics(ctx, c)
		// A counter read across a restart belongs to neither start.
		if err != nil || p.Starts() != start {
			continue
		}
		s.repairs.mu.Lock()
		if s.repairs.seen == nil {
			s.repairs.seen = map[string]map[int]map[string]float64{}
		}
		if s.repairs.seen[p.Name] == nil {
			s.repairs.seen[p.Name] = map[int]map[string]float64{}
		}
		s.repairs.seen[p.Name][start] = vals
		s.repairs.mu.Unlock()
	}
}

// watchRepairs scrapes the repair counters every second until ctx ends, so
// that what an instance counted before it was SIGKILLed is kept.
func (s *stack) watchRepairs(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		s.scrapeRepairs(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// repairTotals returns the repairs counted, by "metric{kind}", summed over
// every process and start.
func (s *stack) repairTotals() map[string]int {
	s.repairs.mu.Lock()
	defer s.repairs.mu.Unlock()
	out := map[string]int{}
	for _, starts := range s.repairs.seen {
		for _, vals := range starts {
			for k, v := range vals {
				out[k] += int(v)
			}
		}
	}
	return out
}

// repairMetrics reads the *_repairs_total series of the /metrics c serves.
func repairMetrics(ctx context.Context, c *api.ClientWithResponses) (map[string]float64, error) {
	r, err := c.MetricsWithResponse(ctx)
	if err := api.Expect("metrics", r, err, http.StatusOK); err != nil {
		return nil, err
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(r.Body))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "flashsale_repairs_total{") && !strings.HasPrefix(line, "orders_repairs_total{") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		// The services export every kind from the start, at 0: a kind
		// never repaired is left out of the summary.
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil || v == 0 {
			continue
		}
		out[line[:i]] = v
	}
	return out, sc.Err()
}
