package main

import "fmt"

// The targets, as ratios in one run on one machine: the design's, and the
// burst latency of the first benchmark's. A missed target reports its gap
// and the profile of the run it judges.
const (
	soldOutVsBare      = 0.9  // sold-out path >= 0.9x the bare handler, at every connection count
	soldOutP99Millis   = 20.0 // with p99 < 20 ms at 256 connections
	burstVsReference   = 10.0 // the burst >= 10x the reference's burst
	successVsReference = 1.2  // success path >= 1.2x the reference, winners' p99 <= the reference's
	purchaseMicros     = 1000 // machine CPU per successful purchase <= 1.0 ms (the stack's: no generator, no other work)
	settleAfterSoldOut = 2.0  // every order within 2 s of the last unit sold
	rssLimitMB         = 150.0

	burstP99Millis = 50.0 // the first benchmark's: the burst's p99 < 50 ms
)

// Where a target comes from: the design, or the first benchmark's
// targets, which the design's replaced but for the burst's latency.
const (
	sourceDesign = "design"
	sourceFirst  = "first benchmark"
)

// stackCPU returns the CPU per request of the stack's processes: the
// machine's, less the generator's and other work's.
func stackCPU(res Result) float64 {
	var machine, gen, others float64
	for _, p := range res.CPU {
		switch p.Name {
		case "machine":
			machine = p.MicrosPerRequest
		case "generator":
			gen = p.MicrosPerRequest
		case "others":
			others = p.MicrosPerRequest
		}
	}
	return machine - gen - others
}

func (r *Report) evaluate() []Target {
	var ts []Target
	add := func(t Target) { ts = append(ts, t) }
	maxConns := 0
	for _, c := range r.Sizes.Conns {
		maxConns = max(maxConns, c)
	}

	soldOutProfile := fmt.Sprintf("ours sold-out @%d", maxConns)
	for _, so := range r.Ours.SoldOut {
		if bare, ok := byConns(r.Ceilings.Bare, so.Conns, plain); ok {
			add(ratioTarget(fmt.Sprintf("sold-out path >= %.1fx bare handler @%d", soldOutVsBare, so.Conns), sourceDesign,
				so.RPS, bare.RPS, soldOutVsBare, soldOutProfile))
		}
		if so.Conns == 256 {
			add(latencyTarget("sold-out path p99 @256", sourceDesign, so.Latency.P99, soldOutP99Millis, soldOutProfile))
		}
	}

	if b := r.Ours.Burst; b != nil {
		if ref := r.Reference.Burst; ref != nil {
			add(ratioTarget(fmt.Sprintf("burst >= %.0fx reference throughput", burstVsReference), sourceDesign,
				b.RPS, ref.RPS, burstVsReference, "ours burst"))
		}
		add(latencyTarget("burst p99", sourceFirst, b.Latency.P99, burstP99Millis, "ours burst"))
		t := Target{Name: fmt.Sprintf("every order within %.0f s of sold-out", settleAfterSoldOut), Source: sourceDesign, Profile: "ours burst"}
		switch {
		case b.SettleAfterSoldOut == nil && b.SoldOutSeconds == nil:
			t.Got = fmt.Sprintf("never sold out (%d of %d units sold)", b.Sold, b.Units)
			t.Gap = "the burst did not sell every unit"
		case b.SettleAfterSoldOut == nil:
			t.Got = "orders never all created"
			t.Gap = "settlement timed out"
		default:
			t.Got = fmt.Sprintf("%.2f s", *b.SettleAfterSoldOut)
			t.Met = *b.SettleAfterSoldOut <= settleAfterSoldOut
			if !t.Met {
				t.Gap = fmt.Sprintf("%.2f s over", *b.SettleAfterSoldOut-settleAfterSoldOut)
			}
		}
		add(t)
		rss := Target{Name: fmt.Sprintf("flashsale RSS <= %.0f MB", rssLimitMB), Source: sourceDesign, Profile: "ours burst",
			Got: fmt.Sprintf("peak %.0f MB", r.FlashsaleRSS.PeakMB), Met: r.FlashsaleRSS.PeakMB > 0 && r.FlashsaleRSS.PeakMB <= rssLimitMB}
		if !rss.Met {
			rss.Gap = fmt.Sprintf("%.0f MB over", r.FlashsaleRSS.PeakMB-rssLimitMB)
		}
		add(rss)
	}

	successProfile := fmt.Sprintf("ours success @%d", maxConns)
	for _, s := range r.Ours.Success {
		ref, ok := byConns(r.Reference.Success, s.Conns, ofSuccess)
		if !ok {
			continue
		}
		add(ratioTarget(fmt.Sprintf("success path >= %.1fx reference @%d", successVsReference, s.Conns), sourceDesign,
			s.RPS, ref.RPS, successVsReference, successProfile))
		if s.Winners != nil && ref.Winners != nil {
			add(latencyTarget(fmt.Sprintf("success path winners' p99 @%d vs the reference's", s.Conns),
				sourceDesign, s.Winners.P99, ref.Winners.P99, successProfile))
		}
		cpu := Target{Name: fmt.Sprintf("stack CPU per purchase @%d <= %d us", s.Conns, purchaseMicros), Source: sourceDesign, Profile: successProfile}
		if got := stackCPU(s.Result); got > 0 {
			cpu.Got = fmt.Sprintf("%.0f us (the reference's %.0f us)", got, stackCPU(ref))
			cpu.Met = got <= purchaseMicros
			if !cpu.Met {
				cpu.Gap = fmt.Sprintf("%.0f us over (%.2fx the limit)", got-purchaseMicros, got/purchaseMicros)
			}
		} else {
			cpu.Got, cpu.Gap = "no CPU figures", "the run recorded no CPU"
		}
		add(cpu)
	}

	inv := Target{Name: "invariants hold after every run (reconcile)", Source: sourceDesign, Met: r.InvariantsOK()}
	inv.Got = fmt.Sprintf("%d activities checked", len(r.Invariants))
	if !inv.Met {
		inv.Gap = "see the reconciliation below"
	}
	add(inv)
	return ts
}

// ratioTarget judges got/of >= want.
func ratioTarget(name, source string, got, of, want float64, profile string) Target {
	t := Target{Name: name, Source: source, Profile: profile}
	if of <= 0 {
		t.Got = "no figure to compare with"
		return t
	}
	ratio := got / of
	t.Got = fmt.Sprintf("%.2fx (%.0f vs %.0f req/s)", ratio, got, of)
	t.Met = ratio >= want
	if !t.Met {
		t.Gap = fmt.Sprintf("%.2fx short of %.1fx: needs %.0f req/s, %.0f%% more", want-ratio, want, want*of, (want*of/got-1)*100)
	}
	return t
}

// latencyTarget judges got <= limit (milliseconds).
func latencyTarget(name, source string, got, limit float64, profile string) Target {
	t := Target{Name: fmt.Sprintf("%s <= %.1f ms", name, limit), Source: source, Profile: profile,
		Got: fmt.Sprintf("%.1f ms", got), Met: got <= limit}
	if !t.Met {
		t.Gap = fmt.Sprintf("%.1f ms over (%.1fx the limit)", got-limit, got/limit)
	}
	return t
}
