package proc

import (
	"fmt"
	"os"
	"os/exec"
	"sync"
	"time"
)

// A Process is one program run as a process of its own, any number of
// times: started, ended (by itself, or by a signal), started again. Its
// fields say how to start it; each start reads them, so change them only
// while no Start runs.
type Process struct {
	// Name names the process in messages.
	Name string
	// Path is the program: a file, or a name looked up on PATH.
	Path string
	// Args are the program's arguments.
	Args []string
	// Env is added to the environment of the program that starts it.
	Env []string
	// Dir is the working directory ("": the starter's).
	Dir string
	// Log is the file the process's output is appended to ("": none).
	// Each start first appends a line "=== start NAME at TIME ===".
	Log string
	// PidFile, when set, holds the process's pid while it runs: written at
	// each start, removed once the process is seen to end. Adopt reads it.
	PidFile string
	// Detach starts the process in a session of its own, its output
	// straight into Log (nowhere without one), so that it outlives the
	// program that started it. Otherwise it is killed when that program
	// ends (on Linux), and its output is also kept in memory for Lines,
	// WaitLine and Expect.
	Detach bool
	// Ready tells when the process is ready to serve (StartReady,
	// WaitReady); nil: as soon as it runs.
	Ready Probe

	out output // what it printed, over every run

	mu     sync.Mutex       // mu guards the fields below
	cmd    *exec.Cmd        // the run started here; nil when adopted
	pid    int              // the current or last run's pid
	done   chan struct{}    // closed when the current run is over; nil before the first
	state  *os.ProcessState // how the last run started here ended
	starts int
}

// Start starts the process and returns without waiting for it to be
// ready; it fails when the process runs already.
func (p *Process) Start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.runningLocked() {
		return fmt.Errorf("%s is already running (pid %d)", p.Name, p.pid)
	}
	logf, err := p.openLog()
	if err != nil {
		return err
	}
	cmd, outR, err := p.run(logf)
	if err != nil {
		closeFile(logf)
		return fmt.Errorf("start %s: %w", p.Name, err)
	}
	drained := make(chan struct{})
	if outR != nil {
		go p.out.copy(outR, logf, drained)
	} else {
		closeFile(logf) // the child has its own
		close(drained)
	}
	p.cmd, p.pid, p.state, p.done = cmd, cmd.Process.Pid, nil, make(chan struct{})
	p.starts++
	go p.wait(cmd, p.done, drained)
	if p.PidFile != "" {
		if err := writePidFile(p.PidFile, p.pid); err != nil {
			cmd.Process.Kill()
			return fmt.Errorf("%s: %w", p.Name, err)
		}
	}
	return nil
}

// run starts the program: detached, its output straight into logf;
// otherwise its output into a pipe, whose end to read it returns.
func (p *Process) run(logf *os.File) (*exec.Cmd, *os.File, error) {
	cmd := exec.Command(p.Path, p.Args...)
	cmd.Env = append(os.Environ(), p.Env...)
	cmd.Dir = p.Dir
	if p.Detach {
		cmd.SysProcAttr = detached()
		if logf != nil {
			cmd.Stdout, cmd.Stderr = logf, logf
		}
		return cmd, nil, cmd.Start()
	}
	cmd.SysProcAttr = attached()
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, nil, err
	}
	cmd.Stdout, cmd.Stderr = outW, outW
	err = cmd.Start()
	outW.Close() // the child has its own
	if err != nil {
		outR.Close()
		return nil, nil, err
	}
	return cmd, outR, nil
}

// openLog opens Log for appending and writes the start line (nil when the
// process has no log).
func (p *Process) openLog() (*os.File, error) {
	if p.Log == "" {
		return nil, nil
	}
	f, err := os.OpenFile(p.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.Name, err)
	}
	fmt.Fprintf(f, "%s%s ===\n", p.startLine(), time.Now().Format(time.RFC3339Nano))
	return f, nil
}

// startLine begins the line each start writes into Log.
func (p *Process) startLine() string { return "=== start " + p.Name + " at " }

// drainBound is how long the end of a run waits for the last of its
// output, which a child of the process (a fork of redis-server, say) may
// hold open after it ended.
const drainBound = time.Second

// wait waits for the run cmd to end, and for its output, then ends it.
func (p *Process) wait(cmd *exec.Cmd, done chan struct{}, drained <-chan struct{}) {
	cmd.Wait()
	select {
	case <-drained:
	case <-time.After(drainBound):
	}
	p.mu.Lock()
	p.state = cmd.ProcessState
	p.removePidFile(cmd.Process.Pid)
	p.mu.Unlock()
	close(done)
}

// removePidFile removes PidFile if it still names pid.
func (p *Process) removePidFile(pid int) {
	if p.PidFile == "" {
		return
	}
	if got, err := ReadPidFile(p.PidFile); err == nil && got == pid {
		os.Remove(p.PidFile)
	}
}

func closeFile(f *os.File) {
	if f != nil {
		f.Close()
	}
}

// runningLocked reports whether the current run goes on.
func (p *Process) runningLocked() bool {
	if p.done == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Alive reports whether the process runs (a paused one does).
func (p *Process) Alive() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.runningLocked()
}

// Pid returns the process's pid while it runs, 0 otherwise.
func (p *Process) Pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.runningLocked() {
		return 0
	}
	return p.pid
}

// Starts counts the process's starts here: 1 after the first.
func (p *Process) Starts() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.starts
}

// ExitCode returns the exit code of the last run started here, -1 while
// it runs, when a signal ended it, or when it never ran here.
func (p *Process) ExitCode() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state == nil || p.runningLocked() {
		return -1
	}
	return p.state.ExitCode()
}

// exitStatus describes how the last run ended, for messages.
func (p *Process) exitStatus() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state == nil {
		return "ended"
	}
	return p.state.String()
}

// ended returns the channel closed when the current run is over (nil
// before any).
func (p *Process) ended() chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.done
}
