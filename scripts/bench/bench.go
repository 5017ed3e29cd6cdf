package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"runtime"
	"strings"
	"time"
)

// runner holds what every measured run of one bench needs.
type runner struct {
	cfg     Config
	st      *stack
	rep     *Report
	log     io.Writer
	secrets secretSource
	wrk     wrkState
}

// step is one part of a bench run.
type step struct {
	name string
	run  func(context.Context) error
}

// bench starts the stack and runs, in order: the ceilings, the project's
// paths, the reference's. It returns the report, complete or as far as it
// got.
func bench(ctx context.Context, cfg Config, log io.Writer) (*Report, error) {
	rep := newReport(cfg)
	st, err := startStack(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	defer st.close()
	rep.BuildSeconds = st.buildTime.Seconds()
	r := &runner{cfg: cfg, st: st, rep: rep, log: log,
		secrets: httpSecrets{shop: st.shopperAPI(), conns: 64}}
	steps := []step{
		{"ceiling: bare gin handler", r.bareCeiling},
		{"ceiling: the take script", r.evalCeilings},
		{"ceiling: MariaDB barrier+order transactions", r.sqlCeiling},
		{"ours: sold-out path", r.oursSoldOut},
		{"ours: success path", r.oursSuccess},
		{"ours: burst", r.oursBurst},
		{"reference: sold-out, success, burst", r.reference},
	}
	for _, s := range steps {
		fmt.Fprintf(log, "bench: %s (load average %.2f)\n", s.name, loadAvg())
		if err := s.run(ctx); err != nil {
			rep.finish()
			return rep, fmt.Errorf("%s: %w", s.name, err)
		}
	}
	rep.finish()
	return rep, nil
}

// load returns a Load of reqs against addr over conns connections, with
// the run's processes and progress output.
func (r *runner) load(name, addr string, reqs [][]byte, conns int) Load {
	return Load{Name: name, Addr: addr, Requests: reqs, Conns: conns, SrcIPs: r.cfg.SrcIPs,
		Procs: r.procs(), Progress: r.log}
}

// procs returns the processes whose CPU a run reports: every process the
// bench started that is running, Redis and MariaDB.
func (r *runner) procs() procSet { return maps.Clone(r.st.pids) }

// measure runs l once the machine is quiet, under perf when profile is set
// and cfg.Perf allows, and keeps the profile of comms.
func (r *runner) measure(ctx context.Context, l Load, profile bool, comms ...string) (Result, error) {
	r.quiet(ctx)
	var perf *perfRecord
	if profile && r.cfg.Perf {
		perf = startPerf(r.st.dir, l.Name)
	}
	before := dbSnapshot(ctx, r.st.server)
	redisBefore := redisSnapshot(ctx, r.st.rdb)
	res, err := runLoad(ctx, l)
	r.profile(ctx, perf, comms...)
	res.dbBefore, res.redisBefore = before, redisBefore
	res.DB = dbSince(ctx, r.st.server, before)
	res.Redis = redisSince(ctx, r.st.rdb, redisBefore)
	return res, err
}

// quiet waits, up to cfg.QuietWait, until the rest of the machine (every
// busy core but the bench's own processes) has used less than
// cfg.QuietCores over a second: on a shared machine each run then starts
// as undisturbed as it gets. Each result still reports what the rest of
// the machine used during it ("others").
func (r *runner) quiet(ctx context.Context) {
	if r.cfg.QuietWait <= 0 {
		return
	}
	deadline := time.Now().Add(r.cfg.QuietWait)
	for ctx.Err() == nil {
		procs := r.procs()
		snap := procs.snapshot()
		time.Sleep(time.Second)
		cpu, _ := procs.cpuSince(snap, 0)
		var others float64
		for _, p := range cpu {
			if p.Name == "others" {
				others = p.Cores
			}
		}
		if others < r.cfg.QuietCores {
			return
		}
		if time.Now().After(deadline) {
			r.rep.Notes = append(r.rep.Notes, fmt.Sprintf("a run started while other processes used %.2f cores (waited %s)", others, r.cfg.QuietWait))
			return
		}
		fmt.Fprintf(r.log, "bench: waiting for a quieter machine: other processes use %.2f cores\n", others)
	}
}

// profile stops perf, if it ran, and keeps its report.
func (r *runner) profile(ctx context.Context, p *perfRecord, comms ...string) {
	if p == nil {
		return
	}
	prof, err := p.stop(ctx, comms...)
	if err != nil {
		r.rep.Notes = append(r.rep.Notes, fmt.Sprintf("profile %s: %v", p.name, err))
		return
	}
	r.rep.Profiles = append(r.rep.Profiles, prof)
}

// hardware describes the machine the way docs/benchmarks.md reports it.
func hardware() Hardware {
	h := Hardware{CPUs: runtime.NumCPU(), GoVersion: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				h.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && k == "MemTotal" {
				var kb int64
				fmt.Sscan(strings.TrimSuffix(strings.TrimSpace(v), " kB"), &kb)
				h.MemoryGiB = float64(kb) / (1 << 20)
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		h.Kernel = strings.TrimSpace(string(b))
	}
	return h
}
