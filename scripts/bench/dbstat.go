package main

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
)

// dbCounters are the MariaDB/MySQL server's counters that tell whether
// order transactions wait on each other: row lock waits (every order
// decrements its activity's one DB stock row) and fsyncs (MariaDB counts
// the redo log's among Innodb_data_fsyncs; a group commit is one).
var dbCounters = []string{"Innodb_row_lock_waits", "Innodb_row_lock_time", "Innodb_data_fsyncs", "Com_commit"}

// DBStats is what the database server did during a run (the whole server:
// other clients' work counts too).
type DBStats struct {
	Commits       int64 `json:"commits"`
	RowLockWaits  int64 `json:"row_lock_waits"`
	RowLockMillis int64 `json:"row_lock_ms"`
	Fsyncs        int64 `json:"fsyncs"`
}

// dbSnapshot reads the counters; nil when the server cannot be read.
func dbSnapshot(ctx context.Context, db *sql.DB) map[string]int64 {
	if db == nil {
		return nil
	}
	rows, err := db.QueryContext(ctx, "SHOW GLOBAL STATUS WHERE Variable_name IN ('"+strings.Join(dbCounters, "','")+"')")
	if err != nil {
		return nil
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var name, value string
		if rows.Scan(&name, &value) == nil {
			out[name], _ = strconv.ParseInt(value, 10, 64)
		}
	}
	return out
}

// dbSince returns the counters' change since before.
func dbSince(ctx context.Context, db *sql.DB, before map[string]int64) *DBStats {
	after := dbSnapshot(ctx, db)
	if before == nil || after == nil {
		return nil
	}
	d := func(k string) int64 { return after[k] - before[k] }
	return &DBStats{Commits: d("Com_commit"), RowLockWaits: d("Innodb_row_lock_waits"),
		RowLockMillis: d("Innodb_row_lock_time"), Fsyncs: d("Innodb_data_fsyncs")}
}

// String renders the stats per order of a run that created orders.
func (s *DBStats) String() string {
	if s == nil {
		return "-"
	}
	avg := 0.0
	if s.RowLockWaits > 0 {
		avg = float64(s.RowLockMillis) / float64(s.RowLockWaits)
	}
	return fmt.Sprintf("%d commits, %d row lock waits (%.1f ms each, %.1f s in all), %d fsyncs",
		s.Commits, s.RowLockWaits, avg, float64(s.RowLockMillis)/1000, s.Fsyncs)
}
