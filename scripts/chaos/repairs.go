package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

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

// repairTargets are the processes with a repair counter and their
// /metrics.
func (s *stack) repairTargets() map[*proc.Process]string {
	return map[*proc.Process]string{
		s.fsProc[0]:  s.adminURL(0) + "/metrics",
		s.fsProc[1]:  s.adminURL(1) + "/metrics",
		s.ordersProc: "http://" + s.addr(s.orders) + "/metrics",
	}
}

// scrapeRepairs reads the repair counters of every process that runs.
func (s *stack) scrapeRepairs(ctx context.Context) {
	hc := &http.Client{Timeout: time.Second}
	for p, url := range s.repairTargets() {
		if p == nil {
			continue
		}
		start := p.Starts()
		if !p.Alive() {
			continue
		}
		vals, err := repairMetrics(ctx, hc, url)
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

// repairMetrics reads the *_repairs_total series of one /metrics.
func repairMetrics(ctx context.Context, hc *http.Client, url string) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "flashsale_repairs_total{") && !strings.HasPrefix(line, "orders_repairs_total{") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		out[line[:i]] = v
	}
	return out, sc.Err()
}
