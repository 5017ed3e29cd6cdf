// Package testproc runs the project's binaries as real processes for tests:
// start and wait for readiness, SIGKILL, SIGTERM, and watch their output.
package testproc

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Build compiles the packages (paths relative to the module root) with the
// faultinject tag into dir, once for a whole test run.
func Build(dir string, pkgs ...string) error { return BuildTags(dir, "", pkgs...) }

// BuildTags is Build with extra build tags (space-separated), for example
// the chaos suite's broken builds ("sabotage_nobarrier").
func BuildTags(dir, tags string, pkgs ...string) error {
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Dir(filepath.Dir(filepath.Dir(file)))
	start := time.Now()
	args := append([]string{"build", "-tags", strings.TrimSpace("faultinject " + tags), "-o", dir + "/"}, pkgs...)
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build %v: %w", pkgs, err)
	}
	fmt.Printf("built %v (tags faultinject %s) in %s\n", pkgs, tags, time.Since(start).Round(time.Millisecond))
	return nil
}

// Proc is one process: a binary, its arguments and extra environment.
type Proc struct {
	Name string
	Bin  string
	Args []string
	Env  []string
	// Dir is the working directory ("" inherits the test's).
	Dir string
	// Log is the file that collects the process's stdout and stderr.
	Log string

	mu    sync.Mutex // mu guards cmd, lines and done
	cmd   *exec.Cmd
	lines []string
	done  chan struct{}
}

// Start runs p and waits until readyURL answers 200 ("" waits for nothing).
func (p *Proc) Start(t testing.TB, readyURL string) {
	t.Helper()
	p.mu.Lock()
	p.cmd = exec.Command(p.Bin, p.Args...)
	p.cmd.Env = append(os.Environ(), p.Env...)
	p.cmd.Dir = p.Dir
	logf, err := os.OpenFile(p.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		p.mu.Unlock()
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	p.cmd.Stdout = io.MultiWriter(logf, pw)
	p.cmd.Stderr = io.MultiWriter(logf, pw)
	if err := p.cmd.Start(); err != nil {
		p.mu.Unlock()
		t.Fatalf("start %s: %v", p.Name, err)
	}
	p.done = make(chan struct{})
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			p.mu.Unlock()
		}
	}()
	go func() {
		cmd.Wait()
		pw.Close()
		logf.Close()
		close(done)
	}()
	if readyURL == "" {
		return
	}
	hc := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := hc.Get(readyURL); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-done:
			t.Fatalf("%s exited at start:\n%s", p.Name, p.Tail(3000))
		case <-time.After(100 * time.Millisecond):
		}
	}
	t.Fatalf("%s not ready at %s after 60s:\n%s", p.Name, readyURL, p.Tail(3000))
}

// Kill sends SIGKILL and waits for the process to be gone.
func (p *Proc) Kill() { p.Signal(syscall.SIGKILL) }

// Stop sends SIGTERM and waits for the process to exit.
func (p *Proc) Stop() { p.Signal(syscall.SIGTERM) }

// Signal sends sig and waits for the process to exit.
func (p *Proc) Signal(sig syscall.Signal) {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return
	}
	cmd.Process.Signal(sig)
	<-done
}

// Pause stops the process with SIGSTOP, as a hung process is; Resume
// continues it. Neither waits.
func (p *Proc) Pause() { p.send(syscall.SIGSTOP) }

// Resume continues a paused process (SIGCONT).
func (p *Proc) Resume() { p.send(syscall.SIGCONT) }

func (p *Proc) send(sig syscall.Signal) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil && p.cmd.Process != nil {
		p.cmd.Process.Signal(sig)
	}
}

// ExitCode returns the exit code of the last run (-1 if killed by a signal).
func (p *Proc) ExitCode() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.ProcessState == nil {
		return -1
	}
	return p.cmd.ProcessState.ExitCode()
}

// WaitLine waits until the process printed a line containing substr and
// returns the line.
func (p *Proc) WaitLine(t testing.TB, substr string, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		p.mu.Lock()
		for _, l := range p.lines {
			if strings.Contains(l, substr) {
				p.mu.Unlock()
				return l
			}
		}
		p.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s printed no line with %q in %s", p.Name, substr, timeout)
	return ""
}

// Lines returns the lines the process printed, in every run so far, that
// contain substr.
func (p *Proc) Lines(substr string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, l := range p.lines {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return out
}

// Tail returns the last n bytes of the process's log.
func (p *Proc) Tail(n int) string {
	b, _ := os.ReadFile(p.Log)
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// FreePort returns a TCP port free on every interface right now, below the
// kernel's ephemeral range (32768-60999 here), where outgoing connections
// and sockets in TIME_WAIT cannot take it between this call and the
// process's bind. dtm binds ":port" on all interfaces, hence the check there.
// A port is handed out once per test process, and each process draws from
// its own slice of 20000-32000 (by pid), so that packages tested at the same
// time do not pick each other's ports.
func FreePort(t testing.TB) int {
	t.Helper()
	base := 20000 + (os.Getpid()%6)*2000
	portsMu.Lock()
	defer portsMu.Unlock()
	for i := 0; i < 2000; i++ {
		port := base + rand.IntN(2000)
		if portsGiven[port] {
			continue
		}
		ln, err := net.Listen("tcp", ":"+strconv.Itoa(port))
		if err != nil {
			continue
		}
		ln.Close()
		portsGiven[port] = true
		return port
	}
	t.Fatalf("no free port in %d-%d", base, base+2000)
	return 0
}

var (
	portsMu    sync.Mutex       // portsMu guards portsGiven
	portsGiven = map[int]bool{} // ports FreePort returned in this process
)
