package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func res(name string, conns int, rps, p99 float64) Result {
	return Result{Name: name, Conns: conns, RPS: rps, Latency: Latency{P99: p99}, Status: map[string]int64{"409": 1}}
}

func fv(v float64) *float64 { return &v }

// sampleReport is a run that meets some targets and misses others.
func sampleReport() *Report {
	cfg := FullConfig()
	r := &Report{Profile: "full", Sizes: cfg}
	r.Ceilings.Bare = []Result{res("bare gin handler @64", 64, 80000, 5), res("bare gin handler @256", 256, 90000, 12)}
	r.Ours.SoldOut = []Result{res("ours sold-out @64", 64, 70000, 4), res("ours sold-out @256", 256, 60000, 25)}
	win := &Latency{P99: 60}
	refWin := &Latency{P99: 70}
	r.Ours.Success = []SuccessRun{{Result: res("ours success @64", 64, 2100, 60)}, {Result: res("ours success @256", 256, 1500, 300)}}
	cpu := func(machine float64) []ProcCPU {
		return []ProcCPU{{Name: "generator", MicrosPerRequest: 50}, {Name: "machine", MicrosPerRequest: machine}}
	}
	r.Ours.Success[0].CPU, r.Ours.Success[1].CPU = cpu(950), cpu(1500)
	r.Ours.Success[0].Winners, r.Ours.Success[1].Winners = win, &Latency{P99: 400}
	r.Reference.Success = []SuccessRun{{Result: res("reference success @64", 64, 1700, 70)}, {Result: res("reference success @256", 256, 1700, 230)}}
	r.Reference.Success[0].Winners, r.Reference.Success[1].Winners = refWin, &Latency{P99: 231}
	r.Ours.Burst = &BurstRun{Result: res("ours burst", 256, 15000, 40), Units: 10000, Sold: 10000,
		SoldOutSeconds: fv(1), SettledSeconds: fv(4), SettleAfterSoldOut: fv(3)}
	r.Reference.Burst = &BurstRun{Result: res("reference burst", 256, 2000, 250), Units: 10000, Sold: 10000}
	r.FlashsaleRSS = RSS{PeakMB: 90}
	r.Invariants = []Invariants{{Path: "ours burst", OK: true}}
	r.finish()
	return r
}

func TestTargets(t *testing.T) {
	r := sampleReport()
	want := map[string]bool{
		"sold-out path >= 0.9x bare handler @64":                        false, // 0.875x
		"sold-out path >= 0.9x bare handler @256":                       false, // 0.667x
		"sold-out path p99 @256 <= 20.0 ms":                             false,
		"burst >= 10x reference throughput":                             false, // 7.5x
		"burst p99 <= 50.0 ms":                                          true,
		"every order within 2 s of sold-out":                            false, // 3 s
		"flashsale RSS <= 150 MB":                                       true,
		"success path >= 1.2x reference @64":                            true, // 1.24x
		"success path >= 1.2x reference @256":                           false,
		"success path winners' p99 @64 vs the reference's <= 70.0 ms":   true,
		"success path winners' p99 @256 vs the reference's <= 231.0 ms": false,
		"stack CPU per purchase @64 <= 1000 us":                         true,  // 900
		"stack CPU per purchase @256 <= 1000 us":                        false, // 1450
		"invariants hold after every run (reconcile)":                   true,
	}
	got := map[string]Target{}
	for _, tg := range r.Targets {
		got[tg.Name] = tg
	}
	for name, met := range want {
		tg, ok := got[name]
		if !ok {
			t.Errorf("no target %q (have %v)", name, keys(got))
			continue
		}
		if tg.Met != met {
			t.Errorf("%s: met %v, want %v (%s)", name, tg.Met, met, tg.Got)
		}
		if !tg.Met && tg.Gap == "" {
			t.Errorf("%s: missed without a gap", name)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d targets, want %d: %v", len(got), len(want), keys(got))
	}
	if g := got["burst >= 10x reference throughput"].Gap; !strings.Contains(g, "needs 20000 req/s") {
		t.Errorf("gap %q does not say what is needed", g)
	}
	if g := got["every order within 2 s of sold-out"].Gap; g != "1.00 s over" {
		t.Errorf("settlement gap %q", g)
	}
}

func TestTableRatios(t *testing.T) {
	r := sampleReport()
	ratios := map[string]float64{}
	for _, row := range r.Table {
		ratios[row.Path] = row.Ratio
	}
	for path, want := range map[string]float64{
		"bare gin handler @64":   1,
		"ours sold-out @256":     60000.0 / 90000,
		"ours success @64":       2100.0 / 1700,
		"ours burst":             7.5,
		"reference burst":        1,
		"reference success @256": 1,
	} {
		if got := ratios[path]; got < want-1e-9 || got > want+1e-9 {
			t.Errorf("%s: ratio %.4f, want %.4f", path, got, want)
		}
	}
}

func TestInvariantsFailTheRun(t *testing.T) {
	r := sampleReport()
	if !r.InvariantsOK() {
		t.Fatal("all reconciliations passed")
	}
	r.Invariants = append(r.Invariants, Invariants{Path: "ours success", OK: false})
	if r.InvariantsOK() {
		t.Fatal("a failed reconciliation must fail the run")
	}
	if (&Report{}).InvariantsOK() {
		t.Fatal("no reconciliation at all must fail the run")
	}
}

func TestReportRenders(t *testing.T) {
	r := sampleReport()
	var b strings.Builder
	r.WriteText(&b)
	for _, s := range []string{"ours burst", "[MISS] every order within 2 s", "[MET ] flashsale RSS", "7.50x"} {
		if !strings.Contains(b.String(), s) {
			t.Errorf("text report lacks %q:\n%s", s, b.String())
		}
	}
	j, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(j, &back); err != nil || back["targets"] == nil || back["table"] == nil {
		t.Fatalf("JSON report: %v %s", err, j[:200])
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestWrkReport(t *testing.T) {
	r := sampleReport()
	gen := func(name string, rps, micros float64) WrkGen { return WrkGen{Name: name, RPS: rps, Micros: micros} }
	r.Wrk = []WrkRun{
		{Gen: gen("bare gin handler @64", 80000, 8), RPS: 88000, Ratio: 1.1, WrkMicros: 7, Conns: 64},
		{Gen: gen("ours sold-out @64", 70000, 16), RPS: 66000, Ratio: 66.0 / 70, WrkMicros: 11, Conns: 64},
		{Gen: gen("ours success @64", 2100, 90), RPS: 1400, Ratio: 1400.0 / 2100, WrkMicros: 45, Conns: 64,
			Winner: 202, Winners: 7000, Requests: 7000, Status: map[string]int64{"202": 7000}},
		{Gen: gen("reference success @64", 1700, 50), RPS: 2000, WrkMicros: 27, Conns: 64},
	}
	r.finish()
	so, succ := r.Wrk[1], r.Wrk[2]
	if so.Of != "bare handler" || so.OfRatio != 0.75 || so.GenOfRatio != 0.875 {
		t.Errorf("sold-out: of %q, wrk %.3fx, generator %.3fx; want bare handler, 0.75x, 0.875x", so.Of, so.OfRatio, so.GenOfRatio)
	}
	if succ.Of != "reference success" || succ.OfRatio != 0.7 || succ.GenOfRatio != 2100.0/1700 {
		t.Errorf("success: of %q, wrk %.3fx, generator %.3fx; want reference success, 0.70x, 1.24x", succ.Of, succ.OfRatio, succ.GenOfRatio)
	}
	if r.Wrk[0].Of != "" || r.Wrk[3].Of != "" {
		t.Errorf("the bare handler and the reference are judged against nothing: %q %q", r.Wrk[0].Of, r.Wrk[3].Of)
	}
	var b strings.Builder
	r.WriteText(&b)
	for _, want := range []string{
		"ours success @64: wrk 0.67x the generator; to the reference success: generator 1.24x, wrk 0.70x; CPU per request: generator 90.0 us, wrk 45.0 us",
		"ours sold-out @64: wrk 0.94x the generator; to the bare handler: generator 0.88x, wrk 0.75x",
		"202:7000",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("text report lacks %q", want)
		}
	}
	j, err := json.Marshal(r)
	if err != nil || !strings.Contains(string(j), `"wrk_over_generator":0.6666`) || !strings.Contains(string(j), `"ratio_to_of":0.7`) {
		t.Errorf("JSON report lacks the wrk runs (%v)", err)
	}
}
