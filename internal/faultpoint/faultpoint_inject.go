//go:build faultinject

package faultpoint

import (
	"fmt"
	"os"
	"strings"
)

// armed maps each armed point to the detail substrings that trigger it
// ("" triggers on every hit), from the env variable FLASHSALE_FAULTPOINTS:
// a comma-separated list of "name" or "name:substring", read once at start.
var armed = func() map[string][]string {
	m := map[string][]string{}
	for _, e := range strings.Split(os.Getenv("FLASHSALE_FAULTPOINTS"), ",") {
		if e == "" {
			continue
		}
		name, sub, _ := strings.Cut(e, ":")
		m[name] = append(m[name], sub)
	}
	return m
}()

// Hit parks the calling goroutine for good when name is armed for detail,
// after printing "FAULTPOINT <name> <detail>" on stderr for the test to
// see; the test then kills the process.
func Hit(name, detail string) {
	for _, sub := range armed[name] {
		if strings.Contains(detail, sub) {
			fmt.Fprintf(os.Stderr, "FAULTPOINT %s %s\n", name, detail)
			select {}
		}
	}
}
