package main

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"net/http"
	"time"
)

// This file runs the paths again with wrk (-wrk), each right after the
// generator's run of the same path at the same connection count, on the
// same stack: the bare handler and our sold-out path with the generator's
// very requests (its activity stays sold out), the success paths with
// users (tokens, start secrets) of their own on an activity of their own,
// for as long as the generator's run lasted.

// WrkRun is one path driven by wrk, beside the generator's run of it.
type WrkRun struct {
	Name    string `json:"name"`
	Conns   int    `json:"conns"`
	Threads int    `json:"threads"`
	// Users is how many distinct prepared requests wrk cycled through.
	Users    int     `json:"users"`
	Requests int64   `json:"requests"`
	Seconds  float64 `json:"seconds"`
	RPS      float64 `json:"rps"`
	// Latency is wrk's (--latency: p50, p90, p99; mean and max from its
	// thread stats).
	Latency Latency `json:"latency"`
	// Status is what wrk's script counted by status; "error" is wrk's
	// socket errors. Winners counts the Winner status (202 ours, 200 the
	// reference's; 0 on sold-out paths).
	Status  map[string]int64 `json:"status"`
	Winner  int              `json:"winner_status,omitempty"`
	Winners int64            `json:"winners"`
	// WrkMicros and WrkCores are wrk's own CPU, per request and over the
	// run; CPU the rest, as the generator's runs report it ("generator"
	// is the bench itself, idle meanwhile; "others" leaves wrk out).
	WrkMicros float64   `json:"wrk_us_per_request"`
	WrkCores  float64   `json:"wrk_cores"`
	CPU       []ProcCPU `json:"cpu"`
	// Gen is the generator's run of the same path and connections; Ratio
	// is wrk's req/s over it.
	Gen   WrkGen  `json:"generator"`
	Ratio float64 `json:"wrk_over_generator"`
	// Of is wrk's run the path is judged against ("bare handler",
	// "reference success"); OfRatio is wrk's req/s over that run's, beside
	// GenOfRatio, the same ratio from the generator's runs.
	Of         string    `json:"of,omitempty"`
	OfRatio    float64   `json:"ratio_to_of,omitempty"`
	GenOfRatio float64   `json:"generator_ratio_to_of,omitempty"`
	LoadAvg    float64   `json:"loadavg_1m_at_start"`
	Start      time.Time `json:"start"`
}

// WrkGen is the generator's figures that a wrk run stands beside.
type WrkGen struct {
	Name     string  `json:"name"`
	RPS      float64 `json:"rps"`
	Latency  Latency `json:"latency"`
	Micros   float64 `json:"us_per_request"`
	Requests int64   `json:"requests"`
	Seconds  float64 `json:"seconds"`
}

// wrkState is what the wrk runs of one bench share.
type wrkState struct {
	success activity // ours, the success runs' activity (ID 0: not yet)
}

// forwardedFor gives request i the X-Forwarded-For header of client
// address 127.0.0.(2 + i mod n), the addresses the generator's
// connections come from (-src-ips): wrk dials from 127.0.0.1 only, which
// the stack trusts as a proxy under -wrk, so that the per-IP limit sees
// as many clients for wrk as for the generator. n = 0 leaves the requests
// as they are.
func forwardedFor(reqs [][]byte, n int) [][]byte {
	if n <= 0 {
		return reqs
	}
	n = min(n, 250)
	out := make([][]byte, len(reqs))
	for i, r := range reqs {
		line, rest, ok := bytes.Cut(r, []byte("\r\n"))
		if !ok {
			out[i] = r
			continue
		}
		out[i] = fmt.Appendf(nil, "%s\r\nX-Forwarded-For: 127.0.0.%d\r\n%s", line, 2+i%n, rest)
	}
	return out
}

// wrkMeasure runs wrk once the machine is quiet and returns the run
// beside gen, the generator's.
func (r *runner) wrkMeasure(ctx context.Context, gen Result, addr string, reqs [][]byte, dur time.Duration, winner int) (WrkRun, error) {
	r.quiet(ctx)
	l := wrkLoad{Name: "wrk " + gen.Name, Addr: addr, Requests: forwardedFor(reqs, r.cfg.SrcIPs), Conns: gen.Conns,
		Duration: dur, Dir: r.st.dir}
	fmt.Fprintf(r.log, "  %-24s wrk, %d connections, %d s\n", gen.Name, l.Conns, wrkSeconds(dur))
	procs := r.procs()
	snap := procs.snapshot()
	run := WrkRun{Name: l.Name, Conns: l.Conns, Threads: wrkThreads(l.Conns), Users: len(reqs), Winner: winner,
		LoadAvg: loadAvg(), Start: time.Now()}
	out, cpu, err := runWrk(ctx, l)
	if err != nil {
		return run, err
	}
	run.Requests, run.Seconds, run.RPS, run.Latency, run.Status = out.Requests, out.Seconds, out.RPS, out.Latency, out.Status
	if winner != 0 {
		run.Winners = out.Status[fmt.Sprint(winner)]
	}
	run.CPU, _ = procs.cpuSince(snap, run.Requests)
	wall := time.Since(run.Start).Seconds()
	run.WrkCores = cpu.Seconds() / wall
	if run.Requests > 0 {
		run.WrkMicros = float64(cpu.Microseconds()) / float64(run.Requests)
	}
	for i, p := range run.CPU {
		if p.Name == "others" {
			run.CPU[i].Cores = max(0, p.Cores-run.WrkCores)
			run.CPU[i].MicrosPerRequest = max(0, p.MicrosPerRequest-run.WrkMicros)
		}
	}
	run.Gen = WrkGen{Name: gen.Name, RPS: gen.RPS, Latency: gen.Latency, Micros: gen.GeneratorMicros(),
		Requests: gen.Requests, Seconds: gen.Seconds}
	if gen.RPS > 0 {
		run.Ratio = run.RPS / gen.RPS
	}
	fmt.Fprintf(r.log, "  %-24s wrk %d req in %.1fs, %.0f req/s (generator %.0f), %s\n",
		gen.Name, run.Requests, run.Seconds, run.RPS, gen.RPS, answers(run.Status))
	r.rep.Wrk = append(r.rep.Wrk, run)
	return run, nil
}

// wrkSteady runs wrk on a steady path (the bare handler, a sold-out path)
// with the generator's requests, for the generator's measured span.
func (r *runner) wrkSteady(ctx context.Context, gen Result, addr string, reqs [][]byte) error {
	if !r.cfg.Wrk {
		return nil
	}
	_, err := r.wrkMeasure(ctx, gen, addr, reqs, r.cfg.Steady, 0)
	return err
}

// wrkUsers is how many users a success run of wrk prepares: enough for
// half as fast again as the generator over the same span, and no fewer
// than the generator's.
func wrkUsers(gen Result, buys int) int {
	return max(buys, int(math.Ceil(gen.RPS*float64(wrkSeconds(secondsDur(gen.Seconds)))*1.5)))
}

func secondsDur(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// wrkOursSuccess runs our success path with wrk at gen's connections, on
// the wrk runs' own activity with users of its own, for as long as gen
// lasted, and waits for its orders.
func (r *runner) wrkOursSuccess(ctx context.Context, gen Result) error {
	if !r.cfg.Wrk {
		return nil
	}
	if r.wrk.success.ID == 0 {
		a, err := r.st.newActivity(ctx, "success path (wrk)", 10_000_000, time.Now().Add(-time.Second))
		if err != nil {
			return err
		}
		r.wrk.success = a
	}
	a := r.wrk.success
	reqs, err := r.requests(ctx, a, fmt.Sprintf("ws%d_", gen.Conns), wrkUsers(gen, r.cfg.SuccessBuys))
	if err != nil {
		return err
	}
	before, err := r.orders(a.ID)(ctx)
	if err != nil {
		return err
	}
	run, err := r.wrkMeasure(ctx, gen, r.st.shopperAddr(), reqs, secondsDur(gen.Seconds), http.StatusAccepted)
	if err != nil {
		return err
	}
	if _, err := waitCount(ctx, r.orders(a.ID), before+run.Winners, r.cfg.SettleTimeout); err != nil {
		return fmt.Errorf("%s: orders: %w", run.Name, err)
	}
	return nil
}

// wrkCheck reconciles the wrk success runs' activity, if there was one.
func (r *runner) wrkCheck(ctx context.Context) {
	if r.wrk.success.ID != 0 {
		r.check(ctx, "wrk ours success", r.wrk.success.ID)
	}
}

// wrkRefSuccess runs the reference's success path with wrk at gen's
// connections for as long as gen lasted, and waits for its branches.
func (r *runner) wrkRefSuccess(ctx context.Context, rs *refStack, gen Result, reqs [][]byte) error {
	if !r.cfg.Wrk {
		return nil
	}
	before, err := rs.branches(ctx)
	if err != nil {
		return err
	}
	run, err := r.wrkMeasure(ctx, gen, rs.appAddr, reqs, secondsDur(gen.Seconds), http.StatusOK)
	if err != nil {
		return err
	}
	if _, err := waitCount(ctx, rs.branches, before+run.Winners, r.cfg.SettleTimeout); err != nil {
		return fmt.Errorf("%s: branches: %w", run.Name, err)
	}
	return nil
}
