package proc

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// tailOnError is how much of its log a readiness error shows.
const tailOnError = 2000

// StartReady starts the process and waits up to timeout until it is ready
// (WaitReady).
func (p *Process) StartReady(ctx context.Context, timeout time.Duration) error {
	if err := p.Start(); err != nil {
		return err
	}
	return p.WaitReady(ctx, timeout)
}

// WaitReady waits up to timeout until the running process's Ready probe
// answers nil. It fails as soon as the process ends, and when timeout
// passes or ctx ends first; the error shows the end of its log.
func (p *Process) WaitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	done := p.ended()
	if done == nil {
		return fmt.Errorf("%s was never started", p.Name)
	}
	var last error
	for {
		select {
		case <-done:
			return fmt.Errorf("%s ended before it was ready (%s)%s", p.Name, p.exitStatus(), p.tailNote())
		default:
		}
		if last = p.probe(ctx); last == nil {
			select {
			case <-done: // what answered is not this process
			default:
				return nil
			}
			continue
		}
		select {
		case <-done:
		case <-ctx.Done():
			return fmt.Errorf("%s not ready after %s: %v%s", p.Name, timeout, last, p.tailNote())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// probe asks Ready once, for at most probeTimeout.
func (p *Process) probe(ctx context.Context) error {
	if p.Ready == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	return p.Ready(ctx)
}

// EnsureReady makes the process run and be ready within timeout, as a
// supervisor would: it starts the process unless it runs, starts it again
// whenever it ends before it is ready (a service may refuse to start while
// a store it needs is down), and kills and starts it again when it stays
// unready for stall (a server may run on without a listener it could not
// bind).
func (p *Process) EnsureReady(ctx context.Context, stall, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		if !p.Alive() {
			if err := p.Start(); err != nil {
				return err
			}
		}
		err := p.WaitReady(ctx, stall)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%s not ready after %s: %w", p.Name, timeout, err)
		}
		if err := p.Kill(); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready after %s: %w", p.Name, timeout, err)
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// tailNote is the end of the process's output in its last run, as a
// message's last lines ("" when it printed nothing).
func (p *Process) tailNote() string {
	t := p.Tail(tailOnError)
	if i := strings.LastIndex(t, p.startLine()); i >= 0 {
		t = t[i:]
	}
	if t == "" {
		return ""
	}
	where := "its output"
	if p.Log != "" {
		where = p.Log
	}
	return fmt.Sprintf("\n--- last lines of %s ---\n%s", where, t)
}
