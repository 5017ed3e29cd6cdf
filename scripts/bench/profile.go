package main

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/flashsale/flashsale/internal/proc"
)

// Profiles are taken with perf, of the whole machine, while a judged run
// goes. perf needs no change to the services (no pprof listener in
// flashsale), resolves Go symbols from the binaries' symbol tables, and
// shows in one profile what the in-process pprof cannot: every process on
// the path (flashsale, dtm, orders, Redis, MariaDB, the generator) and the
// kernel's share (TCP, connection churn), side by side.

// perfRecord is a running `perf record -a -g`, and beside it a count of
// the connect() calls of every process (connection churn).
type perfRecord struct {
	name     string
	file     string
	connects string
	rec      *proc.Process
	conn     *proc.Process // nil when the tracepoint is missing
}

// startPerf starts sampling every CPU at 499 Hz with call chains into
// dir/<name>.perf.data, and recording connect() calls into
// dir/<name>.connect.data. It returns nil (no profile) when perf fails to
// start.
func startPerf(dir, name string) *perfRecord {
	base := filepath.Join(dir, strings.ReplaceAll(name, " ", "-"))
	p := &perfRecord{name: name, file: base + ".perf.data", connects: base + ".connect.data"}
	p.rec = &proc.Process{Name: "perf record", Path: "perf", Args: []string{"record", "-F", "499", "-a", "-g", "-o", p.file}}
	if err := p.rec.Start(); err != nil {
		return nil
	}
	p.conn = &proc.Process{Name: "perf record connect", Path: "perf",
		Args: []string{"record", "-e", "syscalls:sys_enter_connect", "-a", "-g", "-o", p.connects}}
	if err := p.conn.Start(); err != nil {
		p.conn = nil // the tracepoint may be missing: the CPU profile still counts
	}
	time.Sleep(200 * time.Millisecond) // perf maps the CPUs before it samples
	return p
}

// ownCode names, per process, the functions that are its own code (a
// substring of their package paths), so that the cumulative view can list
// them apart from the runtime and the kernel: where in the handler the
// time goes.
var ownCode = map[string]string{
	"flashsale": "flashsale/flashsale",
	"orders":    "flashsale/flashsale",
	"dtm":       "dtm-labs/dtm",
	"ref-app":   "dtm-labs/client",
	"ref-dtm":   "dtm-labs/dtm",
}

// Profile is the text of a run's profile: the CPU share of each process
// on the machine, then the hottest functions of the processes named.
type Profile struct {
	Name string `json:"name"`
	File string `json:"file"`
	Text string `json:"text"`
}

// stop ends the sampling and renders the report: CPU by process (by
// command name: every process the bench starts has a binary of its own
// name), connect() calls by process, then for each of comms its top
// functions by self time and by cumulative time (perf's "children",
// pprof's -cum).
func (p *perfRecord) stop(ctx context.Context, comms ...string) (Profile, error) {
	if p == nil {
		return Profile{}, fmt.Errorf("perf is not running")
	}
	p.rec.Signal(syscall.SIGINT)
	if p.conn != nil {
		p.conn.Signal(syscall.SIGINT)
		p.conn.Wait(ctx)
	}
	if err := p.rec.Wait(ctx); err != nil {
		return Profile{}, err
	}
	// perf ends with 0, or 130, or by the SIGINT itself (-1).
	if code := p.rec.ExitCode(); code != 0 && code != 130 && code != -1 {
		return Profile{}, fmt.Errorf("perf record: exit code %d: %s", code, p.rec.Tail(2000))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "== %s: CPU samples by process (whole machine, perf record -a -F 499) ==\n", p.name)
	reportOn := func(file string, args ...string) string {
		cmd := exec.CommandContext(ctx, "perf", append([]string{"report", "-i", file, "--stdio", "-q"}, args...)...)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			return fmt.Sprintf("(perf report failed: %v: %s)\n", err, errb.String())
		}
		return out.String()
	}
	report := func(args ...string) string { return reportOn(p.file, append([]string{"-g", "none"}, args...)...) }
	b.WriteString(trimLines(report("--no-children", "--sort", "comm", "--percent-limit", "0.5"), 20, ""))
	if p.conn != nil {
		fmt.Fprintf(&b, "\n== %s: connect() calls by process (new TCP connections: share, count) ==\n", p.name)
		b.WriteString(trimLines(reportOn(p.connects, "-n", "-g", "none", "--sort", "comm"), 10, ""))
		for _, comm := range comms {
			fmt.Fprintf(&b, "\n== %s: %s, where its connect() calls come from ==\n", p.name, comm)
			b.WriteString(trimLines(reportOn(p.connects, "--no-children", "--comm", comm, "--percentage", "relative",
				"-g", "caller,1,callee,function,percent", "--percent-limit", "1"), 45, ""))
		}
	}
	for _, comm := range comms {
		fmt.Fprintf(&b, "\n== %s: %s, self time (%% of the process's samples) ==\n", p.name, comm)
		b.WriteString(trimLines(report("--no-children", "--comm", comm, "--percentage", "relative", "--sort", "dso,sym", "--percent-limit", "1"), 25, ""))
		fmt.Fprintf(&b, "\n== %s: %s, cumulative time (children included) ==\n", p.name, comm)
		cum := report("--children", "--comm", comm, "--percentage", "relative", "--sort", "sym", "--percent-limit", "0.5")
		b.WriteString(trimLines(cum, 25, ""))
		if f := ownCode[comm]; f != "" {
			fmt.Fprintf(&b, "\n== %s: %s, cumulative time of its own code (functions matching %q) ==\n", p.name, comm, f)
			b.WriteString(trimLines(cum, 30, f))
		}
	}
	return Profile{Name: p.name, File: p.file, Text: b.String()}, nil
}

// trimLines keeps the first n non-empty lines of s that contain substr.
func trimLines(s string, n int, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) == "" || !strings.Contains(l, substr) {
			continue
		}
		if out = append(out, l); len(out) == n {
			break
		}
	}
	return strings.Join(out, "\n") + "\n"
}
