// Package gctune sets the garbage collector's pace for the project's
// processes: the services, the dtm launcher and the all-in-one binary.
package gctune

import (
	"os"
	"runtime/debug"
)

// Percent is the GOGC the processes run at unless their environment sets
// GOGC. A purchase allocates some tens of kilobytes in each of flashsale,
// dtm and the order service; at Go's default of 100 their small live heaps
// (a few megabytes) are collected hundreds of times a second under load,
// and at 400 a quarter as often.
const Percent = 400

// MemoryLimit is the soft limit on the Go heap the processes run with
// unless their environment sets GOMEMLIMIT: under a burst, when the live
// heap grows, the collector runs as often as it must to stay under it,
// so that Percent does not quadruple a process's peak memory
// (docs/benchmarks.md measures both).
const MemoryLimit = 96 << 20

// Default sets GOGC to Percent and the memory limit to MemoryLimit, each
// unless the environment names its own.
func Default() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(Percent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(MemoryLimit)
	}
}
