package main

import (
	"bufio"
	"bytes"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Linux reports process CPU in clock ticks of USER_HZ, 100 on every
// architecture Go supports.
const clockTick = 10 * time.Millisecond

// selfCPU returns the CPU time (user + system) this process has used:
// the generator's own cost, printed beside each figure.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procCPU returns the CPU time (user + system) process pid has used.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces:
	// count fields from the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64) // field 14, utime
	st, err2 := strconv.ParseInt(f[12], 10, 64) // field 15, stime
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	return time.Duration(ut+st) * clockTick, nil
}

// procMemory returns a process's resident set size now and its peak
// (VmRSS and VmHWM of /proc/<pid>/status), in bytes.
func procMemory(pid int) (rss, peak int64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || name != "VmRSS" && name != "VmHWM" {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("/proc/%d/status %s: %w", pid, name, err)
		}
		if name == "VmRSS" {
			rss = kb << 10
		} else {
			peak = kb << 10
		}
	}
	return rss, peak, sc.Err()
}

// machineCPU returns the CPU time all cores have spent busy (user, nice,
// system, irq, softirq, steal) since boot, and the part of it in interrupts
// (irq, softirq), from /proc/stat.
func machineCPU() (busy, irq time.Duration) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 9 || f[0] != "cpu" {
		return 0, 0
	}
	var total, inIRQ int64
	for i, v := range f[1:9] {
		n, _ := strconv.ParseInt(v, 10, 64)
		switch i {
		case 3, 4: // idle, iowait
		case 5, 6: // irq, softirq
			total += n
			inIRQ += n
		default:
			total += n
		}
	}
	return time.Duration(total) * clockTick, time.Duration(inIRQ) * clockTick
}

// tcpActiveOpens returns how many TCP connections this machine has opened
// since boot (ActiveOpens of /proc/net/snmp): over a run, it tells
// connection reuse from connection churn.
func tcpActiveOpens() int64 {
	b, err := os.ReadFile("/proc/net/snmp")
	if err != nil {
		return 0
	}
	var names []string
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) == 0 || f[0] != "Tcp:" {
			continue
		}
		if names == nil {
			names = f
			continue
		}
		for i, n := range names {
			if n == "ActiveOpens" && i < len(f) {
				v, _ := strconv.ParseInt(f[i], 10, 64)
				return v
			}
		}
	}
	return 0
}

// loadAvg returns the one-minute load average.
func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// findPID returns the pid of a live process matching match, or 0.
func findPID(match func(pid int) bool) int {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if match(pid) {
			return pid
		}
	}
	return 0
}

// pidOfServer returns the pid of the process named comm whose command line
// contains contains (the Redis server on :6379 shows its address there).
func pidOfServer(comm, contains string) int {
	return findPID(func(pid int) bool {
		c, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		if err != nil || strings.TrimSpace(string(c)) != comm {
			return false
		}
		cl, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		return bytes.Contains(cl, []byte(contains))
	})
}

// procSet names the processes whose CPU each measured run reports.
type procSet map[string]int

// cpuSnapshot is the CPU time of each process, and of the machine, at
// one instant.
type cpuSnapshot struct {
	at       time.Time
	procs    map[string]time.Duration
	self     time.Duration
	machine  time.Duration
	irq      time.Duration
	tcpOpens int64
}

func (ps procSet) snapshot() cpuSnapshot {
	s := cpuSnapshot{at: time.Now(), procs: map[string]time.Duration{}, self: selfCPU(), tcpOpens: tcpActiveOpens()}
	s.machine, s.irq = machineCPU()
	for name, pid := range ps {
		if pid <= 0 {
			continue
		}
		if d, err := procCPU(pid); err == nil {
			s.procs[name] = d
		}
	}
	return s
}

// ProcCPU is one process's CPU over a measured run.
type ProcCPU struct {
	Name string `json:"name"`
	// Cores is the CPU time divided by the run's wall time.
	Cores float64 `json:"cores"`
	// MicrosPerRequest is the CPU time per request of the run.
	MicrosPerRequest float64 `json:"us_per_request"`
}

// cpuSince returns the CPU each process, the generator, the interrupts, the
// rest of the machine (other engineers' work, kernel threads) and the whole
// machine used since s, for a run of requests, and the TCP connections
// opened meanwhile.
func (ps procSet) cpuSince(s cpuSnapshot, requests int64) ([]ProcCPU, int64) {
	now := ps.snapshot()
	wall := now.at.Sub(s.at).Seconds()
	per := func(name string, d time.Duration) ProcCPU {
		p := ProcCPU{Name: name, Cores: d.Seconds() / wall}
		if requests > 0 {
			p.MicrosPerRequest = float64(d.Microseconds()) / float64(requests)
		}
		return p
	}
	out := []ProcCPU{per("generator", now.self-s.self)}
	known := now.self - s.self
	for _, name := range slices.Sorted(maps.Keys(now.procs)) {
		if before, ok := s.procs[name]; ok {
			d := now.procs[name] - before
			known += d
			out = append(out, per(name, d))
		}
	}
	busy, irq := now.machine-s.machine, now.irq-s.irq
	out = append(out, per("irq", irq), per("others", max(0, busy-known-irq)), per("machine", busy))
	return out, now.tcpOpens - s.tcpOpens
}
