// Package embedredis is the embedded mode's Redis: an in-process
// Redis-protocol server (miniredis) speaking RESP over loopback TCP, made
// durable by an append-only journal of every write command, replayed at
// start.
//
// Every write command runs under one lock, journaled first and executed
// second, so the journal's order is the order in which the writes ran and a
// replay reaches the same state. The journal is written before the command
// runs and before its reply leaves, so a process killed at any point keeps
// every write a client saw acknowledged; it is fsynced every second, like
// Redis's appendfsync everysec, for power loss. At every start, once
// replayed, it is rewritten as the state it reached (compact.go).
//
// MULTI/EXEC and SELECT of a database other than 0 are refused: a
// transaction's queued commands would interleave with other clients' in the
// journal. Lua scripts (EVAL/EVALSHA and SCRIPT LOAD) are journaled like any
// write; they are deterministic in this project. Keys never expire (miniredis
// does not advance time on its own).
//
// # What a start does with the journal
//
// A start replays the journal record by record, from the first byte. It
// keeps only what a crash legitimately leaves, and refuses everything else:
//
//   - A torn tail is dropped, with a log line on stderr naming its offset and
//     length. The tail is torn when the journal ends inside its last record
//     (the bytes there are a record's beginning, cut short: a write a kill
//     interrupted, whose command never ran and was never acknowledged) and
//     nothing whole comes after: no whole record starts at the beginning of
//     a line anywhere in the bytes from that record's start to the end.
//   - Any other bad record, wherever it is, is corruption: a header or
//     length line that is not RESP, an argument not followed by CRLF, bytes
//     that are not a record's beginning (a tail of zeros, as a power loss on
//     some file systems leaves, is one), or a record whose lengths run past
//     the end of the journal while whole records follow it. Start then fails
//     with a *CorruptError naming the record's byte offset and the recovery
//     steps, and leaves the journal untouched, byte for byte: it never
//     truncates a journal on its own but for a torn tail.
//
// Records carry no checksum: a flipped byte inside an argument that keeps
// the framing intact is replayed as written.
package embedredis

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/alicebob/miniredis/v2/server"
)

// readOnly lists the commands that never change data; every other command
// is journaled.
var readOnly = map[string]bool{
	"GET": true, "MGET": true, "EXISTS": true, "TTL": true, "PTTL": true, "TYPE": true, "KEYS": true,
	"SCAN": true, "STRLEN": true, "GETRANGE": true, "HGET": true, "HGETALL": true, "HMGET": true,
	"HKEYS": true, "HVALS": true, "HLEN": true, "HEXISTS": true, "HSCAN": true, "ZRANGE": true,
	"ZRANGEBYSCORE": true, "ZREVRANGE": true, "ZREVRANGEBYSCORE": true, "ZSCORE": true, "ZCARD": true,
	"ZCOUNT": true, "ZRANK": true, "ZSCAN": true, "LRANGE": true, "LLEN": true, "LINDEX": true,
	"SMEMBERS": true, "SISMEMBER": true, "SCARD": true, "SSCAN": true, "PING": true, "ECHO": true,
	"INFO": true, "CLIENT": true, "HELLO": true, "AUTH": true, "COMMAND": true, "DBSIZE": true,
	"TIME": true, "QUIT": true, "EVAL_RO": true, "EVALSHA_RO": true, "READONLY": true,
	// Pub/sub changes no key: nothing to replay.
	"SUBSCRIBE": true, "UNSUBSCRIBE": true, "PSUBSCRIBE": true, "PUNSUBSCRIBE": true, "PUBLISH": true,
}

// logf writes a line about the journal on stderr (tests capture it).
var logf = func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }

// Server is a journaled in-process Redis.
type Server struct {
	m    *miniredis.Miniredis
	srv  *server.Server
	file *os.File

	mu     sync.Mutex    // mu serialises journaled writes: append, then execute
	owner  atomic.Uint64 // the goroutine executing a write under mu, 0 if none
	werr   error         // first journal write error; later writes are refused
	closed bool          // set by Close: later writes are refused

	// runID names this start of the server, as a Redis process's run id
	// does: INFO server answers it (runInfo).
	runID string

	stop chan struct{}
	done chan struct{}
}

// Start replays the journal at path (creating it when missing), then serves
// on a loopback port. A journal with a bad record anywhere but in a torn
// tail is left as it is, and Start returns a *CorruptError (see the package
// comment).
func Start(path string) (*Server, error) {
	m := miniredis.NewMiniRedis()
	if err := m.StartAddr("127.0.0.1:0"); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		m.Close()
		return nil, err
	}
	good, torn, err := replay(m.Server(), f, path)
	if err != nil {
		m.Close()
		f.Close()
		var corrupt *CorruptError
		if errors.As(err, &corrupt) {
			return nil, err
		}
		return nil, fmt.Errorf("replay %s: %w", path, err)
	}
	if torn > 0 {
		// A record cut short by a crash mid-write is dropped: its command
		// never ran, so no client saw it acknowledged.
		logf("embedded redis: journal %s ends in a record cut short at byte offset %d (%d bytes, nothing whole after them: a write a crash interrupted, never acknowledged); dropped", path, good, torn)
		if err := f.Truncate(good); err != nil {
			m.Close()
			f.Close()
			return nil, err
		}
	}
	if _, err := f.Seek(good, io.SeekStart); err != nil {
		m.Close()
		f.Close()
		return nil, err
	}
	// Compacted, the journal holds the state, not its history (compact.go).
	// When that fails the whole journal is kept: only its size suffers.
	if nf, err := compact(m.DB(0), path); err == nil {
		f.Close()
		f = nf
		flushScripts(m.Server())
	} else {
		logf("embedded redis: %v; the journal stays as it is", err)
	}
	s := &Server{m: m, srv: m.Server(), file: f, runID: newRunID(), stop: make(chan struct{}), done: make(chan struct{})}
	m.Server().SetPreHook(s.hook)
	go s.syncLoop()
	return s, nil
}

// Addr returns the host:port the server listens on.
func (s *Server) Addr() string { return s.m.Addr() }

// Close stops serving and closes the journal.
func (s *Server) Close() error {
	close(s.stop)
	<-s.done
	// Wait for the write under way, if any, and refuse the next ones, so
	// that no write runs on a closing server or a closed journal.
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.m.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.file.Sync()
	return s.file.Close()
}

func (s *Server) syncLoop() {
	defer close(s.done)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.mu.Lock()
			s.file.Sync()
			s.mu.Unlock()
		}
	}
}

// hook runs before every command. Reads go on untouched. A write is
// journaled and executed here, under mu, and the hook then tells the server
// the command is handled. The nested Dispatch comes back through the hook on
// the same goroutine, and so do the redis.call commands of a Lua script
// (miniredis runs them through Dispatch while the script runs): the hook
// lets those run, unjournaled, as the script's record covers them.
func (s *Server) hook(peer *server.Peer, cmd string, args ...string) bool {
	if cmd == "INFO" && (len(args) == 0 || len(args) == 1 && strings.EqualFold(args[0], "server")) {
		peer.WriteBulk(s.runInfo())
		return true
	}
	if readOnly[cmd] {
		return false
	}
	g := goroutineID()
	switch {
	case s.owner.Load() == g:
		return false
	case cmd == "MULTI" || cmd == "WATCH":
		peer.WriteError("ERR " + cmd + " is not supported by the embedded journaled Redis")
		return true
	case cmd == "SELECT":
		if len(args) == 1 && args[0] == "0" {
			return false
		}
		peer.WriteError("ERR only database 0 exists in the embedded Redis")
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		peer.WriteError("ERR the embedded Redis is shutting down")
		return true
	}
	if s.werr == nil {
		_, s.werr = s.file.Write(encode(cmd, args))
	}
	if s.werr != nil {
		peer.WriteError("ERR journal write failed: " + s.werr.Error())
		return true
	}
	s.owner.Store(g)
	s.srv.Dispatch(peer, append([]string{cmd}, args...))
	s.owner.Store(0)
	return true
}

// runInfo is the answer to INFO server: the run id of this start. A Redis
// process that restarts has a new one, which is how the stock's counters
// know that writes may have been lost since they were set (a power loss
// can cut the journal's last second): after every start each counter is
// stale, and re-derived from the orders, dtm and the barriers, as after a
// restart of a Redis server.
func (s *Server) runInfo() string {
	return "# Server\r\nredis_version:7.0.0-embedded\r\nrun_id:" + s.runID + "\r\n"
}

// newRunID returns 40 random hex digits, as Redis's run ids are.
func newRunID() string {
	var b [20]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// goroutineID returns the running goroutine's id, read from the header of
// its stack trace ("goroutine 123 [running]:").
func goroutineID() uint64 {
	var buf [32]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = b[len("goroutine "):]
	id, _ := strconv.ParseUint(string(b[:bytes.IndexByte(b, ' ')]), 10, 64)
	return id
}

// encode renders a command as a RESP array of bulk strings.
func encode(cmd string, args []string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n$%d\r\n%s\r\n", len(args)+1, len(cmd), cmd)
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	return []byte(b.String())
}
