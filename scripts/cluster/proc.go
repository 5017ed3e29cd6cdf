package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// A process of the layout runs detached from the command that started it
// (its own session), its output in logs/<name>.log and its pid in
// pids/<name>.pid under the run directory, so that cluster-down finds it
// and a second cluster-up leaves it alone.

// process is one program of the layout.
type process struct {
	name  string
	bin   string
	args  []string
	env   []string
	ports []int  // the ports it listens on, free before it starts
	ready string // a URL that answers 200 once it is ready ("" : its first port accepts)
}

// running returns the pid of name when its pid file names a live process
// working in this run directory.
func running(dir, name string) (int, bool) {
	b, err := os.ReadFile(filepath.Join(dir, "pids", name+".pid"))
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || syscall.Kill(pid, 0) != nil {
		return 0, false
	}
	// Redis rewrites its command line; every process of the layout works
	// in the run directory or below it.
	cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid))
	if err != nil || cwd != dir && !strings.HasPrefix(cwd, dir+"/") {
		return 0, false // a recycled pid
	}
	return pid, true
}

// start starts p unless it runs already, then waits until it is ready.
func start(ctx context.Context, dir string, p process) error {
	if pid, ok := running(dir, p.name); ok {
		fmt.Printf("cluster-up: %s is already running (pid %d)\n", p.name, pid)
		return nil
	}
	for _, port := range p.ports {
		if c, err := net.DialTimeout("tcp", addr(port), 300*time.Millisecond); err == nil {
			c.Close()
			return fmt.Errorf("cannot start %s: %s is in use by another process", p.name, addr(port))
		}
	}
	logf, err := os.OpenFile(filepath.Join(dir, "logs", p.name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	fmt.Fprintf(logf, "=== cluster-up: start %s at %s ===\n", p.name, time.Now().Format(time.RFC3339))
	cmd := exec.Command(p.bin, p.args...)
	cmd.Env = append(os.Environ(), p.env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	pid := cmd.Process.Pid
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	if err := os.WriteFile(filepath.Join(dir, "pids", p.name+".pid"), []byte(strconv.Itoa(pid)+"\n"), 0o644); err != nil {
		return err
	}
	deadline := time.Now().Add(60 * time.Second)
	for !isReady(ctx, p) {
		select {
		case err := <-exited:
			return fmt.Errorf("%s exited at start (%v): see %s", p.name, err, filepath.Join(dir, "logs", p.name+".log"))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after 60 s: see %s", p.name, filepath.Join(dir, "logs", p.name+".log"))
		}
	}
	fmt.Printf("cluster-up: %s ready (pid %d)\n", p.name, pid)
	return nil
}

func isReady(ctx context.Context, p process) bool {
	if p.ready == "" {
		c, err := net.DialTimeout("tcp", addr(p.ports[0]), 300*time.Millisecond)
		if err == nil {
			c.Close()
		}
		return err == nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.ready, nil)
	if err != nil {
		return false
	}
	resp, err := (&http.Client{Timeout: time.Second}).Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// stopAll stops every process with a pid file in dir: SIGTERM, then
// SIGKILL after 10 s.
func stopAll(dir string) error {
	files, err := filepath.Glob(filepath.Join(dir, "pids", "*.pid"))
	if err != nil {
		return err
	}
	var errs []error
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".pid")
		pid, ok := running(dir, name)
		if ok {
			syscall.Kill(pid, syscall.SIGTERM)
			deadline := time.Now().Add(10 * time.Second)
			for syscall.Kill(pid, 0) == nil && time.Now().Before(deadline) {
				time.Sleep(50 * time.Millisecond)
			}
			if syscall.Kill(pid, 0) == nil {
				syscall.Kill(pid, syscall.SIGKILL)
			}
			fmt.Printf("cluster-down: stopped %s (pid %d)\n", name, pid)
		}
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
