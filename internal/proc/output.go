package proc

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// keepLines is how many of its last lines a process's output keeps in
// memory (Lines, WaitLine).
const keepLines = 100_000

// output is what a process printed, over all its starts: its last lines,
// and the watches waiting for a line to come.
type output struct {
	mu      sync.Mutex // mu guards the fields below
	lines   []string
	watches map[*watch]bool
}

// watch waits for the next line containing substr; ch takes that line.
type watch struct {
	substr string
	ch     chan string
}

// copy reads the process's output r line by line until every writer has
// closed it, appends each line to logf (when not nil) and keeps it, then
// closes r and logf, and drained.
func (o *output) copy(r io.ReadCloser, logf *os.File, drained chan<- struct{}) {
	defer close(drained)
	defer r.Close()
	if logf != nil {
		defer logf.Close()
	}
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			if logf != nil {
				logf.WriteString(line)
			}
			o.add(strings.TrimRight(line, "\r\n"))
		}
		if err != nil {
			return
		}
	}
}

// add keeps line and hands it to the watches it matches, which end.
func (o *output) add(line string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.lines = append(o.lines, line)
	if len(o.lines) > keepLines {
		o.lines = append(o.lines[:0], o.lines[len(o.lines)-keepLines*3/4:]...)
	}
	for w := range o.watches {
		if strings.Contains(line, w.substr) {
			w.ch <- line // buffered, and each watch takes one line
			delete(o.watches, w)
		}
	}
}

// expect starts a watch for the next line containing substr.
func (o *output) expect(substr string) (<-chan string, func()) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.watchLocked(substr)
}

func (o *output) watchLocked(substr string) (<-chan string, func()) {
	w := &watch{substr: substr, ch: make(chan string, 1)}
	if o.watches == nil {
		o.watches = map[*watch]bool{}
	}
	o.watches[w] = true
	return w.ch, func() {
		o.mu.Lock()
		delete(o.watches, w)
		o.mu.Unlock()
	}
}

// waitLine returns the first kept line containing substr, or else the
// next one printed within timeout.
func (o *output) waitLine(name, substr string, timeout time.Duration) (string, error) {
	o.mu.Lock()
	for _, l := range o.lines {
		if strings.Contains(l, substr) {
			o.mu.Unlock()
			return l, nil
		}
	}
	ch, cancel := o.watchLocked(substr)
	o.mu.Unlock()
	defer cancel()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case l := <-ch:
		return l, nil
	case <-t.C:
		return "", fmt.Errorf("%s printed no line with %q in %s", name, substr, timeout)
	}
}

// matching returns the kept lines that contain substr.
func (o *output) matching(substr string) []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []string
	for _, l := range o.lines {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return out
}

// tail returns the last n bytes of the kept lines.
func (o *output) tail(n int) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	var b []string
	size := 0
	for i := len(o.lines) - 1; i >= 0 && size < n; i-- {
		b = append(b, o.lines[i])
		size += len(o.lines[i]) + 1
	}
	var s strings.Builder
	for i := len(b) - 1; i >= 0; i-- {
		s.WriteString(b[i])
		s.WriteByte('\n')
	}
	out := s.String()
	return out[max(0, len(out)-n):]
}

// tailFile returns the last n bytes of the file at path ("" when there
// is none).
func tailFile(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > int64(n) {
		f.Seek(fi.Size()-int64(n), io.SeekStart)
	}
	b, _ := io.ReadAll(f)
	return string(b)
}
