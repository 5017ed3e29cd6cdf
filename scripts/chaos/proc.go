package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is one child process of the run: started, SIGKILLed, SIGSTOPped and
// restarted by its pid only, with its output appended to one log file across
// restarts and scanned for lines the run waits for (fault points).
type proc struct {
	name  string
	bin   string
	args  []string
	env   []string
	log   string
	ready func(ctx context.Context) error

	mu      sync.Mutex // mu guards the fields below
	cmd     *exec.Cmd
	done    chan struct{}
	stopped bool
	waiters map[string]chan string
	starts  int
}

// start runs the process without waiting for readiness.
func (p *proc) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil && !isDone(p.done) {
		return fmt.Errorf("%s is already running (pid %d)", p.name, p.cmd.Process.Pid)
	}
	logf, err := os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintf(logf, "=== chaos: start %s at %s ===\n", p.name, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(p.bin, p.args...)
	cmd.Env = append(os.Environ(), p.env...)
	// The child dies with the run, whatever ends the run.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	done := make(chan struct{})
	p.cmd, p.done, p.stopped = cmd, done, false
	p.starts++
	go p.scan(pr, logf)
	go func() {
		cmd.Wait()
		pw.Close()
		close(done)
	}()
	return nil
}

// scan copies the output to the log and hands lines to their waiters.
func (p *proc) scan(r io.Reader, logf *os.File) {
	defer logf.Close()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		fmt.Fprintln(logf, line)
		p.mu.Lock()
		for sub, ch := range p.waiters {
			if strings.Contains(line, sub) {
				select {
				case ch <- line:
				default:
				}
			}
		}
		p.mu.Unlock()
	}
	io.Copy(io.Discard, r)
}

// expect returns a channel that receives the next line containing sub, and
// a function that stops waiting.
func (p *proc) expect(sub string) (<-chan string, func()) {
	ch := make(chan string, 1)
	p.mu.Lock()
	if p.waiters == nil {
		p.waiters = map[string]chan string{}
	}
	p.waiters[sub] = ch
	p.mu.Unlock()
	return ch, func() {
		p.mu.Lock()
		delete(p.waiters, sub)
		p.mu.Unlock()
	}
}

// stallAfter is how long a started process may stay unready before it is
// killed and started again: the dtm server, for one, keeps running without
// its HTTP listener when it could not bind it.
const stallAfter = 20 * time.Second

// startReady starts the process and waits until it is ready, starting it
// again whenever it exits before that (as a supervisor would: a service
// may refuse to start while a store it needs is down) or stalls, until
// timeout.
func (p *proc) startReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		if !p.alive() {
			if err := p.start(); err != nil {
				return err
			}
		}
		p.mu.Lock()
		done := p.done
		p.mu.Unlock()
		stall := time.Now().Add(stallAfter)
		for {
			if time.Now().After(stall) {
				p.kill()
				break
			}
			rctx, rcancel := context.WithTimeout(ctx, 2*time.Second)
			last = p.ready(rctx)
			rcancel()
			if last == nil {
				return nil
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("%s not ready after %s: %v\n%s", p.name, timeout, last, p.tail(2000))
			case <-done:
			case <-time.After(100 * time.Millisecond):
				continue
			}
			break // exited before ready: start it again
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready after %s: %v\n%s", p.name, timeout, last, p.tail(2000))
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// setArgs replaces the arguments of the process's next starts.
func (p *proc) setArgs(args []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.args = args
}

// getArgs returns the arguments of the process's next start.
func (p *proc) getArgs() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.args...)
}

// startCount counts the process's starts: 1 after the first.
func (p *proc) startCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.starts
}

// alive reports whether the process runs (stopped counts as running).
func (p *proc) alive() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd != nil && !isDone(p.done)
}

// pid returns the process id, 0 when it does not run.
func (p *proc) pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || isDone(p.done) {
		return 0
	}
	return p.cmd.Process.Pid
}

// kill sends SIGKILL and waits until the process is gone.
func (p *proc) kill() {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil || isDone(done) {
		return
	}
	cmd.Process.Signal(syscall.SIGKILL)
	<-done
	p.mu.Lock()
	p.stopped = false
	p.mu.Unlock()
}

// stop sends SIGSTOP; cont sends SIGCONT.
func (p *proc) stop() error { return p.signal(syscall.SIGSTOP, true) }
func (p *proc) cont() error { return p.signal(syscall.SIGCONT, false) }

func (p *proc) signal(sig syscall.Signal, stopped bool) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || isDone(p.done) {
		return errors.New(p.name + " is not running")
	}
	if err := p.cmd.Process.Signal(sig); err != nil {
		return err
	}
	p.stopped = stopped
	return nil
}

// tail returns the last n bytes of the log.
func (p *proc) tail(n int) string {
	b, _ := os.ReadFile(p.log)
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

func isDone(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
