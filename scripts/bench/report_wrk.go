package main

import (
	"fmt"
	"io"
	"strings"
)

// wrkOf names, for a path, the path it is judged against (its ratio in
// the table): the bare handler for our sold-out path, the reference's
// success path for ours.
func wrkOf(genName string) (of, label string) {
	for _, p := range []struct{ path, of, label string }{
		{"ours sold-out @", "bare gin handler @", "bare handler"},
		{"ours success @", "reference success @", "reference success"},
	} {
		if conns, ok := strings.CutPrefix(genName, p.path); ok {
			return p.of + conns, p.label
		}
	}
	return "", ""
}

// wrkRatios sets each wrk run's ratio to the wrk run of the path it is
// judged against, beside the generator's same ratio.
func (r *Report) wrkRatios() {
	byGen := map[string]WrkRun{}
	for _, w := range r.Wrk {
		byGen[w.Gen.Name] = w
	}
	for i, w := range r.Wrk {
		ofName, label := wrkOf(w.Gen.Name)
		of, ok := byGen[ofName]
		if !ok {
			continue
		}
		r.Wrk[i].Of = label
		if of.RPS > 0 {
			r.Wrk[i].OfRatio = w.RPS / of.RPS
		}
		if of.Gen.RPS > 0 {
			r.Wrk[i].GenOfRatio = w.Gen.RPS / of.Gen.RPS
		}
	}
}

// writeWrk prints the wrk runs beside the generator's, then a line per
// path: whether the two generators agree, and what each costs.
func (r *Report) writeWrk(w io.Writer) {
	if len(r.Wrk) == 0 {
		return
	}
	fmt.Fprintln(w, "\nwrk beside the generator (-wrk): the same requests and connections, for the generator's span, each right after it;")
	fmt.Fprintln(w, "success runs on an activity and users of their own; us/req is each generator's own CPU per request:")
	fmt.Fprintf(w, "  %-28s %5s %9s %9s %7s %15s %15s %7s %7s  %s\n",
		"path", "conns", "gen req/s", "wrk req/s", "wrk/gen", "gen p50/p99 ms", "wrk p50/p99 ms", "gen us", "wrk us", "wrk answers")
	for _, x := range r.Wrk {
		fmt.Fprintf(w, "  %-28s %5d %9.0f %9.0f %6.2fx %15s %15s %7.1f %7.1f  %s\n",
			x.Gen.Name, x.Conns, x.Gen.RPS, x.RPS, x.Ratio,
			fmt.Sprintf("%.2f/%.2f", x.Gen.Latency.P50, x.Gen.Latency.P99),
			fmt.Sprintf("%.2f/%.2f", x.Latency.P50, x.Latency.P99),
			x.Gen.Micros, x.WrkMicros, answers(x.Status))
	}
	for _, x := range r.Wrk {
		fmt.Fprintf(w, "  %s: wrk %.2fx the generator", x.Gen.Name, x.Ratio)
		if x.Of != "" {
			fmt.Fprintf(w, "; to the %s: generator %.2fx, wrk %.2fx", x.Of, x.GenOfRatio, x.OfRatio)
		}
		fmt.Fprintf(w, "; CPU per request: generator %.1f us, wrk %.1f us (%.2f cores)", x.Gen.Micros, x.WrkMicros, x.WrkCores)
		if x.Winner != 0 {
			fmt.Fprintf(w, "; %d winners (%d) of %d", x.Winners, x.Winner, x.Requests)
		}
		fmt.Fprintln(w)
	}
}
