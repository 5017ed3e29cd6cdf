package proc

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
)

// The ports FreePort and FreeRange hand out lie below the kernel's
// ephemeral range, where no outgoing connection, nor a socket of one in
// TIME_WAIT, takes them between the pick and the bind; a process that a
// test or a fault restarts binds its port again. Each program draws from
// its own slice of that range (by pid), so that programs running at the
// same time (packages tested in parallel) do not pick each other's ports,
// and never hands out a port twice. Single ports come from the lower
// three quarters of the slice, ranges from the last quarter, so that the
// singles scattered about leave room for a range.
const (
	portsLow   = 12000 // below it: the usual ports of the servers (6379, 8080...)
	portSlices = 6
)

var (
	portsMu    sync.Mutex       // portsMu guards portsGiven
	portsGiven = map[int]bool{} // the ports handed out in this program
)

// FreePort returns a TCP port free now on every interface (a dtm server
// binds ":port").
func FreePort() (int, error) {
	lo, hi := portSlice()
	return pick(1, lo, lo+(hi-lo)*3/4)
}

// FreeRange returns the first of n consecutive TCP ports all free now on
// every interface, for a layout whose ports derive from a base.
func FreeRange(n int) (int, error) {
	lo, hi := portSlice()
	return pick(n, lo+(hi-lo)*3/4, hi)
}

// pick hands out n consecutive ports free now between lo and hi.
func pick(n, lo, hi int) (int, error) {
	if n < 1 || n > hi-lo {
		return 0, fmt.Errorf("no range of %d ports in %d-%d", n, lo, hi)
	}
	portsMu.Lock()
	defer portsMu.Unlock()
	// Every base in turn, from a random one.
	span := hi - lo - n + 1
	first := rand.IntN(span)
	for i := range span {
		base := lo + (first+i)%span
		if rangeFree(base, n) {
			for port := base; port < base+n; port++ {
				portsGiven[port] = true
			}
			return base, nil
		}
	}
	return 0, fmt.Errorf("no %d free ports in a row in %d-%d", n, lo, hi)
}

// rangeFree reports whether ports base to base+n-1 are neither handed out
// nor bound.
func rangeFree(base, n int) bool {
	for port := base; port < base+n; port++ {
		if portsGiven[port] {
			return false
		}
	}
	for port := base; port < base+n; port++ {
		ln, err := net.Listen("tcp", ":"+strconv.Itoa(port))
		if err != nil {
			return false
		}
		ln.Close()
	}
	return true
}

// portSlice is this program's slice of the ports below the ephemeral
// range.
func portSlice() (lo, hi int) {
	top := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if v, err := strconv.Atoi(f[0]); err == nil && v > portsLow+portSlices*500 {
				top = v
			}
		}
	}
	size := (top - portsLow) / portSlices
	lo = portsLow + (os.Getpid()%portSlices)*size
	return lo, lo + size
}
