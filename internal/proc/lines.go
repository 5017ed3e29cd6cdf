package proc

import "time"

// Lines returns the lines the process printed, in every run so far (the
// last 100000 of them), that contain substr ("" : all). A detached
// process keeps none.
func (p *Process) Lines(substr string) []string { return p.out.matching(substr) }

// WaitLine returns the first line the process printed, in any run so far
// or within timeout, that contains substr.
func (p *Process) WaitLine(substr string, timeout time.Duration) (string, error) {
	return p.out.waitLine(p.Name, substr, timeout)
}

// Expect starts watching for the next line the process prints that
// contains substr, before the caller does what makes it print the line:
// the channel receives that line. cancel stops watching.
func (p *Process) Expect(substr string) (line <-chan string, cancel func()) {
	return p.out.expect(substr)
}

// Tail returns the last n bytes of the process's log: of Log, or of the
// lines kept in memory when it has none.
func (p *Process) Tail(n int) string {
	if p.Log != "" {
		return tailFile(p.Log, n)
	}
	return p.out.tail(n)
}
