package proc

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"
)

// ErrKilled is wrapped by Stop's error when the process had to be killed.
var ErrKilled = errors.New("killed with SIGKILL")

// errNotRunning is Signal's error for a process that does not run.
var errNotRunning = errors.New("not running")

// killBound is how long Kill waits for the process to be gone after
// SIGKILL.
const killBound = 5 * time.Second

// Signal sends sig to the process without waiting; it fails when the
// process does not run.
func (p *Process) Signal(sig syscall.Signal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.runningLocked() {
		return fmt.Errorf("%s: %w", p.Name, errNotRunning)
	}
	var err error
	if p.cmd != nil {
		err = p.cmd.Process.Signal(sig)
	} else {
		err = syscall.Kill(p.pid, sig)
	}
	if err != nil {
		return fmt.Errorf("%s: %v: %w", p.Name, sig, err)
	}
	return nil
}

// Pause stops the process with SIGSTOP, as a hung process is; Resume
// continues it (SIGCONT). Neither waits.
func (p *Process) Pause() error { return p.Signal(syscall.SIGSTOP) }

// Resume continues a paused process.
func (p *Process) Resume() error { return p.Signal(syscall.SIGCONT) }

// Kill sends SIGKILL and returns once the process is gone (at once when
// it does not run).
func (p *Process) Kill() error {
	if err := p.Signal(syscall.SIGKILL); err != nil {
		if errors.Is(err, errNotRunning) {
			return nil
		}
		return err
	}
	return p.waitFor(killBound)
}

// Stop ends the process gently: SIGTERM, then SIGKILL when it still runs
// after grace. It returns once the process is gone; its error wraps
// ErrKilled when SIGKILL was needed.
func (p *Process) Stop(grace time.Duration) error {
	if err := p.Signal(syscall.SIGTERM); err != nil {
		if errors.Is(err, errNotRunning) {
			return nil
		}
		return err
	}
	if p.waitFor(grace) == nil {
		return nil
	}
	if err := p.Kill(); err != nil {
		return err
	}
	return fmt.Errorf("%s still ran %s after SIGTERM: %w", p.Name, grace, ErrKilled)
}

// waitFor waits up to d for the current run to end.
func (p *Process) waitFor(d time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if err := p.Wait(ctx); err != nil {
		return fmt.Errorf("%s (pid %d) still runs after %s", p.Name, p.Pid(), d)
	}
	return nil
}

// Wait returns once the current run is over (at once when the process
// does not run), or with ctx's error when ctx ends first.
func (p *Process) Wait(ctx context.Context) error {
	done := p.ended()
	if done == nil {
		return nil
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
