package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

// Costs are the per-operation costs a capacity plan starts from, read from
// a scripts/bench report: CPU time in microseconds by process, and Redis
// calls.
type Costs struct {
	// Source names the report and the run the costs come from.
	Source string
	// Reject is a sold-out (or admission) answer: flashsale's CPU and the
	// kernel's interrupt share.
	RejectFlashsale, RejectIRQ float64
	// Purchase is one successful purchase, by process.
	Flashsale, DTM, Orders, Redis, MariaDB, IRQ float64
	// StockCalls are flashsale's Redis calls per purchase on the
	// activity's slot (the rate windows with the stock read, the take),
	// and StockCallMicros the Redis CPU of one such call (the take
	// ceiling's, network included).
	StockCalls, StockCallMicros float64
	// DTMStoreCalls are the dtm store's script calls per purchase (its
	// EVALs).
	DTMStoreCalls float64
}

// DTMStoreRedis is the Redis CPU per purchase of dtm's store: Redis's whole
// share less flashsale's stock calls.
func (c Costs) DTMStoreRedis() float64 {
	return max(0, c.Redis-c.StockCalls*c.StockCallMicros)
}

// benchReport is the part of scripts/bench's JSON report the plan reads.
type benchReport struct {
	Started  string `json:"started"`
	Hardware struct {
		CPUs     int    `json:"cpus"`
		CPUModel string `json:"cpu_model"`
	} `json:"hardware"`
	Ceilings struct {
		Take benchRun `json:"evalsha"`
	} `json:"ceilings"`
	Ours struct {
		SoldOut []benchRun `json:"sold_out"`
		Success []benchRun `json:"success"`
	} `json:"ours"`
}

type benchRun struct {
	Name     string `json:"name"`
	Conns    int    `json:"conns"`
	Requests int64  `json:"requests"`
	CPU      []struct {
		Name   string  `json:"name"`
		Micros float64 `json:"us_per_request"`
	} `json:"cpu"`
	Redis map[string]struct {
		Calls int64 `json:"calls"`
	} `json:"redis"`
}

func (r benchRun) cpu(name string) float64 {
	for _, p := range r.CPU {
		if p.Name == name {
			return p.Micros
		}
	}
	return 0
}

// calls returns the calls per request of the Redis commands named.
func (r benchRun) calls(names ...string) float64 {
	if r.Requests <= 0 {
		return 0
	}
	var n int64
	for _, name := range names {
		n += r.Redis[name].Calls
	}
	return float64(n) / float64(r.Requests)
}

// readCosts reads a bench report and takes the costs of its runs at the
// most connections (the ones the bench profiles and judges).
func readCosts(path string) (Costs, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Costs{}, err
	}
	var r benchReport
	if err := json.Unmarshal(b, &r); err != nil {
		return Costs{}, fmt.Errorf("%s: %w", path, err)
	}
	so, ok := last(r.Ours.SoldOut)
	if !ok {
		return Costs{}, fmt.Errorf("%s: no sold-out run", path)
	}
	su, ok := last(r.Ours.Success)
	if !ok {
		return Costs{}, fmt.Errorf("%s: no success run", path)
	}
	c := Costs{
		Source:          fmt.Sprintf("%s (%s and %s, %d CPUs %s, %s)", path, so.Name, su.Name, r.Hardware.CPUs, r.Hardware.CPUModel, r.Started),
		RejectFlashsale: so.cpu("flashsale"), RejectIRQ: so.cpu("irq"),
		Flashsale: su.cpu("flashsale"), DTM: su.cpu("dtm"), Orders: su.cpu("orders"),
		Redis: su.cpu("redis"), MariaDB: su.cpu("mariadb"), IRQ: su.cpu("irq"),
		StockCalls: su.calls("fcall", "evalsha"), StockCallMicros: r.Ceilings.Take.cpu("redis"),
		DTMStoreCalls: su.calls("eval"),
	}
	var missing []string
	for name, v := range map[string]float64{"flashsale per reject": c.RejectFlashsale, "flashsale per purchase": c.Flashsale,
		"dtm per purchase": c.DTM, "orders per purchase": c.Orders, "redis per purchase": c.Redis,
		"mariadb per purchase": c.MariaDB, "the take ceiling's redis": c.StockCallMicros, "stock calls per purchase": c.StockCalls} {
		if v <= 0 {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return c, fmt.Errorf("%s lacks %s", path, strings.Join(missing, ", "))
	}
	return c, nil
}

// last returns the run with the most connections.
func last(runs []benchRun) (benchRun, bool) {
	var best benchRun
	for _, r := range runs {
		if r.Conns >= best.Conns {
			best = r
		}
	}
	return best, len(runs) > 0
}
