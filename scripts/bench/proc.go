package main

import (
	"fmt"
	"net"
	"runtime"
	"testing"

	"github.com/flashsale/flashsale/internal/testproc"
)

// procTB lets the bench, a command, start processes with testproc, which
// reports failures the testing way. Fatal records the message and ends the
// calling goroutine, as testing.T's does; startProc runs Start in a goroutine
// of its own and returns the message as an error. Only the methods testproc
// calls are implemented (the embedded interface is nil).
type procTB struct {
	testing.TB
	err error
}

func (t *procTB) Helper()                         {}
func (t *procTB) Logf(format string, args ...any) {}
func (t *procTB) Fatal(args ...any)               { t.err = fmt.Errorf("%s", fmt.Sprint(args...)); runtime.Goexit() }
func (t *procTB) Fatalf(format string, args ...any) {
	t.err = fmt.Errorf(format, args...)
	runtime.Goexit()
}

// startProc starts p and waits until readyURL answers 200.
func startProc(p *testproc.Proc, readyURL string) error {
	tb := &procTB{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.Start(tb, readyURL)
	}()
	<-done
	return tb.err
}

// freePort returns a TCP port free on loopback right now.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
