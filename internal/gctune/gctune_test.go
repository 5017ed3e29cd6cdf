package gctune

import (
	"math"
	"runtime/debug"
	"testing"
)

// restore puts the collector's settings back as they were.
func restore(t *testing.T) {
	percent, limit := debug.SetGCPercent(100), debug.SetMemoryLimit(math.MaxInt64)
	t.Cleanup(func() {
		debug.SetGCPercent(percent)
		debug.SetMemoryLimit(limit)
	})
}

func TestDefault(t *testing.T) {
	restore(t)
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	Default()
	if got := debug.SetGCPercent(-1); got != Percent {
		t.Errorf("GOGC unset: percent %d, want %d", got, Percent)
	}
	if got := debug.SetMemoryLimit(-1); got != MemoryLimit {
		t.Errorf("GOMEMLIMIT unset: limit %d, want %d", got, MemoryLimit)
	}
}

func TestEnvironmentWins(t *testing.T) {
	restore(t)
	t.Setenv("GOGC", "150")
	t.Setenv("GOMEMLIMIT", "1GiB")
	debug.SetGCPercent(150) // what the runtime read at its start
	debug.SetMemoryLimit(1 << 30)
	Default()
	if got := debug.SetGCPercent(-1); got != 150 {
		t.Errorf("GOGC=150: percent %d, want it kept", got)
	}
	if got := debug.SetMemoryLimit(-1); got != 1<<30 {
		t.Errorf("GOMEMLIMIT=1GiB: limit %d, want it kept", got)
	}
}
