package embedredis

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/alicebob/miniredis/v2/server"
)

// CorruptError is Start's error for a journal holding a record that is not
// well formed anywhere but in a torn tail (see the package comment). Start
// leaves such a journal exactly as it found it.
type CorruptError struct {
	// Path is the journal's path.
	Path string
	// Offset is the byte offset at which the bad record starts; every
	// record before it is whole.
	Offset int64
	// Size is the journal's size in bytes.
	Size int64
	// Reason says what is wrong with the record.
	Reason string
}

// Error names the offset of the bad record and the two ways to recover.
func (e *CorruptError) Error() string {
	return fmt.Sprintf("journal %s is corrupt: the record at byte offset %d is malformed (%s); "+
		"the embedded Redis neither replays the %d bytes from there on nor drops them on its own, so it does not start. "+
		"To recover, either move the journal aside (mv %s %s.corrupt) and start again: every activity's stock and "+
		"the buyers' barriers are then re-derived from the SQL store, and only what the journal alone held "+
		"(the dtm server's transactions in flight) is lost; or keep the whole records before the bad one by cutting "+
		"the journal at that offset knowingly (truncate -s %d %s), which drops every write journaled after it",
		e.Path, e.Offset, e.Reason, e.Size-e.Offset, e.Path, e.Path, e.Offset, e.Path)
}

// errShort: the journal ends inside the record being read.
var errShort = errors.New("the journal ends inside the record")

// malformed is a record's framing error: what is wrong with it.
type malformed string

func (m malformed) Error() string { return string(m) }

// replay runs the journal's whole records against srv, in order. It returns
// the offset after the last whole record and the length of the torn tail
// that follows it (0 if none), or a *CorruptError.
func replay(srv *server.Server, f *os.File, path string) (good, torn int64, err error) {
	st, err := f.Stat()
	if err != nil {
		return 0, 0, err
	}
	size := st.Size()
	r := bufio.NewReaderSize(f, 1<<20)
	peer := server.NewPeer(bufio.NewWriter(io.Discard))
	var off int64
	for {
		args, n, err := readRecord(r, size-off)
		var bad malformed
		switch {
		case err == nil:
			srv.Dispatch(peer, args)
			off += n
			continue
		case errors.Is(err, io.EOF):
			return off, 0, nil
		case errors.As(err, &bad):
			return off, 0, &CorruptError{Path: path, Offset: off, Size: size, Reason: string(bad)}
		case !errors.Is(err, errShort):
			return off, 0, err
		}
		at, found, err := wholeRecordAfter(f, off, size)
		if err != nil {
			return off, 0, err
		}
		if found {
			reason := fmt.Sprintf("the journal ends inside it, yet a whole record starts at byte offset %d after it: not a write cut short by a crash", at)
			return off, 0, &CorruptError{Path: path, Offset: off, Size: size, Reason: reason}
		}
		return off, size - off, nil
	}
}

// wholeRecordAfter looks in the journal's bytes after the record at off for
// a whole record starting at the beginning of a line, and returns its
// offset.
func wholeRecordAfter(f *os.File, off, size int64) (int64, bool, error) {
	rest := make([]byte, size-off)
	if _, err := f.ReadAt(rest, off); err != nil {
		return 0, false, err
	}
	for i := 1; i < len(rest); i++ {
		if rest[i] != '*' || rest[i-1] != '\n' {
			continue
		}
		if _, _, err := readRecord(bufio.NewReader(bytes.NewReader(rest[i:])), int64(len(rest)-i)); err == nil {
			return off + int64(i), true, nil
		}
	}
	return 0, false, nil
}

// readRecord reads one RESP array of bulk strings and its size in bytes;
// left is the number of bytes from the record's start to the journal's end.
// It returns io.EOF at the journal's end, errShort when the journal ends
// inside the record and every byte of it so far is what a record holds
// there, and a malformed error for a record that no write could have left.
func readRecord(r *bufio.Reader, left int64) ([]string, int64, error) {
	var n int64
	// number reads a line of lead and a decimal number, ended by CRLF.
	number := func(lead byte, what func(line string) string) (int, error) {
		l, err := r.ReadString('\n')
		n += int64(len(l))
		switch {
		case errors.Is(err, io.EOF) && n == 0:
			return 0, io.EOF
		case errors.Is(err, io.EOF) && numberLinePrefix(l, lead):
			return 0, errShort
		case err != nil && !errors.Is(err, io.EOF):
			return 0, err
		case err != nil || !numberLine(l, lead):
			return 0, malformed(what(clip(l)))
		}
		v, err := strconv.Atoi(l[1 : len(l)-2])
		if err != nil {
			return 0, malformed(what(clip(l)))
		}
		return v, nil
	}
	count, err := number('*', func(l string) string { return fmt.Sprintf("the header line %s is not *<count of arguments>", l) })
	if err != nil {
		return nil, n, err
	}
	if count < 1 {
		return nil, n, malformed(fmt.Sprintf("the header line counts %d arguments", count))
	}
	if int64(count) > (left-n)/int64(len("$0\r\n\r\n")) {
		return nil, n, errShort // not even empty arguments would fit
	}
	args := make([]string, count)
	for i := range args {
		size, err := number('$', func(l string) string {
			return fmt.Sprintf("the length line of argument %d, %s, is not $<length>", i+1, l)
		})
		if err != nil {
			return nil, n, err
		}
		if int64(size) > left-n-2 {
			return nil, n, errShort
		}
		buf := make([]byte, size+2)
		k, err := io.ReadFull(r, buf)
		n += int64(k)
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, n, err
		}
		if k > size && !strings.HasPrefix("\r\n", string(buf[size:k])) {
			return nil, n, malformed(fmt.Sprintf("argument %d of %d bytes is not followed by CRLF", i+1, size))
		}
		if err != nil {
			return nil, n, errShort
		}
		args[i] = string(buf[:size])
	}
	return args, n, nil
}

// numberLine reports whether l is lead, decimal digits and CRLF.
func numberLine(l string, lead byte) bool {
	body, ok := strings.CutSuffix(l, "\r\n")
	return ok && len(body) >= 2 && !strings.HasSuffix(body, "\r") && numberLinePrefix(body, lead)
}

// numberLinePrefix reports whether l is how such a line begins: lead,
// decimal digits (at most 20), then at most the CR.
func numberLinePrefix(l string, lead byte) bool {
	digits := strings.TrimSuffix(l, "\r")
	if len(digits) == 0 || digits[0] != lead || len(digits) > 21 {
		return false
	}
	for _, c := range digits[1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// clip quotes s, cut to 40 bytes, for an error message.
func clip(s string) string {
	if len(s) > 40 {
		return strconv.Quote(s[:40]) + "..."
	}
	return strconv.Quote(s)
}
