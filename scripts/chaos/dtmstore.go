package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/flashsale/flashsale/internal/proc"
)

// loseDTMStore injects lose-dtm-store: dtm's store loses the writes of its
// last moments, as a restore from an older snapshot (or a failover to a
// replica that lacked them) would make it. It takes a snapshot of
// dtm-redis (SAVE), lets the sale go on for f.lag, SIGKILLs dtm-redis
// (and, with f.alsoDTM, the dtm server first), and restarts it from the
// snapshot: with --appendonly no it loads the snapshot's dump.rdb, then
// CONFIG SET appendonly yes rewrites its append-only file from memory, so
// that its later restarts keep to appendfsync always again. Everything
// dtm's store acknowledged since the snapshot is gone; the services see
// its epoch change and repair what it forgot. It reports whether it
// injected f.
func (in *injector) loseDTMStore(ctx context.Context, f fault, say func(string, ...any), restart func(*proc.Process)) bool {
	st := in.st
	r := st.dtmRedisProc
	dir := filepath.Join(st.dir, "dtm-redis")
	snapshot := filepath.Join(dir, "snapshot.rdb")
	if err := st.dtmRDB.Save(ctx).Err(); err != nil {
		say("%s skipped: SAVE: %v", f.kind, err)
		in.count(in.skipped, f.kind)
		return false
	}
	if err := os.Rename(filepath.Join(dir, "dump.rdb"), snapshot); err != nil {
		in.fail("%s: %v", f.kind, err)
		return false
	}
	in.count(in.injected, f.kind)
	say("SAVE dtm-redis (a snapshot); the sale goes on for %s, then dtm-redis restarts from the snapshot", f.lag.Round(time.Millisecond))
	pause(ctx, f.lag)
	if f.alsoDTM {
		st.dtmProc.Kill()
	}
	r.Kill()
	st.storeLosses.Add(1)
	// The append-only file (Redis 7: a directory) holds the writes since
	// the snapshot: it goes, and the snapshot becomes the data.
	b, err := os.ReadFile(snapshot)
	if err == nil {
		err = os.RemoveAll(filepath.Join(dir, "appendonlydir"))
	}
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, "dump.rdb"), b, 0o644)
	}
	if err != nil {
		in.fail("%s: restore the snapshot: %v", f.kind, err)
		return true
	}
	say("SIGKILL %sdtm-redis, the writes of the last %s lost; restart from the snapshot in %s",
		map[bool]string{true: "dtm and "}[f.alsoDTM], f.lag.Round(time.Millisecond), f.down.Round(time.Millisecond))
	pause(ctx, f.down)
	args := r.Args
	r.Args = withArg(args, "--appendonly", "no")
	restart(r)
	r.Args = args
	if err := st.dtmAppendOnly(ctx); err != nil && ctx.Err() == nil {
		in.fail("%s: append-only again: %v", f.kind, err)
	}
	if f.alsoDTM {
		restart(st.dtmProc)
	}
	return true
}

// dtmAppendOnly turns dtm-redis's append-only file on again (CONFIG SET
// appendonly yes) and waits until its rewrite from memory is done.
func (s *stack) dtmAppendOnly(ctx context.Context) error {
	if err := s.dtmRDB.ConfigSet(ctx, "appendonly", "yes").Err(); err != nil {
		return err
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		info, err := s.dtmRDB.Info(ctx, "persistence").Result()
		if err == nil && strings.Contains(info, "aof_enabled:1") && strings.Contains(info, "aof_rewrite_in_progress:0") &&
			strings.Contains(info, "aof_rewrite_scheduled:0") && strings.Contains(info, "aof_last_bgrewrite_status:ok") {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the rewrite did not finish in 30 s: %v %q", err, info)
		}
		if !pause(ctx, 100*time.Millisecond) {
			return ctx.Err()
		}
	}
}

// withArg returns args with flag's value set to value.
func withArg(args []string, flag, value string) []string {
	out := append([]string(nil), args...)
	for i := 0; i+1 < len(out); i++ {
		if out[i] == flag {
			out[i+1] = value
			return out
		}
	}
	return append(out, flag, value)
}
