package main

import (
	"fmt"
	"io"
	"math"
)

// Sale is the load a plan is for.
type Sale struct {
	// Requests is the peak of buy requests per second.
	Requests float64
	// Units are the units on sale, sold within SellSeconds of the opening:
	// the purchases per second the stack must carry.
	Units       float64
	SellSeconds float64
}

// Purchases is the purchase rate the sale asks for.
func (s Sale) Purchases() float64 { return s.Units / s.SellSeconds }

// Machines describes the hardware a plan counts in.
type Machines struct {
	// Cores per machine of flashsale, dtm, orders and MySQL.
	Cores float64
	// Utilization is the share of each core the plan fills (headroom for
	// bursts inside the second, GC, failover).
	Utilization float64
	// WindowCalls are the Redis calls a purchase's rate windows cost on a
	// cluster (per user and per IP, each in its own slot).
	WindowCalls float64
}

// Plan is how many of each part a sale needs.
type Plan struct {
	Sale     Sale
	Machines Machines
	Costs    Costs

	FlashsaleInstances, DTMGroups, OrdersInstances, MySQLPrimaries int
	// StockMasters are the Redis masters the sale's stock calls need
	// (the stock shards); DTMMasters one per dtm group's store;
	// WindowMasters the rate windows' share, spread over every master.
	StockMasters, DTMMasters int
	WindowLoad               float64 // cores of Redis
	RedisMasters             int

	// Ceilings: what one unit of each part carries at the plan's
	// utilization.
	StockSlotPurchases, DTMStorePurchases, RejectsPerCore float64
}

// cores returns the cores micros of CPU per second need.
func cores(micros float64) float64 { return micros / 1e6 }

func count(coresNeeded, perUnit float64) int {
	return max(1, int(math.Ceil(coresNeeded/perUnit-1e-9)))
}

// NewPlan computes the plan of sale on machines at costs.
func NewPlan(sale Sale, m Machines, c Costs) (Plan, error) {
	p := Plan{Sale: sale, Machines: m, Costs: c}
	if sale.Requests <= 0 || sale.Units <= 0 || sale.SellSeconds <= 0 || m.Cores <= 0 || m.Utilization <= 0 || m.Utilization > 1 {
		return p, fmt.Errorf("the sale and the machines need positive figures, utilization in (0, 1]")
	}
	buys := sale.Purchases()
	if buys > sale.Requests {
		return p, fmt.Errorf("%.0f purchases/s asked of %.0f requests/s", buys, sale.Requests)
	}
	perMachine := m.Cores * m.Utilization
	rejects := sale.Requests - buys
	p.FlashsaleInstances = count(cores(rejects*(c.RejectFlashsale+c.RejectIRQ)+buys*(c.Flashsale+c.IRQ)), perMachine)
	// Each dtm group is its processes and its store's one slot: it needs
	// as many as the larger of the two asks.
	storeCores := cores(buys * c.DTMStoreRedis())
	p.DTMGroups = max(count(cores(buys*c.DTM), perMachine), count(storeCores, m.Utilization))
	p.DTMMasters = p.DTMGroups
	p.StockMasters = count(cores(buys*c.StockCalls*c.StockCallMicros), m.Utilization)
	p.WindowLoad = cores(buys * m.WindowCalls * c.StockCallMicros)
	// The windows hash over every slot: they fit in the masters' headroom
	// or add masters of their own.
	spare := float64(p.StockMasters+p.DTMMasters)*m.Utilization - cores(buys*(c.StockCalls*c.StockCallMicros+c.DTMStoreRedis()))
	p.RedisMasters = p.StockMasters + p.DTMMasters
	if p.WindowLoad > spare+1e-9 {
		p.RedisMasters += count(p.WindowLoad-spare, m.Utilization)
	}
	p.OrdersInstances = count(cores(buys*c.Orders), perMachine)
	p.MySQLPrimaries = count(cores(buys*c.MariaDB), perMachine)
	p.StockSlotPurchases = m.Utilization * 1e6 / (c.StockCalls * c.StockCallMicros)
	p.DTMStorePurchases = m.Utilization * 1e6 / c.DTMStoreRedis()
	p.RejectsPerCore = m.Utilization * 1e6 / (c.RejectFlashsale + c.RejectIRQ)
	return p, nil
}

// Write renders the plan as Markdown.
func (p Plan) Write(w io.Writer) {
	s, m, c := p.Sale, p.Machines, p.Costs
	buys := s.Purchases()
	fmt.Fprintf(w, "Sale: %.0f buy requests/s, %.0f units sold within %.0f s: %.0f purchases/s, %.0f answers/s turned away (sold out, admission).\n",
		s.Requests, s.Units, s.SellSeconds, buys, s.Requests-buys)
	fmt.Fprintf(w, "Machines: %.0f cores each, filled to %.0f %%; a Redis master is one core (the server runs commands on one thread), filled likewise.\n", m.Cores, m.Utilization*100)
	fmt.Fprintf(w, "Costs from %s.\n\n", c.Source)
	fmt.Fprintln(w, "| part | how many | from |")
	fmt.Fprintln(w, "|---|---|---|")
	fmt.Fprintf(w, "| flashsale instances | %d | %.0f rejects/s x (%.1f + %.1f irq) us + %.0f purchases/s x (%.0f + %.0f irq) us |\n",
		p.FlashsaleInstances, s.Requests-buys, c.RejectFlashsale, c.RejectIRQ, buys, c.Flashsale, c.IRQ)
	fmt.Fprintf(w, "| dtm groups (server processes and one store slot each) | %d | %.0f purchases/s x %.0f us of dtm; its store %.0f us of Redis a purchase (%.1f EVALs) |\n",
		p.DTMGroups, buys, c.DTM, c.DTMStoreRedis(), c.DTMStoreCalls)
	fmt.Fprintf(w, "| Redis masters | %d | %d for the sale's stock (%.2f calls x %.1f us a purchase), %d for the dtm stores, the rate windows (%.1f cores) in their headroom or on their own |\n",
		p.RedisMasters, p.StockMasters, c.StockCalls, c.StockCallMicros, p.DTMMasters, p.WindowLoad)
	fmt.Fprintf(w, "| order-service instances | %d | %.0f purchases/s x %.0f us |\n", p.OrdersInstances, buys, c.Orders)
	fmt.Fprintf(w, "| MySQL primaries | %d | %.0f purchases/s x %.0f us of MariaDB |\n", p.MySQLPrimaries, buys, c.MariaDB)
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Where the next ceiling lies (one unit of each, at the plan's filling):")
	shardHint := ""
	if p.StockMasters > 1 {
		shardHint = fmt.Sprintf(": create the activity with \"shards\": %d or more", p.StockMasters)
	}
	fmt.Fprintf(w, "- one activity's stock slot: %.0f purchases/s; a sale asking more needs its stock split over shards on several masters (%d here%s).\n",
		p.StockSlotPurchases, p.StockMasters, shardHint)
	fmt.Fprintf(w, "- one dtm group's store: %.0f purchases/s; each group more is a server process and a store slot of its own (%d here: DTM_SERVER lists them).\n",
		p.DTMStorePurchases, p.DTMGroups)
	fmt.Fprintf(w, "- one flashsale core: %.0f sold-out answers/s.\n", p.RejectsPerCore)
}
