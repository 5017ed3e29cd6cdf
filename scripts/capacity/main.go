// Command capacity computes a capacity plan for one hot sale from the
// per-operation costs a scripts/bench report measured: how many flashsale
// instances, dtm groups, Redis masters, order-service instances and MySQL
// primaries, and where the next ceiling lies (docs/capacity.md).
//
//	go run ./scripts/capacity -report scripts/capacity/testdata/bench-2026-12-06.json
//	go run ./scripts/capacity -report bench.json -rps 1000000 -units 100000 -sell 10 -cores 16
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "capacity:", err)
		os.Exit(2)
	}
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("capacity", flag.ContinueOnError)
	report := fs.String("report", "scripts/capacity/testdata/bench-2026-12-06.json", "a scripts/bench JSON report (-json)")
	var s Sale
	var m Machines
	fs.Float64Var(&s.Requests, "rps", 1_000_000, "peak buy requests per second")
	fs.Float64Var(&s.Units, "units", 100_000, "units on sale")
	fs.Float64Var(&s.SellSeconds, "sell", 10, "seconds in which the units should sell")
	fs.Float64Var(&m.Cores, "cores", 16, "cores per machine")
	fs.Float64Var(&m.Utilization, "fill", 0.6, "share of each core the plan fills")
	fs.Float64Var(&m.WindowCalls, "window-calls", 2, "Redis calls of a purchase's rate windows on a cluster")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c, err := readCosts(*report)
	if err != nil {
		return err
	}
	p, err := NewPlan(s, m, c)
	if err != nil {
		return err
	}
	p.Write(out)
	return nil
}
