//go:build faultinject

package faultpoint

import (
	"fmt"
	"os"
	"strings"
)

// armed names the points at which the process parks, from the env variable
// FLASHSALE_FAULTPOINTS (comma-separated), read once at start.
var armed = func() map[string]bool {
	m := map[string]bool{}
	for _, n := range strings.Split(os.Getenv("FLASHSALE_FAULTPOINTS"), ",") {
		if n != "" {
			m[n] = true
		}
	}
	return m
}()

// Hit parks the calling goroutine for good when name is armed, after
// printing "FAULTPOINT <name> <detail>" on stderr for the test to see; the
// test then kills the process.
func Hit(name, detail string) {
	if !armed[name] {
		return
	}
	fmt.Fprintf(os.Stderr, "FAULTPOINT %s %s\n", name, detail)
	select {}
}
