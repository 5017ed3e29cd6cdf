package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"
)

// conn is one keep-alive HTTP/1.1 client connection, as lean as a load
// generator can make it: requests are pre-built bytes written in one call,
// and an answer is read only as far as its status code and framing (the
// body is skipped, never decoded). One request is in flight at a time.
type conn struct {
	addr string
	src  net.IP // local address to dial from; nil lets the kernel choose
	nc   net.Conn
	br   *bufio.Reader
	// deadline bounds every read and write: a hung target fails the run's
	// last requests instead of hanging the generator.
	deadline time.Time
}

// dialError is a failure to connect (as opposed to a failed request on an
// open connection).
type dialError struct{ err error }

func (e dialError) Error() string { return "dial: " + e.err.Error() }
func (e dialError) Unwrap() error { return e.err }

// setDeadline sets the deadline of the current and future connections.
func (c *conn) setDeadline(t time.Time) {
	c.deadline = t
	if c.nc != nil {
		c.nc.SetDeadline(t)
	}
}

// dial (re)opens c's connection.
func (c *conn) dial() error {
	if c.nc != nil {
		c.nc.Close()
	}
	d := net.Dialer{Timeout: 5 * time.Second}
	if c.src != nil {
		d.LocalAddr = &net.TCPAddr{IP: c.src}
	}
	nc, err := d.Dial("tcp", c.addr)
	if err != nil {
		c.nc = nil
		return dialError{err}
	}
	c.nc = nc
	if !c.deadline.IsZero() {
		nc.SetDeadline(c.deadline)
	}
	if c.br == nil {
		c.br = bufio.NewReaderSize(nc, 16<<10)
	} else {
		c.br.Reset(nc)
	}
	return nil
}

// roundTrip sends req and returns the answer's status code. On any error
// the connection is closed; the next call redials.
func (c *conn) roundTrip(req []byte) (int, error) {
	if c.nc == nil {
		if err := c.dial(); err != nil {
			return 0, err
		}
	}
	if _, err := c.nc.Write(req); err != nil {
		c.close()
		return 0, err
	}
	status, keep, err := readResponse(c.br)
	if err != nil || !keep {
		c.close()
	}
	return status, err
}

func (c *conn) close() {
	if c.nc != nil {
		c.nc.Close()
		c.nc = nil
	}
}

var errMalformed = errors.New("malformed HTTP response")

// readResponse reads one HTTP/1.x response from br: the status line, the
// headers that frame the body (Content-Length, Transfer-Encoding: chunked,
// Connection), then skips the body. keep reports whether the connection
// can carry another request.
func readResponse(br *bufio.Reader) (status int, keep bool, err error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		return 0, false, err
	}
	// "HTTP/1.1 200 OK\r\n"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return 0, false, errMalformed
	}
	status, err = atoi3(line[9:12])
	if err != nil {
		return 0, false, err
	}
	keep = line[7] == '1' // HTTP/1.1 keeps the connection by default, 1.0 does not
	length, chunked := int64(-1), false
	for {
		line, err = br.ReadSlice('\n')
		if err != nil {
			return status, false, err
		}
		h := bytes.TrimRight(line, "\r\n")
		if len(h) == 0 {
			break
		}
		name, value, ok := bytes.Cut(h, []byte(":"))
		if !ok {
			return status, false, errMalformed
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.ParseInt(string(value), 10, 64); err != nil || length < 0 {
				return status, false, errMalformed
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			if bytes.EqualFold(value, []byte("close")) {
				keep = false
			} else if bytes.EqualFold(value, []byte("keep-alive")) {
				keep = true
			}
		}
	}
	switch {
	case status/100 == 1 || status == 204 || status == 304:
		return status, keep, nil
	case chunked:
		return status, keep, skipChunked(br)
	case length >= 0:
		_, err = br.Discard(int(length))
		return status, keep && err == nil, err
	default:
		// No framing: the body ends when the server closes.
		_, err = io.Copy(io.Discard, br)
		return status, false, err
	}
}

// skipChunked discards a chunked body and its trailers.
func skipChunked(br *bufio.Reader) error {
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return err
		}
		sz, _, _ := bytes.Cut(bytes.TrimRight(line, "\r\n"), []byte(";"))
		n, err := strconv.ParseInt(string(bytes.TrimSpace(sz)), 16, 64)
		if err != nil || n < 0 {
			return errMalformed
		}
		if n == 0 {
			for { // trailers, up to the empty line
				line, err = br.ReadSlice('\n')
				if err != nil {
					return err
				}
				if len(bytes.TrimRight(line, "\r\n")) == 0 {
					return nil
				}
			}
		}
		if _, err := br.Discard(int(n) + 2); err != nil {
			return err
		}
	}
}

func atoi3(b []byte) (int, error) {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, errMalformed
		}
		n = n*10 + int(c-'0')
	}
	return n, nil
}

// buildRequest renders one HTTP/1.1 request with a JSON body.
func buildRequest(method, host, path, token, body string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\n", method, path, host)
	if token != "" {
		fmt.Fprintf(&b, "Authorization: Bearer %s\r\n", token)
	}
	if body != "" || method == "POST" {
		fmt.Fprintf(&b, "Content-Type: application/json\r\nContent-Length: %d\r\n", len(body))
	}
	b.WriteString("\r\n")
	b.WriteString(body)
	return b.Bytes()
}
