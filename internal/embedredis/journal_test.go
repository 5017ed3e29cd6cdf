package embedredis

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// journal writes a journal of a few records through a server and returns
// its path, its bytes and the offset at which each record starts.
func journal(t *testing.T) (string, []byte, []int64) {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "redis.aof")
	s, c := start(t, path)
	c.Set(ctx, "stock", 10, 0)
	c.HSet(ctx, "h", "a", "1")
	for i := 0; i < 4; i++ {
		c.Decr(ctx, "stock")
	}
	c.Set(ctx, "k", "v", 0)
	c.Close()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var offs []int64
	r := bufio.NewReader(bytes.NewReader(b))
	for off := int64(0); off < int64(len(b)); {
		_, n, err := readRecord(r, int64(len(b))-off)
		if err != nil {
			t.Fatalf("record at %d of the journal just written: %v", off, err)
		}
		offs = append(offs, off)
		off += n
	}
	if len(offs) != 7 {
		t.Fatalf("%d records journaled, want 7", len(offs))
	}
	return path, b, offs
}

// replaceIn returns b with old replaced by new in the record b[from:to].
func replaceIn(t *testing.T, b []byte, from, to int64, old, new string) []byte {
	t.Helper()
	rec := string(b[from:to])
	if !strings.Contains(rec, old) {
		t.Fatalf("record %q has no %q", rec, old)
	}
	rec = strings.Replace(rec, old, new, 1)
	return append(append(append([]byte{}, b[:from]...), rec...), b[to:]...)
}

// captureLog collects the package's log lines for the test's duration.
func captureLog(t *testing.T) *[]string {
	var lines []string
	old := logf
	logf = func(format string, args ...any) { lines = append(lines, fmt.Sprintf(format, args...)) }
	t.Cleanup(func() { logf = old })
	return &lines
}

// TestJournalCorruptMiddle: a bad record with whole records after it makes
// Start fail with its offset and the recovery steps, and leaves the journal
// as it was, byte for byte.
func TestJournalCorruptMiddle(t *testing.T) {
	_, orig, offs := journal(t)
	mid := offs[3] // the second DECR, with three records after it
	cases := map[string]func(b []byte) []byte{
		"length line not RESP": func(b []byte) []byte {
			i := mid + int64(bytes.IndexByte(orig[mid+1:], '$')) + 1
			b[i] = 'X'
			return b
		},
		"argument not followed by CRLF": func(b []byte) []byte {
			b[offs[4]-2] = 'x'
			return b
		},
		"zeros over the record": func(b []byte) []byte {
			for i := mid; i < offs[4]; i++ {
				b[i] = 0
			}
			return b
		},
		"length past the end with records after": func(b []byte) []byte {
			return replaceIn(t, b, mid, offs[4], "$5\r\nstock", "$999999\r\nstock")
		},
		"the largest length": func(b []byte) []byte {
			return replaceIn(t, b, mid, offs[4], "$5\r\nstock", "$9223372036854775807\r\nstock")
		},
		"the largest count": func(b []byte) []byte {
			return replaceIn(t, b, mid, offs[4], "*2\r\n", "*9223372036854775807\r\n")
		},
	}
	for name, corrupt := range cases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "redis.aof")
			bad := corrupt(append([]byte{}, orig...))
			if err := os.WriteFile(path, bad, 0o644); err != nil {
				t.Fatal(err)
			}
			s, err := Start(path)
			if err == nil {
				s.Close()
				t.Fatal("Start accepted a journal corrupt in its middle")
			}
			var ce *CorruptError
			if !errors.As(err, &ce) || ce.Offset != mid {
				t.Fatalf("error %v, want a *CorruptError at offset %d", err, mid)
			}
			for _, want := range []string{
				fmt.Sprintf("record at byte offset %d is malformed", mid),
				fmt.Sprintf("mv %s %s.corrupt", path, path),
				fmt.Sprintf("truncate -s %d %s", mid, path),
				"re-derived from the SQL store",
			} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error lacks %q:\n%v", want, err)
				}
			}
			if after, _ := os.ReadFile(path); !bytes.Equal(after, bad) {
				t.Fatalf("the journal changed: %d bytes, %d before", len(after), len(bad))
			}
			if _, err := os.Stat(path + ".compact"); !os.IsNotExist(err) {
				t.Fatalf("a compaction file was left: %v", err)
			}
			t.Log(err)
		})
	}
}

// TestJournalTornTail: a last record cut short at any byte, with nothing
// after it, is dropped with a log line naming its offset; every record
// before it comes back.
func TestJournalTornTail(t *testing.T) {
	ctx := context.Background()
	_, orig, offs := journal(t)
	last := offs[len(offs)-1]
	for cut := last + 1; cut < int64(len(orig)); cut++ {
		lines := captureLog(t)
		path := filepath.Join(t.TempDir(), "redis.aof")
		if err := os.WriteFile(path, orig[:cut], 0o644); err != nil {
			t.Fatal(err)
		}
		s, c := start(t, path)
		want := fmt.Sprintf("record cut short at byte offset %d (%d bytes", last, cut-last)
		if len(*lines) != 1 || !strings.Contains((*lines)[0], want) {
			t.Fatalf("cut at %d: log %q, want a line with %q", cut, *lines, want)
		}
		if got := fmt.Sprint(dump(t, c)); got != "map[h:hash stock:6]" {
			t.Fatalf("cut at %d: state %s", cut, got)
		}
		if err := c.Set(ctx, "after", "1", 0).Err(); err != nil {
			t.Fatalf("cut at %d: write after the replay: %v", cut, err)
		}
		c.Close()
		s.Close()
	}
}

// TestJournalZeroTail: zeros after the last record are no record's
// beginning, so they are corruption, not a torn tail, and stay.
func TestJournalZeroTail(t *testing.T) {
	_, orig, _ := journal(t)
	path := filepath.Join(t.TempDir(), "redis.aof")
	bad := append(append([]byte{}, orig...), make([]byte, 16)...)
	if err := os.WriteFile(path, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	var ce *CorruptError
	if s, err := Start(path); !errors.As(err, &ce) || ce.Offset != int64(len(orig)) {
		if s != nil {
			s.Close()
		}
		t.Fatalf("Start on a zero-filled tail: %v, want a *CorruptError at offset %d", err, len(orig))
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, bad) {
		t.Fatal("the journal changed")
	}
}
