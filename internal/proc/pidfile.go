package proc

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// ReadPidFile returns the pid the file at path holds.
func ReadPidFile(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	s := strings.TrimSpace(string(b))
	pid, err := strconv.Atoi(s)
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("%s holds %q, not a pid", path, s)
	}
	return pid, nil
}

func writePidFile(path string, pid int) error {
	return os.WriteFile(path, []byte(strconv.Itoa(pid)+"\n"), 0o644)
}

// Adopt finds the process running from an earlier start, by PidFile, so
// that this Process can wait for it and signal it (Alive, Pid, Stop,
// Kill, WaitReady...). The pid file must name a live process that runs
// Path (its command line starts with it) and, when Dir is set, works in
// Dir or below it: otherwise the pid is someone else's now, and Adopt
// removes the stale file and says why. Without a pid file, its error
// wraps fs.ErrNotExist. A process that runs already here is adopted as
// it is.
func (p *Process) Adopt() (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.runningLocked() {
		return p.pid, nil
	}
	if p.PidFile == "" {
		return 0, fmt.Errorf("%s has no pid file: %w", p.Name, fs.ErrNotExist)
	}
	pid, err := ReadPidFile(p.PidFile)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, err
	}
	if err == nil {
		err = p.owns(pid)
	}
	if err != nil {
		os.Remove(p.PidFile)
		return 0, fmt.Errorf("%w; removed the stale pid file", err)
	}
	p.cmd, p.pid, p.state, p.done = nil, pid, nil, make(chan struct{})
	go p.watchAdopted(pid, p.done)
	return pid, nil
}

// owns checks that pid is a live process of p's (Path, Dir).
func (p *Process) owns(pid int) error {
	if !alive(pid) {
		return fmt.Errorf("pid %d is gone", pid)
	}
	if p.Path != "" {
		cl := cmdline(pid)
		if cl != p.Path && !strings.HasPrefix(cl, p.Path+" ") {
			return fmt.Errorf("pid %d is not %s but %q", pid, p.Path, cl)
		}
	}
	if p.Dir != "" {
		// A server may change its directory (redis-server --dir), or
		// rewrite its command line: below Dir is still the process's.
		cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid))
		if err != nil || !within(cwd, p.Dir) {
			return fmt.Errorf("pid %d does not work in %s (%s)", pid, p.Dir, cwd)
		}
	}
	return nil
}

func within(path, dir string) bool {
	dir = filepath.Clean(dir)
	return path == dir || strings.HasPrefix(path, dir+string(filepath.Separator))
}

// watchAdopted ends an adopted run once its process is gone: not the
// starter's child, it is polled.
func (p *Process) watchAdopted(pid int, done chan struct{}) {
	for alive(pid) {
		time.Sleep(50 * time.Millisecond)
	}
	p.mu.Lock()
	p.removePidFile(pid)
	p.mu.Unlock()
	close(done)
}

// StopAll stops every process with a pid file (NAME.pid) in dir that
// works in workDir or below it, as Stop does with grace, and removes every
// pid file there, a stale one too; stopped is told each process it
// stopped.
func StopAll(dir, workDir string, grace time.Duration, stopped func(name string, pid int)) error {
	files, err := filepath.Glob(filepath.Join(dir, "*.pid"))
	if err != nil {
		return err
	}
	var errs []error
	for _, f := range files {
		p := &Process{Name: strings.TrimSuffix(filepath.Base(f), ".pid"), Dir: workDir, PidFile: f}
		pid, err := p.Adopt()
		if err != nil {
			continue // gone, or not ours: its file is removed
		}
		if err := p.Stop(grace); err != nil && !errors.Is(err, ErrKilled) {
			errs = append(errs, err)
			continue
		}
		if stopped != nil {
			stopped(p.Name, pid)
		}
		if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
