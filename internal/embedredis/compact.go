package embedredis

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/alicebob/miniredis/v2/server"
	"github.com/flashsale/flashsale/internal/atomicfile"
)

// The journal records every write, so it grows with every purchase for
// good, and each start replays all of it. At start, once the journal is
// replayed, compact rewrites it as the commands that build the state it
// reached (one per key, plus its TTL), so the journal holds what is, not
// how it came to be.
//
// The rewrite goes to a temporary file that is fsynced and renamed over the
// journal, so a crash at any point leaves either the old journal or the new
// one, whole. The replayed scripts are flushed afterwards: an EVALSHA
// journaled after the rewrite must find its script loaded by a record of
// the new journal (the client's EVAL after NOSCRIPT), not by one the
// rewrite dropped.

// compact rewrites the journal at path as a snapshot of db and returns the
// new journal, open for appending after the snapshot, or an error with the
// old journal untouched.
func compact(db *miniredis.RedisDB, path string) (*os.File, error) {
	err := atomicfile.Write(path, ".compact", 0o644, func(w io.Writer) error { return snapshot(db, w) })
	if err != nil {
		return nil, fmt.Errorf("compact %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if _, err := f.Seek(0, io.SeekEnd); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// snapshot writes, for every key of db in key order, the command that
// creates it with its value, then its TTL when it has one.
func snapshot(db *miniredis.RedisDB, w io.Writer) error {
	keys := db.Keys()
	sort.Strings(keys)
	for _, k := range keys {
		var cmd []string
		switch typ := db.Type(k); typ {
		case "string":
			v, err := db.Get(k)
			if err != nil {
				return err
			}
			cmd = []string{"SET", k, v}
		case "hash":
			fields, err := db.HKeys(k)
			if err != nil {
				return err
			}
			cmd = []string{"HSET", k}
			for _, f := range fields {
				cmd = append(cmd, f, db.HGet(k, f))
			}
		case "list":
			items, err := db.List(k)
			if err != nil {
				return err
			}
			cmd = append([]string{"RPUSH", k}, items...)
		case "set":
			members, err := db.Members(k)
			if err != nil {
				return err
			}
			cmd = append([]string{"SADD", k}, members...)
		case "zset":
			scores, err := db.SortedSet(k)
			if err != nil {
				return err
			}
			cmd = []string{"ZADD", k}
			for m, sc := range scores {
				cmd = append(cmd, strconv.FormatFloat(sc, 'g', -1, 64), m)
			}
		default:
			return fmt.Errorf("key %q is a %s, which the snapshot does not write", k, typ)
		}
		if _, err := w.Write(encode(cmd[0], cmd[1:])); err != nil {
			return err
		}
		if ttl := db.TTL(k); ttl > 0 {
			if _, err := w.Write(encode("PEXPIRE", []string{k, strconv.FormatInt(int64(ttl/time.Millisecond), 10)})); err != nil {
				return err
			}
		}
	}
	return nil
}

// flushScripts drops the scripts the replay loaded (see compact).
func flushScripts(srv *server.Server) {
	srv.Dispatch(server.NewPeer(bufio.NewWriter(io.Discard)), []string{"SCRIPT", "FLUSH"})
}
