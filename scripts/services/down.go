package main

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/flashsale/flashsale/internal/proc"
)

// downOrder is the order down stops the services in: first the one that
// takes purchases, last dtm's store, once dtm is gone.
var downOrder = []string{"flashsale", "orders", "dtm", "dtm-redis"}

// down stops what up started, and nothing else: each service whose pid
// file names a live process running its program in the run directory.
func down(c config, con console) error {
	var failed []string
	for _, name := range downOrder {
		p := c.process(service{name: name})
		pid, err := p.Adopt()
		switch {
		case errors.Is(err, fs.ErrNotExist):
			con.say("%s: not running (no pid file)", name)
			continue
		case err != nil:
			con.say("%s: %v", name, err)
			continue
		}
		err = p.Stop(c.stopTimeout)
		switch {
		case err == nil:
			con.say("%s: stopped (pid %d)", name, pid)
		case errors.Is(err, proc.ErrKilled):
			con.say("%s: pid %d still running after %s; sent SIGKILL: stopped", name, pid, c.stopTimeout)
		default:
			con.say("%s: %v; leaving its pid file", name, err)
			failed = append(failed, name)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("could not stop %s", strings.Join(failed, ", "))
	}
	return nil
}
