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
// and at 400 a quarter as often, for a heap four times as large at its
// peak (tens of megabytes; docs/benchmarks.md measures both).
const Percent = 400

// Default sets GOGC to Percent unless the environment names one, and
// returns the percent in force.
func Default() int {
	if v := os.Getenv("GOGC"); v != "" {
		old := debug.SetGCPercent(100)
		debug.SetGCPercent(old)
		return old
	}
	debug.SetGCPercent(Percent)
	return Percent
}
