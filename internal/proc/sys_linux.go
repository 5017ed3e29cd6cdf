package proc

import "syscall"

// attached: the child is killed when the thread that started it ends,
// which in a Go program is the program's end, however it ends.
func attached() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// detached: a session of its own, apart from the starter's terminal and
// its signals.
func detached() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setsid: true} }
