package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"
)

// Report is everything one bench run measured, for people (WriteText) and
// machines (JSON).
type Report struct {
	Profile string    `json:"profile"`
	Command string    `json:"command"`
	Started time.Time `json:"started"`
	Seconds float64   `json:"seconds"`
	// BuildSeconds is the part of Seconds spent building the binaries.
	BuildSeconds float64  `json:"build_seconds"`
	Hardware     Hardware `json:"hardware"`
	Sizes        Config   `json:"-"`

	Ceilings     Ceilings     `json:"ceilings"`
	Ours         Side         `json:"ours"`
	Reference    Side         `json:"reference"`
	FlashsaleRSS RSS          `json:"flashsale_rss"`
	Invariants   []Invariants `json:"invariants"`

	// Table is every run's figures with its ratio to its ceiling or to
	// the reference; Targets the targets (the design's, and the first
	// benchmark's burst latency), met or missed with the gap.
	Table    []Row     `json:"table"`
	Targets  []Target  `json:"targets"`
	Profiles []Profile `json:"profiles,omitempty"`
	// Wrk is the paths driven by wrk beside the generator (-wrk).
	Wrk   []WrkRun `json:"wrk,omitempty"`
	Notes []string `json:"notes,omitempty"`
}

// Hardware is the machine the run was on.
type Hardware struct {
	CPUs      int     `json:"cpus"`
	CPUModel  string  `json:"cpu_model"`
	MemoryGiB float64 `json:"memory_gib"`
	Kernel    string  `json:"kernel"`
	GoVersion string  `json:"go_version"`
}

// Ceilings are what the machine does with no flash-sale logic at all.
type Ceilings struct {
	Bare             []Result `json:"bare_handler"`
	EvalSha          Result   `json:"evalsha"`
	EvalShaPipelined Result   `json:"evalsha_pipelined"`
	SQL              Result   `json:"mariadb_tx"`
}

// Side is one implementation's runs: ours or the reference's.
type Side struct {
	SoldOut []Result     `json:"sold_out"`
	Success []SuccessRun `json:"success"`
	// Sharded is the success path again on an activity of several stock
	// shards (-shards), ours only.
	Sharded []SuccessRun `json:"sharded,omitempty"`
	Burst   *BurstRun    `json:"burst,omitempty"`
}

// SuccessRun is a run in which every buy gets a unit.
type SuccessRun struct {
	Result
	// SettledSeconds is how long after the last answer the last order (or
	// reference branch) was created.
	SettledSeconds float64 `json:"settled_after_last_answer_s"`
	// Shards is the activity's number of stock shards (0 in reports
	// older than shards: one).
	Shards int `json:"shards,omitempty"`
}

// BurstRun is the sale replayed.
type BurstRun struct {
	Result
	Units int   `json:"units"`
	Users int   `json:"users"`
	Sold  int64 `json:"sold"`
	// SoldOutSeconds and SettledSeconds count from the first request: the
	// stock counter read zero, every order (branch) was created.
	SoldOutSeconds     *float64 `json:"sold_out_after_s,omitempty"`
	SettledSeconds     *float64 `json:"settled_after_s,omitempty"`
	SettleAfterSoldOut *float64 `json:"settled_after_sold_out_s,omitempty"`
}

func (b *BurstRun) setTimes(soldOut, settled time.Time) {
	sec := func(t time.Time) *float64 {
		if t.IsZero() {
			return nil
		}
		v := t.Sub(b.Start).Seconds()
		return &v
	}
	b.SoldOutSeconds, b.SettledSeconds = sec(soldOut), sec(settled)
	if !soldOut.IsZero() && !settled.IsZero() {
		v := max(0, settled.Sub(soldOut).Seconds())
		b.SettleAfterSoldOut = &v
	}
}

// RSS is the flashsale process's memory after the burst.
type RSS struct {
	NowMB  float64 `json:"now_mb"`
	PeakMB float64 `json:"peak_mb"`
}

// Row is one run's line of the figures table.
type Row struct {
	Path    string  `json:"path"`
	Conns   int     `json:"conns"`
	RPS     float64 `json:"rps"`
	Latency Latency `json:"latency"`
	// Ratio is RPS over the RPS of Of (a ceiling or the reference); Of is
	// "ceiling" or "reference" for the runs that are one.
	Ratio float64 `json:"ratio"`
	Of    string  `json:"of"`
	// GenMicros is the generator's CPU per request; Others the cores the
	// rest of the machine (other processes) used during the run.
	GenMicros float64 `json:"generator_us_per_request"`
	Others    float64 `json:"others_cores"`
	Answers   string  `json:"answers"`
}

// Target is one target of the design or of the first benchmark
// (docs/benchmarks.md).
type Target struct {
	Name   string `json:"name"`
	Source string `json:"source"`
	Got    string `json:"got"`
	Met    bool   `json:"met"`
	Gap    string `json:"gap,omitempty"`
	// Profile names the profile that shows what limits a missed target.
	Profile string `json:"profile,omitempty"`
}

func newReport(cfg Config) *Report {
	return &Report{Profile: cfg.Profile, Command: "go run ./scripts/bench " + strings.Join(os.Args[1:], " "),
		Started: time.Now(), Hardware: hardware(), Sizes: cfg}
}

// finish fills the table and the targets.
func (r *Report) finish() {
	r.Seconds = time.Since(r.Started).Seconds()
	r.Table = r.table()
	r.wrkRatios()
	r.Targets = r.evaluate()
}

// InvariantsOK reports whether every reconciliation passed (and there was
// at least one).
func (r *Report) InvariantsOK() bool {
	for _, inv := range r.Invariants {
		if !inv.OK {
			return false
		}
	}
	return len(r.Invariants) > 0
}

func byConns[T any](runs []T, conns int, get func(T) Result) (Result, bool) {
	for _, x := range runs {
		if res := get(x); res.Conns == conns {
			return res, true
		}
	}
	return Result{}, false
}

func plain(r Result) Result         { return r }
func ofSuccess(r SuccessRun) Result { return r.Result }

func (r *Report) table() []Row {
	var rows []Row
	add := func(res Result, of Result, ofName string) {
		if res.Name == "" {
			return
		}
		row := Row{Path: res.Name, Conns: res.Conns, RPS: res.RPS, Latency: res.Latency, Of: ofName,
			GenMicros: res.GeneratorMicros(), Answers: answers(res.Status)}
		for _, p := range res.CPU {
			if p.Name == "others" {
				row.Others = p.Cores
			}
		}
		if of.RPS > 0 {
			row.Ratio = res.RPS / of.RPS
		} else if ofName == "ceiling" || ofName == "reference" {
			row.Ratio = 1
		}
		rows = append(rows, row)
	}
	for _, b := range r.Ceilings.Bare {
		add(b, Result{}, "ceiling")
	}
	add(r.Ceilings.EvalSha, Result{}, "ceiling")
	add(r.Ceilings.EvalShaPipelined, Result{}, "ceiling")
	add(r.Ceilings.SQL, Result{}, "ceiling")
	for _, so := range r.Ours.SoldOut {
		bare, _ := byConns(r.Ceilings.Bare, so.Conns, plain)
		add(so, bare, "bare handler")
	}
	for _, s := range r.Ours.Success {
		ref, _ := byConns(r.Reference.Success, s.Conns, ofSuccess)
		add(s.Result, ref, "reference success")
	}
	for _, s := range r.Ours.Sharded {
		one, _ := byConns(r.Ours.Success, s.Conns, ofSuccess)
		add(s.Result, one, "one shard")
	}
	if b := r.Ours.Burst; b != nil {
		var ref Result
		if r.Reference.Burst != nil {
			ref = r.Reference.Burst.Result
		}
		add(b.Result, ref, "reference burst")
	}
	for _, so := range r.Reference.SoldOut {
		bare, _ := byConns(r.Ceilings.Bare, so.Conns, plain)
		add(so, bare, "bare handler")
	}
	for _, s := range r.Reference.Success {
		add(s.Result, Result{}, "reference")
	}
	if b := r.Reference.Burst; b != nil {
		add(b.Result, Result{}, "reference")
	}
	return rows
}

// answers renders status counts: "202:10000 409:189990 429:10".
func answers(status map[string]int64) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(status)) { // "2xx" < "4xx" < "error"
		parts = append(parts, fmt.Sprintf("%s:%d", k, status[k]))
	}
	return strings.Join(parts, " ")
}

// disturbedCores is how much CPU other processes may use during a run
// before its figures are marked as disturbed.
const disturbedCores = 0.25

func mb(b int64) float64 { return float64(b) / (1 << 20) }

// JSON writes the report as indented JSON to path.
func (r *Report) JSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// WriteText renders the report for people.
func (r *Report) WriteText(w io.Writer) {
	h := r.Hardware
	c := r.Sizes
	fmt.Fprintf(w, "\n== flashsale bench, profile %s, %s, %.0f s (%.0f s of it building) ==\n",
		r.Profile, r.Started.UTC().Format(time.RFC3339), r.Seconds, r.BuildSeconds)
	fmt.Fprintf(w, "machine: %d CPUs (%s), %.1f GiB, Linux %s, %s\n", h.CPUs, h.CPUModel, h.MemoryGiB, h.Kernel, h.GoVersion)
	fmt.Fprintf(w, "command: %s\n", r.Command)
	fmt.Fprintf(w, "sizes: burst %d buys / %d units / %d users / %d conns; steady runs %s (+%s warm-up) at %s conns; success runs %d buys\n\n",
		c.Burst.Buys, c.Burst.Units, c.Burst.Users, c.Burst.Conns, c.Steady, c.Warmup, joinInts(c.Conns), c.SuccessBuys)

	fmt.Fprintf(w, "%-36s %5s %9s %7s %7s %7s %8s %7s  %-18s %7s %6s  %s\n",
		"path", "conns", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "ratio", "of", "gen us", "others", "answers")
	for _, row := range r.Table {
		mark := " "
		if row.Others > disturbedCores {
			mark = "!"
		}
		fmt.Fprintf(w, "%-36s %5d %9.0f %7.2f %7.2f %7.2f %8.1f %6.2fx  %-18s %7.1f %5.2f%s  %s\n",
			row.Path, row.Conns, row.RPS, row.Latency.P50, row.Latency.P90, row.Latency.P99, row.Latency.Max,
			row.Ratio, row.Of, row.GenMicros, row.Others, mark, row.Answers)
	}
	fmt.Fprintln(w, "  (gen us: the generator's own CPU per request, getrusage; others: cores used by other processes meanwhile,")
	fmt.Fprintf(w, "   ! when over %.2f: the run shared the machine and its figure is low)\n", disturbedCores)

	fmt.Fprintln(w, "\nsales:")
	for _, s := range []struct {
		name string
		side Side
	}{{"ours", r.Ours}, {"reference", r.Reference}} {
		if b := s.side.Burst; b != nil {
			fmt.Fprintf(w, "  %s burst: %d buys in %.1f s (%.0f/s); %d of %d units sold; sold out after %s; all orders after %s, %s after sold-out",
				s.name, b.Requests, b.Seconds, b.RPS, b.Sold, b.Units, secs(b.SoldOutSeconds), secs(b.SettledSeconds), secs(b.SettleAfterSoldOut))
			if b.Winners != nil {
				fmt.Fprintf(w, "; winners p99 %.1f ms", b.Winners.P99)
			}
			fmt.Fprintln(w)
		}
		for _, run := range s.side.Success {
			fmt.Fprintf(w, "  %s: last order %.2f s after the last answer", run.Name, run.SettledSeconds)
			if run.Winners != nil {
				fmt.Fprintf(w, "; winners p99 %.1f ms", run.Winners.P99)
			}
			fmt.Fprintln(w)
		}
	}
	fmt.Fprintf(w, "  flashsale RSS after the burst: %.0f MB, peak %.0f MB\n", r.FlashsaleRSS.NowMB, r.FlashsaleRSS.PeakMB)

	r.writeCPU(w)
	r.writeWrk(w)

	fmt.Fprintln(w, "\nMariaDB during the runs that write orders (the whole server; to the last order created):")
	dbRuns := []Result{r.Ceilings.SQL}
	for _, s := range append(r.Ours.Success, r.Ours.Sharded...) {
		dbRuns = append(dbRuns, s.Result)
	}
	if r.Ours.Burst != nil {
		dbRuns = append(dbRuns, r.Ours.Burst.Result)
	}
	for _, res := range dbRuns {
		if res.Name != "" {
			fmt.Fprintf(w, "  %-36s %s\n", res.Name, res.DB)
		}
	}

	fmt.Fprintln(w, "\nRedis commands per purchase (the run's server, INFO commandstats, calls inside scripts included; to the last order created):")
	redisRuns := dbRuns[1:]
	for _, s := range r.Reference.Success {
		redisRuns = append(redisRuns, s.Result)
	}
	for _, res := range redisRuns {
		if res.Name != "" {
			fmt.Fprintf(w, "  %-36s %s\n", res.Name, res.Redis.PerRequest(res.Count(http.StatusAccepted)+res.Count(http.StatusOK)))
		}
	}

	fmt.Fprintln(w, "\ntargets:")
	for _, t := range r.Targets {
		mark := "MET "
		if !t.Met {
			mark = "MISS"
		}
		fmt.Fprintf(w, "  [%s] %s (%s): %s", mark, t.Name, t.Source, t.Got)
		if t.Gap != "" {
			fmt.Fprintf(w, "; gap: %s", t.Gap)
		}
		if t.Profile != "" && !t.Met {
			fmt.Fprintf(w, "; see profile %q", t.Profile)
		}
		fmt.Fprintln(w)
	}

	fmt.Fprintln(w, "\ninvariants (reconcile: I1-I5 (docs/architecture.md), nothing left prepared or submitted):")
	for _, inv := range r.Invariants {
		status := "ok"
		if !inv.OK {
			status = "FAILED"
		}
		fmt.Fprintf(w, "  %-14s %s: %s", inv.Path, status, inv.Report)
		if inv.Error != "" {
			fmt.Fprintf(w, "  error: %s\n", inv.Error)
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	for _, p := range r.Profiles {
		fmt.Fprintf(w, "\n%s", p.Text)
	}
}

// cpuColumns orders the processes of the CPU table.
var cpuColumns = []string{"generator", "flashsale", "dtm", "orders", "bare", "ref-app", "ref-dtm", "redis", "dtm-redis", "mariadb", "irq", "others", "machine"}

// writeCPU prints, per run, each process's CPU per request.
func (r *Report) writeCPU(w io.Writer) {
	fmt.Fprintln(w, "\nCPU per request, microseconds, by process (machine = all cores busy; irq = interrupts; others = everything not listed);")
	fmt.Fprintln(w, "and the TCP connections the machine opened per request:")
	fmt.Fprintf(w, "  %-36s", "run")
	for _, c := range cpuColumns {
		fmt.Fprintf(w, " %9s", c)
	}
	fmt.Fprintf(w, " %9s\n", "tcp opens")
	runs := []Result{}
	runs = append(runs, r.Ceilings.Bare...)
	runs = append(runs, r.Ceilings.EvalSha, r.Ceilings.EvalShaPipelined, r.Ceilings.SQL)
	for _, s := range []Side{r.Ours, r.Reference} {
		runs = append(runs, s.SoldOut...)
		for _, x := range append(s.Success, s.Sharded...) {
			runs = append(runs, x.Result)
		}
		if s.Burst != nil {
			runs = append(runs, s.Burst.Result)
		}
	}
	for _, res := range runs {
		if res.Name == "" {
			continue
		}
		fmt.Fprintf(w, "  %-36s", res.Name)
		for _, c := range cpuColumns {
			v := "-"
			for _, p := range res.CPU {
				if p.Name == c {
					v = fmt.Sprintf("%.1f", p.MicrosPerRequest)
				}
			}
			fmt.Fprintf(w, " %9s", v)
		}
		fmt.Fprintf(w, " %9.2f\n", float64(res.TCPOpens)/float64(max(1, res.Requests)))
	}
}

func secs(v *float64) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf("%.2f s", *v)
}
