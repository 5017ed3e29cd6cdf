package gctune

import (
	"runtime/debug"
	"testing"
)

func TestDefault(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	t.Setenv("GOGC", "")
	if got := Default(); got != Percent || debug.SetGCPercent(Percent) != Percent {
		t.Fatalf("without GOGC: %d, want %d", got, Percent)
	}
	t.Setenv("GOGC", "150")
	debug.SetGCPercent(150) // what the runtime read at start
	if got := Default(); got != 150 {
		t.Fatalf("GOGC=150: %d, want 150 kept", got)
	}
}
