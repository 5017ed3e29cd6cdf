package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/flashsale/flashsale/internal/proc"
)

// A process of the layout runs detached from the command that started it
// (its own session), in the run directory, its output in logs/<name>.log
// and its pid in pids/<name>.pid, so that cluster-down finds it and a
// second cluster-up leaves it alone.

// process is one program of the layout.
type process struct {
	name  string
	bin   string
	args  []string
	env   []string
	ports []int      // the ports it listens on, free before it starts
	ready proc.Probe // tells it is ready (nil: its first port accepts)
}

// in is p as a process working in the run directory dir.
func (p process) in(dir string) *proc.Process {
	ready := p.ready
	if ready == nil {
		ready = proc.TCP(addr(p.ports[0]))
	}
	return &proc.Process{Name: p.name, Path: p.bin, Args: p.args, Env: p.env, Dir: dir, Detach: true, Ready: ready,
		Log: filepath.Join(dir, "logs", p.name+".log"), PidFile: pidFile(dir, p.name)}
}

func pidFile(dir, name string) string { return filepath.Join(dir, "pids", name+".pid") }

// running returns the pid of name when its pid file names a live process
// working in the run directory dir (or below it: a Redis node works in
// its own directory).
func running(dir, name string) (int, bool) {
	pid, err := (&proc.Process{Name: name, Dir: dir, PidFile: pidFile(dir, name)}).Adopt()
	return pid, err == nil
}

// start starts p unless it runs already, then waits until it is ready.
func start(ctx context.Context, dir string, p process) error {
	pr := p.in(dir)
	if pid, err := pr.Adopt(); err == nil {
		fmt.Printf("cluster-up: %s is already running (pid %d)\n", p.name, pid)
		return nil
	}
	for _, port := range p.ports {
		if inUse(ctx, addr(port)) {
			return fmt.Errorf("cannot start %s: %s is in use by another process", p.name, addr(port))
		}
	}
	if err := pr.StartReady(ctx, 60*time.Second); err != nil {
		return err
	}
	fmt.Printf("cluster-up: %s ready (pid %d)\n", p.name, pr.Pid())
	return nil
}

// inUse reports whether something accepts connections at addr.
func inUse(ctx context.Context, addr string) bool {
	ctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	return proc.TCP(addr)(ctx) == nil
}

// stopAll stops every process with a pid file in dir: SIGTERM, then
// SIGKILL after 10 s.
func stopAll(dir string) error {
	return proc.StopAll(filepath.Join(dir, "pids"), dir, 10*time.Second, func(name string, pid int) {
		fmt.Printf("cluster-down: stopped %s (pid %d)\n", name, pid)
	})
}
