package proc

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// child is the test program (testdata/child), built by TestMain with Build.
var child string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "proc-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := Build(dir, "", "./internal/proc/testdata/child"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	child = filepath.Join(dir, "child")
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// sh is a process running script in sh, cleaned up when t ends.
func sh(t *testing.T, script string) *Process {
	t.Helper()
	return cleaned(t, &Process{Name: "sh", Path: "sh", Args: []string{"-c", script}})
}

func cleaned(t *testing.T, p *Process) *Process {
	t.Cleanup(func() { p.Kill() })
	return p
}

func freeAddr(t *testing.T) string {
	t.Helper()
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return "127.0.0.1:" + strconv.Itoa(port)
}

func TestStartReadyWaitsForTheProbe(t *testing.T) {
	addr := freeAddr(t)
	p := cleaned(t, &Process{Name: "child", Path: child, Args: []string{"serve", addr, "300ms"},
		Ready: HTTP("http://" + addr + "/ready")})
	start := time.Now()
	if err := p.StartReady(context.Background(), 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Fatalf("ready after %s, before the child listened", d)
	}
	if err := HTTP("http://" + addr + "/ready")(context.Background()); err != nil {
		t.Fatalf("ready, but: %v", err)
	}
	got, err := Listening(p.Pid())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(got, addr) {
		t.Fatalf("listening on %v, not on %s", got, addr)
	}
}

func TestStartReadyFailsWhenTheProcessEnds(t *testing.T) {
	p := sh(t, "echo something is wrong; exit 3")
	p.Ready = TCP(freeAddr(t))
	err := p.StartReady(context.Background(), 10*time.Second)
	if err == nil || !strings.Contains(err.Error(), "ended before it was ready") || !strings.Contains(err.Error(), "something is wrong") {
		t.Fatalf("error %v, want the end and the output", err)
	}
	if c := p.ExitCode(); c != 3 {
		t.Fatalf("exit code %d, want 3", c)
	}
	if p.Alive() || p.Pid() != 0 {
		t.Fatalf("alive %v, pid %d after the end", p.Alive(), p.Pid())
	}

	// With a log, the error shows the last run's lines only.
	dir := t.TempDir()
	p = sh(t, `if [ -e started ]; then echo second run; else touch started; echo first run; fi; exit 3`)
	p.Dir, p.Log, p.Ready = dir, filepath.Join(dir, "sh.log"), TCP(freeAddr(t))
	p.StartReady(context.Background(), 10*time.Second)
	err = p.StartReady(context.Background(), 10*time.Second)
	if err == nil || !strings.Contains(err.Error(), "second run") || strings.Contains(err.Error(), "first run") {
		t.Fatalf("error of the second run: %v", err)
	}
}

func TestStartReadyTimesOut(t *testing.T) {
	p := sh(t, "exec sleep 30")
	p.Ready = TCP(freeAddr(t))
	start := time.Now()
	err := p.StartReady(context.Background(), 500*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "not ready after 500ms") {
		t.Fatalf("error %v, want not ready", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("gave up after %s", d)
	}
	if !p.Alive() {
		t.Fatal("an unready process was ended")
	}
}

func TestKillAndStartAgain(t *testing.T) {
	dir := t.TempDir()
	p := cleaned(t, &Process{Name: "child", Path: child, Args: []string{"tick"}, Log: filepath.Join(dir, "child.log")})
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	if err := p.Start(); err == nil {
		t.Fatal("a second Start of a running process succeeded")
	}
	first := p.Pid()
	if _, err := p.WaitLine("tick 3", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := p.Kill(); err != nil {
		t.Fatal(err)
	}
	if p.Alive() || p.ExitCode() != -1 || alive(first) {
		t.Fatalf("after SIGKILL: alive %v, exit code %d, pid %d alive %v", p.Alive(), p.ExitCode(), first, alive(first))
	}
	p.Args = []string{"serve", freeAddr(t), "0s"}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	if _, err := p.WaitLine("serving", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if p.Pid() == first || p.Starts() != 2 {
		t.Fatalf("pid %d (first %d), %d starts", p.Pid(), first, p.Starts())
	}
	if len(p.Lines("tick")) == 0 {
		t.Fatal("the first run's lines are gone")
	}
	log, _ := os.ReadFile(p.Log)
	if n := strings.Count(string(log), "=== start child at "); n != 2 || !strings.Contains(string(log), "tick 3\n") || !strings.Contains(p.Tail(200), "serving") {
		t.Fatalf("log with %d start lines:\n%s", n, log)
	}
}

func TestPauseResume(t *testing.T) {
	p := cleaned(t, &Process{Name: "child", Path: child, Args: []string{"tick"}})
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	if _, err := p.WaitLine("tick 2", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := p.Pause(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // the line being printed
	paused := len(p.Lines("tick"))
	time.Sleep(300 * time.Millisecond)
	if n := len(p.Lines("tick")); n != paused {
		t.Fatalf("%d lines while paused", n-paused)
	}
	if !p.Alive() {
		t.Fatal("a paused process counts as ended")
	}
	if err := p.Resume(); err != nil {
		t.Fatal(err)
	}
	if _, err := p.WaitLine(fmt.Sprintf("tick %d", paused+3), 5*time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestStop(t *testing.T) {
	p := sh(t, `trap 'echo bye; exit 0' TERM; echo up; while :; do sleep 0.05; done`)
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	if _, err := p.WaitLine("up", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := p.Stop(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	if p.ExitCode() != 0 || len(p.Lines("bye")) != 1 {
		t.Fatalf("exit code %d, lines %q", p.ExitCode(), p.Lines(""))
	}

	stubborn := sh(t, `trap '' TERM; exec sleep 30`)
	if err := stubborn.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // the trap set
	if err := stubborn.Stop(300 * time.Millisecond); !errors.Is(err, ErrKilled) {
		t.Fatalf("Stop of a process that ignores SIGTERM: %v, want ErrKilled", err)
	}
	if stubborn.Alive() {
		t.Fatal("still alive")
	}
	if err := stubborn.Stop(time.Second); err != nil {
		t.Fatalf("Stop of an ended process: %v", err)
	}
}

func TestWaitLineAndExpect(t *testing.T) {
	p := sh(t, `echo one; sleep 0.3; echo two; sleep 0.3; echo one again; exec sleep 30`)
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	if l, err := p.WaitLine("two", 5*time.Second); err != nil || l != "two" {
		t.Fatalf("WaitLine: %q %v", l, err)
	}
	// Expect sees only the lines to come, WaitLine the ones before too.
	next, cancel := p.Expect("one")
	defer cancel()
	if l, err := p.WaitLine("one", time.Second); err != nil || l != "one" {
		t.Fatalf("WaitLine of an earlier line: %q %v", l, err)
	}
	select {
	case l := <-next:
		if l != "one again" {
			t.Fatalf("Expect got %q", l)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Expect got nothing")
	}
	if _, err := p.WaitLine("never", 200*time.Millisecond); err == nil || !strings.Contains(err.Error(), `no line with "never"`) {
		t.Fatalf("WaitLine of a line never printed: %v", err)
	}
}

func TestEnsureReadyStartsAgain(t *testing.T) {
	addr := freeAddr(t)
	p := cleaned(t, &Process{Name: "child", Path: child, Args: []string{"second", filepath.Join(t.TempDir(), "started"), addr},
		Ready: HTTP("http://" + addr + "/ready")})
	if err := p.EnsureReady(context.Background(), 5*time.Second, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	if p.Starts() != 2 || len(p.Lines("first start")) != 1 {
		t.Fatalf("%d starts, lines %q", p.Starts(), p.Lines(""))
	}
	if err := p.EnsureReady(context.Background(), 5*time.Second, 20*time.Second); err != nil || p.Starts() != 2 {
		t.Fatalf("EnsureReady of a ready process: %v, %d starts", err, p.Starts())
	}
}

func TestPidFileAndAdopt(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "sleeper.pid")
	p := &Process{Name: "sleeper", Path: "sleep", Args: []string{"30"}, Dir: dir, PidFile: pidFile,
		Log: filepath.Join(dir, "sleeper.log"), Detach: true}
	cleaned(t, p)
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	if pid, err := ReadPidFile(pidFile); err != nil || pid != p.Pid() {
		t.Fatalf("pid file: %d %v, pid %d", pid, err, p.Pid())
	}

	// A later run finds it from its pid file, and stops it.
	later := &Process{Name: "sleeper", Path: "sleep", Dir: dir, PidFile: pidFile}
	pid, err := later.Adopt()
	if err != nil || pid != p.Pid() || !later.Alive() {
		t.Fatalf("Adopt: pid %d (want %d), %v, alive %v", pid, p.Pid(), err, later.Alive())
	}
	if err := later.Stop(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	if p.Wait(context.Background()); p.Alive() {
		t.Fatal("the stopped process still runs")
	}
	if _, err := os.Stat(pidFile); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the pid file stayed: %v", err)
	}
	if _, err := later.Adopt(); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Adopt without a pid file: %v", err)
	}

	// A pid file naming another program (this test), a gone pid, or no
	// pid is stale: removed, nothing signalled.
	for _, content := range []string{strconv.Itoa(os.Getpid()), strconv.Itoa(p.cmd.Process.Pid), "garbage"} {
		if err := os.WriteFile(pidFile, []byte(content+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if pid, err := later.Adopt(); err == nil || pid != 0 {
			t.Fatalf("Adopt of a pid file holding %s: pid %d, %v", content, pid, err)
		}
		if _, err := os.Stat(pidFile); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("the stale pid file (%s) stayed", content)
		}
	}
}

func TestStopAll(t *testing.T) {
	dir := t.TempDir()
	pids := filepath.Join(dir, "pids")
	if err := os.Mkdir(pids, 0o755); err != nil {
		t.Fatal(err)
	}
	var started []*Process
	for _, name := range []string{"a", "b"} {
		p := cleaned(t, &Process{Name: name, Path: "sleep", Args: []string{"30"}, Dir: dir,
			PidFile: filepath.Join(pids, name+".pid"), Detach: true})
		if err := p.Start(); err != nil {
			t.Fatal(err)
		}
		started = append(started, p)
	}
	// This test's own pid, in a pid file: it does not work in dir.
	if err := os.WriteFile(filepath.Join(pids, "other.pid"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		t.Fatal(err)
	}
	var stopped []string
	if err := StopAll(pids, dir, 5*time.Second, func(name string, pid int) { stopped = append(stopped, name) }); err != nil {
		t.Fatal(err)
	}
	slices.Sort(stopped)
	if !slices.Equal(stopped, []string{"a", "b"}) {
		t.Fatalf("stopped %v", stopped)
	}
	for _, p := range started {
		if p.Wait(context.Background()); p.Alive() {
			t.Fatalf("%s still runs", p.Name)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(pids, "*")); len(left) != 0 {
		t.Fatalf("pid files left: %v", left)
	}
}

func TestFreePorts(t *testing.T) {
	seen := map[int]bool{}
	for range 50 {
		port, err := FreePort()
		if err != nil {
			t.Fatal(err)
		}
		if seen[port] {
			t.Fatalf("port %d handed out twice", port)
		}
		seen[port] = true
	}
	base, err := FreeRange(100)
	if err != nil {
		t.Fatal(err)
	}
	for port := base; port < base+100; port++ {
		if seen[port] {
			t.Fatalf("range from %d holds port %d, handed out before", base, port)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			t.Fatalf("port %d of the range: %v", port, err)
		}
		ln.Close()
	}
}

func TestRedisProbe(t *testing.T) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("no redis-server on PATH")
	}
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	p := cleaned(t, &Process{Name: "redis", Path: bin, Args: []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", ""},
		Ready: Redis(addr)})
	if err := p.StartReady(context.Background(), 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := p.Pause(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := Redis(addr)(ctx); err == nil {
		t.Fatal("a paused Redis answered PING")
	}
	p.Resume()
	if err := Redis(addr)(context.Background()); err != nil {
		t.Fatal(err)
	}
}
