package proc

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
)

// alive reports whether process pid exists and is not a zombie waiting
// to be reaped.
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	return !strings.HasPrefix(procState(pid), "Z")
}

// procState is the process's state letter(s): /proc/PID/stat, or ps
// where there is no /proc.
func procState(pid int) string {
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		// pid (comm) state ...; comm may hold spaces and parentheses.
		s := string(b)
		if i := strings.LastIndexByte(s, ')'); i >= 0 {
			return strings.TrimSpace(s[i+1:])
		}
		return ""
	}
	out, _ := exec.Command("ps", "-o", "stat=", "-p", fmt.Sprint(pid)).Output()
	return strings.TrimSpace(string(out))
}

// cmdline is the process's command line, its words joined by spaces
// ("" when it is gone): /proc/PID/cmdline, or ps where there is no /proc.
func cmdline(pid int) string {
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil {
		return strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
	}
	out, _ := exec.Command("ps", "-ww", "-o", "args=", "-p", fmt.Sprint(pid)).Output()
	return strings.TrimSpace(string(out))
}
