package main

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// This file drives wrk (https://github.com/wg/wrk, Debian package wrk) as a
// second generator beside the bench's own (-wrk): the same prepared
// requests, written to a file that a Lua script cycles through, the same
// connection counts and durations. What wrk reports (req/s, its latency
// distribution, the statuses its script counted) and what it cost (its
// CPU, from the kernel) are parsed here.

// wrkInstall is what the -wrk flag tells when wrk is missing.
const wrkInstall = "-wrk needs wrk on PATH: install it with apt-get install wrk (Debian, Ubuntu) or build it from https://github.com/wg/wrk"

// wrkScript is the Lua script wrk runs. Each thread reads the request
// file (each request as its length in bytes on a line, then its raw
// bytes), keeps every T-th request from its own index on (T threads; the
// file holds at least T requests), and
// sends them in turn, starting over at the end; it counts the answers by
// status, and done() prints the counts of every thread, one
// "wrk-status <code> <count>" line each.
const wrkScript = `-- written by scripts/bench (-wrk): cycles through prepared raw requests
counts = {}
local reqs, n, i = {}, 0, 0
local threads, nthreads = {}, 0

function setup(thread)
  thread:set("id", nthreads)
  nthreads = nthreads + 1
  table.insert(threads, thread)
end

function init(args)
  local f = assert(io.open(args[1], "rb"))
  local data = f:read("*a")
  f:close()
  local stride, k, pos = tonumber(args[2]), 0, 1
  while pos <= #data do
    local nl = string.find(data, "\n", pos, true)
    local len = tonumber(string.sub(data, pos, nl - 1))
    if k % stride == id % stride then
      reqs[#reqs + 1] = string.sub(data, nl + 1, nl + len)
    end
    k = k + 1
    pos = nl + len + 1
  end
  n = #reqs
end

function request()
  i = i + 1
  if i > n then i = 1 end
  return reqs[i]
end

function response(status, headers, body)
  counts[status] = (counts[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    for code, c in pairs(t:get("counts")) do
      total[code] = (total[code] or 0) + c
    end
  end
  for code, c in pairs(total) do
    io.write(string.format("wrk-status %d %d\n", code, c))
  end
end
`

// wrkRequestFile renders reqs as the script reads them, repeated until
// each of threads threads has one at least.
func wrkRequestFile(reqs [][]byte, threads int) []byte {
	var b bytes.Buffer
	for i := 0; i < max(len(reqs), threads); i++ {
		r := reqs[i%len(reqs)]
		fmt.Fprintf(&b, "%d\n", len(r))
		b.Write(r)
	}
	return b.Bytes()
}

// wrkLoad is one wrk run.
type wrkLoad struct {
	Name     string
	Addr     string // host:port
	Requests [][]byte
	Conns    int
	Duration time.Duration // whole seconds, at least one (wrk's unit)
	Dir      string        // where the script and the request file go
}

// wrkOutput is what wrk printed.
type wrkOutput struct {
	Requests int64
	Seconds  float64
	RPS      float64
	Latency  Latency
	// Status is what the script counted; SocketErrors wrk's own count of
	// connect, read, write errors and timeouts.
	Status       map[string]int64
	SocketErrors int64
}

// wrkThreads is how many threads a wrk run of conns connections uses:
// one per core, as wrk's own advice goes, and no more than connections.
func wrkThreads(conns int) int { return max(1, min(conns, runtime.NumCPU())) }

// wrkSeconds rounds d up to whole seconds, at least one.
func wrkSeconds(d time.Duration) int { return max(1, int(math.Ceil(d.Seconds()))) }

// wrkArgs returns wrk's command line for l, its script and request file.
// The timeout is the generator's (a minute past the run's end), not wrk's
// two seconds, so that a slow answer counts as one.
func wrkArgs(l wrkLoad, script, reqFile string) []string {
	t := wrkThreads(l.Conns)
	return []string{"-t", strconv.Itoa(t), "-c", strconv.Itoa(l.Conns), "-d", strconv.Itoa(wrkSeconds(l.Duration)) + "s",
		"--latency", "--timeout", "60s", "-s", script, "http://" + l.Addr + "/", "--", reqFile, strconv.Itoa(t)}
}

// runWrk runs wrk for l and returns what it printed and the CPU time it
// used (user + system, from the kernel's accounting of the process at its
// exit: the counters /proc/<pid>/stat shows while it runs, complete).
func runWrk(ctx context.Context, l wrkLoad) (wrkOutput, time.Duration, error) {
	if len(l.Requests) == 0 || l.Conns <= 0 {
		return wrkOutput{}, 0, fmt.Errorf("wrk %s: needs requests and connections", l.Name)
	}
	base := filepath.Join(l.Dir, "wrk-"+strings.NewReplacer(" ", "-", "@", "").Replace(l.Name))
	script, reqFile := base+".lua", base+".requests"
	if err := os.WriteFile(script, []byte(wrkScript), 0o644); err != nil {
		return wrkOutput{}, 0, err
	}
	if err := os.WriteFile(reqFile, wrkRequestFile(l.Requests, wrkThreads(l.Conns)), 0o644); err != nil {
		return wrkOutput{}, 0, err
	}
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(ctx, "wrk", wrkArgs(l, script, reqFile)...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var cpu time.Duration
	if ps := cmd.ProcessState; ps != nil {
		if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
			cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		}
	}
	if err != nil {
		return wrkOutput{}, cpu, fmt.Errorf("wrk %s: %w: %s%s", l.Name, err, out.String(), errb.String())
	}
	o, err := parseWrk(out.String())
	if err != nil {
		return o, cpu, fmt.Errorf("wrk %s: %w\n%s", l.Name, err, out.String())
	}
	return o, cpu, nil
}

var (
	wrkTotalRe  = regexp.MustCompile(`(?m)^\s*(\d+) requests in ([0-9.]+\w+),`)
	wrkRPSRe    = regexp.MustCompile(`(?m)^Requests/sec:\s*([0-9.]+)`)
	wrkPctRe    = regexp.MustCompile(`(?m)^\s*(50|75|90|99)(?:\.0+)?%\s+([0-9.]+\w+)\s*$`)
	wrkStatsRe  = regexp.MustCompile(`(?m)^\s*Latency\s+([0-9.]+\w+)\s+\S+\s+([0-9.]+\w+)`)
	wrkSockRe   = regexp.MustCompile(`(?m)^\s*Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
	wrkStatusRe = regexp.MustCompile(`(?m)^wrk-status (\d+) (\d+)\s*$`)
)

// parseWrk reads wrk's report (with --latency) and the script's status
// lines.
func parseWrk(s string) (wrkOutput, error) {
	var o wrkOutput
	m := wrkTotalRe.FindStringSubmatch(s)
	if m == nil {
		return o, fmt.Errorf("no \"N requests in T\" line in wrk's output")
	}
	o.Requests, _ = strconv.ParseInt(m[1], 10, 64)
	d, err := parseWrkTime(m[2])
	if err != nil {
		return o, err
	}
	o.Seconds = d.Seconds()
	if m := wrkRPSRe.FindStringSubmatch(s); m != nil {
		o.RPS, _ = strconv.ParseFloat(m[1], 64)
	} else {
		return o, fmt.Errorf("no Requests/sec line in wrk's output")
	}
	pcts := wrkPctRe.FindAllStringSubmatch(s, -1)
	if len(pcts) == 0 {
		return o, fmt.Errorf("no latency distribution in wrk's output (--latency)")
	}
	o.Latency.Count = o.Requests
	for _, p := range pcts {
		d, err := parseWrkTime(p[2])
		if err != nil {
			return o, err
		}
		v := ms(d)
		switch p[1] {
		case "50":
			o.Latency.P50 = v
		case "90":
			o.Latency.P90 = v
		case "99":
			o.Latency.P99 = v
		}
	}
	if m := wrkStatsRe.FindStringSubmatch(s); m != nil { // the thread stats: average, stdev, max
		if d, err := parseWrkTime(m[1]); err == nil {
			o.Latency.Mean = ms(d)
		}
		if d, err := parseWrkTime(m[2]); err == nil {
			o.Latency.Max = ms(d)
		}
	}
	if m := wrkSockRe.FindStringSubmatch(s); m != nil {
		for _, f := range m[1:] {
			n, _ := strconv.ParseInt(f, 10, 64)
			o.SocketErrors += n
		}
	}
	o.Status = map[string]int64{}
	for _, m := range wrkStatusRe.FindAllStringSubmatch(s, -1) {
		n, _ := strconv.ParseInt(m[2], 10, 64)
		o.Status[m[1]] += n
	}
	if o.SocketErrors > 0 {
		o.Status["error"] = o.SocketErrors
	}
	return o, nil
}

// parseWrkTime reads a time as wrk prints it: a number and one of us, ms,
// s, m, h.
func parseWrkTime(s string) (time.Duration, error) {
	i := strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if i <= 0 {
		return 0, fmt.Errorf("wrk time %q: no unit", s)
	}
	v, err := strconv.ParseFloat(s[:i], 64)
	if err != nil {
		return 0, fmt.Errorf("wrk time %q: %w", s, err)
	}
	unit := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second, "m": time.Minute, "h": time.Hour}[s[i:]]
	if unit == 0 {
		return 0, fmt.Errorf("wrk time %q: unknown unit", s)
	}
	return time.Duration(v * float64(unit)), nil
}
