package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/dtm-labs/client/dtmcli"
	"github.com/flashsale/flashsale/internal/elide"
)

// printSummary prints the run's table: requests by outcome, faults by
// kind, purchases, time to settle, violations.
func printSummary(w io.Writer, o options, r *result, reasons []string) {
	row := func(indent int, name string, value any) {
		fmt.Fprintf(w, "%s%-*s %v\n", strings.Repeat(" ", indent), 44-indent, name, value)
	}
	orders, cancelled := 0, 0
	for _, rep := range r.verdict.reports {
		orders += rep.LiveOrders
		cancelled += rep.Cancels[dtmcli.StatusSucceed]
	}
	fmt.Fprintf(w, "\n== chaos summary: seed %d, profile %s, storm %s, wall %s ==\n", o.seed, o.profile, o.storm, r.wall.Round(time.Second))
	sales := fmt.Sprintf("%d (%d units, %d shoppers)", len(r.sales), len(r.sales)*o.units, len(r.sales)*o.buyers)
	if extra := r.verdict.activities - len(r.sales); extra > 0 {
		sales += fmt.Sprintf("; %d more activities created by a retried admin call, checked too", extra)
	}
	row(0, "sales", sales)
	answers := r.shop.answers.snapshot()
	total := 0
	for _, n := range answers {
		total += n
	}
	row(0, "buy requests by outcome", total)
	keys := sortedKeys(answers)
	sort.SliceStable(keys, func(i, j int) bool { return answers[keys[i]] > answers[keys[j]] })
	for _, k := range keys {
		row(2, k, answers[k])
	}
	adjusted := r.admin.answers.snapshot()
	total = 0
	for _, n := range adjusted {
		total += n
	}
	row(0, "stock adjustments sent by outcome", total)
	keys = sortedKeys(adjusted)
	sort.SliceStable(keys, func(i, j int) bool { return adjusted[keys[i]] > adjusted[keys[j]] })
	for _, k := range keys {
		row(2, k, adjusted[k])
	}
	var final []string
	for _, k := range sortedKeys(r.verdict.adjustments) {
		final = append(final, fmt.Sprintf("%s %d", k, r.verdict.adjustments[k]))
	}
	row(0, "stock adjustments by dtm status (each gid once)", fmt.Sprintf("%s; net %+d units", strings.Join(final, ", "), r.verdict.netDelta))
	injected := 0
	for _, n := range r.injected {
		injected += n
	}
	row(0, "faults injected by kind", injected)
	for _, k := range sortedKeys(r.injected) {
		row(2, k, r.injected[k])
	}
	if len(r.skipped) > 0 {
		var s []string
		for _, k := range sortedKeys(r.skipped) {
			s = append(s, fmt.Sprintf("%s %d", k, r.skipped[k]))
		}
		row(2, "(not injected: target busy or no sale)", strings.Join(s, ", "))
	}
	row(0, "purchases (orders created)", orders+cancelled)
	unpaid := 0
	for _, short := range r.unpaid {
		if short {
			unpaid++
		}
	}
	if unpaid > 0 {
		row(2, "cancelled unpaid (cancellations succeeded)", fmt.Sprintf("%d, in the %d sales with %d s to pay", cancelled, unpaid, shortPayTimeout))
		row(2, "live", orders)
	}
	if r.settled {
		row(0, "time to settle", fmt.Sprintf("%s after the last fault healed (bound %s)", r.settle.Round(100*time.Millisecond), o.settle))
	} else {
		row(0, "time to settle", fmt.Sprintf("NOT SETTLED within %s: %d messages stuck", o.settle, len(r.stuck)))
		for _, g := range elide.List(r.stuck, 50) {
			row(2, "stuck", g)
		}
	}
	repairs := 0
	for _, n := range r.repairs {
		repairs += n
	}
	row(0, "repairs of what dtm's store forgot", repairs)
	for _, k := range sortedKeys(r.repairs) {
		row(2, k, r.repairs[k])
	}
	row(0, "violations", len(r.verdict.violations))
	for _, v := range r.verdict.violations {
		fmt.Fprintf(w, "  %s\n", v)
	}
	if r.verdict.command != "" {
		row(0, "reconcile command exit code", r.verdict.commandExit)
	}
	if len(reasons) == 0 {
		row(0, "result", "PASS")
		return
	}
	row(0, "result", "FAIL")
	for _, why := range reasons {
		fmt.Fprintf(w, "  %s\n", why)
	}
}
