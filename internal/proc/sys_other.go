//go:build !linux

package proc

import "syscall"

// attached: without Linux's parent-death signal, the child outlives a
// starter that ends without killing it.
func attached() *syscall.SysProcAttr { return nil }

// detached: a session of its own, apart from the starter's terminal and
// its signals.
func detached() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setsid: true} }
