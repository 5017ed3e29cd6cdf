package main

import (
	"strings"
	"testing"
)

// costs are round figures whose plan can be worked out by hand.
var costs = Costs{
	Source:          "test",
	RejectFlashsale: 40, RejectIRQ: 10, // 50 us a reject
	Flashsale: 500, DTM: 800, Orders: 250, Redis: 440, MariaDB: 400, IRQ: 100,
	StockCalls: 2, StockCallMicros: 20, // 40 us of the stock slot a purchase: the dtm store 400
	DTMStoreCalls: 5,
}

// TestPlanByHand: 1M requests/s, 100k units in 10 s on 16-core machines
// filled to 60 % (9.6 cores each), worked out by hand.
func TestPlanByHand(t *testing.T) {
	p, err := NewPlan(Sale{Requests: 1e6, Units: 1e5, SellSeconds: 10}, Machines{Cores: 16, Utilization: 0.6, WindowCalls: 2}, costs)
	if err != nil {
		t.Fatal(err)
	}
	// flashsale: 990,000 x 50 us = 49.5 cores + 10,000 x 600 us = 6 cores: 55.5 / 9.6 = 5.8 -> 6.
	// dtm: 10,000 x 800 us = 8 cores -> 1 machine; its store 10,000 x 400 us = 4 Redis cores / 0.6 -> 7 slots.
	// stock: 10,000 x 40 us = 0.4 cores -> 1 master. Windows: 10,000 x 2 x 20 us = 0.4 cores, in the
	// headroom of 8 masters x 0.6 - 4.4 = 0.4 cores: exactly fits.
	// orders: 2.5 cores -> 1; MySQL: 4 cores -> 1.
	want := map[string][2]int{
		"flashsale": {p.FlashsaleInstances, 6}, "dtm groups": {p.DTMGroups, 7}, "stock masters": {p.StockMasters, 1},
		"redis masters": {p.RedisMasters, 8}, "orders": {p.OrdersInstances, 1}, "mysql": {p.MySQLPrimaries, 1},
	}
	for name, g := range want {
		if g[0] != g[1] {
			t.Errorf("%s: %d, want %d", name, g[0], g[1])
		}
	}
	if p.StockSlotPurchases != 15000 || p.DTMStorePurchases != 1500 || p.RejectsPerCore != 12000 {
		t.Errorf("ceilings %.0f, %.0f, %.0f; want 15000, 1500, 12000", p.StockSlotPurchases, p.DTMStorePurchases, p.RejectsPerCore)
	}
}

// TestPlanGrows: a sale selling faster needs more of everything a purchase
// touches, and past one slot's ceiling more stock masters; more requests
// need more flashsale instances only.
func TestPlanGrows(t *testing.T) {
	m := Machines{Cores: 16, Utilization: 0.6, WindowCalls: 2}
	base, _ := NewPlan(Sale{Requests: 1e6, Units: 1e5, SellSeconds: 10}, m, costs)
	fast, err := NewPlan(Sale{Requests: 1e6, Units: 1e5, SellSeconds: 2}, m, costs) // 50,000 purchases/s
	if err != nil {
		t.Fatal(err)
	}
	if fast.StockMasters < 2 || fast.DTMGroups <= base.DTMGroups || fast.OrdersInstances <= base.OrdersInstances || fast.MySQLPrimaries <= base.MySQLPrimaries {
		t.Errorf("50k purchases/s: %+v", fast)
	}
	busy, _ := NewPlan(Sale{Requests: 4e6, Units: 1e5, SellSeconds: 10}, m, costs)
	if busy.FlashsaleInstances <= base.FlashsaleInstances || busy.DTMGroups != base.DTMGroups || busy.RedisMasters != base.RedisMasters {
		t.Errorf("4M requests/s: %+v", busy)
	}
	if _, err := NewPlan(Sale{Requests: 1000, Units: 1e5, SellSeconds: 10}, m, costs); err == nil {
		t.Error("more purchases than requests accepted")
	}
	if _, err := NewPlan(Sale{Requests: 1e6, Units: 1e5, SellSeconds: 10}, Machines{Cores: 16, Utilization: 1.5}, costs); err == nil {
		t.Error("a filling over 100 % accepted")
	}
}

// TestPlanFromTheCommittedReport: the command reads the report
// docs/capacity.md was computed from and prints every part.
func TestPlanFromTheCommittedReport(t *testing.T) {
	var out strings.Builder
	if err := run([]string{"-report", "testdata/bench-2026-12-06.json"}, &out); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"flashsale instances", "dtm groups", "Redis masters", "order-service instances", "MySQL primaries", "Where the next ceiling lies"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("the plan lacks %q:\n%s", s, out.String())
		}
	}
	if err := run([]string{"-report", "no-such-report.json"}, &out); err == nil {
		t.Error("a missing report gave a plan")
	}
}
