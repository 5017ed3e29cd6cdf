package barriersql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/testenv"
	_ "github.com/glebarez/go-sqlite"
	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"
)

func TestStatements(t *testing.T) {
	for _, d := range []string{"mysql", "postgres", "sqlite"} {
		stmts, err := Statements(d)
		if err != nil || len(stmts) < 5 {
			t.Fatalf("%s: %d statements, %v", d, len(stmts), err)
		}
	}
	if _, err := Statements("oracle"); err == nil {
		t.Fatal("an unknown dialect has a schema")
	}
}

// TestMigrateMySQL applies the schema twice to a fresh database and checks
// the unique indexes the promises rest on.
func TestMigrateMySQL(t *testing.T) {
	ctx := context.Background()
	db, err := sql.Open("mysql", testenv.MySQLDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for i := 0; i < 2; i++ {
		if err := Migrate(ctx, db, "mysql"); err != nil {
			t.Fatalf("migrate #%d: %v", i+1, err)
		}
	}
	mustExec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.Exec(q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	insertOrder := "INSERT INTO orders (gid, activity_id, user_id, product_id, price, status) VALUES (?, ?, ?, 1, 1, 'created')"
	mustExec(insertOrder, "g1", 1, "u1")
	dup := func(q string, args ...any) {
		t.Helper()
		_, err := db.Exec(q, args...)
		var me *mysql.MySQLError
		if !errors.As(err, &me) || me.Number != 1062 {
			t.Fatalf("%s %v: err %v, want a duplicate key error", q, args, err)
		}
	}
	dup(insertOrder, "g2", 1, "u1") // same (activity, user)
	dup(insertOrder, "g1", 2, "u2") // same gid
	barrier := "INSERT IGNORE INTO " + BarrierTable + " (trans_type, gid, branch_id, op, barrier_id, reason) VALUES ('msg', 'g1', '01', 'action', '01', 'action')"
	for i, want := range []int64{1, 0} {
		res, err := db.Exec(barrier)
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := res.RowsAffected(); n != want {
			t.Fatalf("barrier insert #%d affected %d rows, want %d", i+1, n, want)
		}
	}
	mustExec("INSERT INTO activity_stock (activity_id, total, stock) VALUES (1, 2, 2)")
	if _, err := db.Exec("UPDATE activity_stock SET stock = -1 WHERE activity_id = 1"); err == nil {
		t.Fatal("DB stock went below zero")
	}
}

// TestMigratePostgres applies the Postgres schema twice in a fresh schema.
func TestMigratePostgres(t *testing.T) {
	addr := testenv.Server(t, "POSTGRES_ADDR", "127.0.0.1:5432")
	host, port, _ := net.SplitHostPort(addr)
	db, err := sql.Open("pgx", fmt.Sprintf("host=%s port=%s user=%s dbname=postgres sslmode=disable", host, port, envOr("POSTGRES_USER", "postgres")))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	schema := fmt.Sprintf("fs_migrate_%d", time.Now().UnixNano())
	if _, err := conn.ExecContext(ctx, "CREATE SCHEMA "+schema+"; SET search_path TO "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() { db.Exec("DROP SCHEMA " + schema + " CASCADE") })
	stmts, err := Statements("postgres")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		for _, s := range stmts {
			if _, err := conn.ExecContext(ctx, s); err != nil {
				t.Fatalf("migrate #%d: %v\n%s", i+1, err, s)
			}
		}
	}
	ins := "INSERT INTO barrier (trans_type, gid, branch_id, op, barrier_id, reason) VALUES ('msg', 'g1', '01', 'action', '01', 'action') ON CONFLICT ON CONSTRAINT uniq_barrier DO NOTHING"
	for i, want := range []int64{1, 0} {
		res, err := conn.ExecContext(ctx, ins)
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := res.RowsAffected(); n != want {
			t.Fatalf("barrier insert #%d affected %d rows, want %d", i+1, n, want)
		}
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// TestMigrateSQLite applies the embedded schema twice and checks the unique
// indexes and the barrier's INSERT OR IGNORE.
func TestMigrateSQLite(t *testing.T) {
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for i := 0; i < 2; i++ {
		if err := Migrate(context.Background(), db, "sqlite"); err != nil {
			t.Fatalf("migrate #%d: %v", i+1, err)
		}
	}
	insertOrder := "INSERT INTO orders (gid, activity_id, user_id, product_id, price, status) VALUES (?, ?, ?, 1, 1, 'created')"
	if _, err := db.Exec(insertOrder, "g1", 1, "u1"); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]any{{"g2", 1, "u1"}, {"g1", 2, "u2"}} {
		if _, err := db.Exec(insertOrder, args...); err == nil {
			t.Fatalf("duplicate order %v inserted", args)
		}
	}
	ins := "INSERT OR IGNORE INTO barrier (trans_type, gid, branch_id, op, barrier_id, reason) VALUES ('msg', 'g1', '01', 'action', '01', 'action')"
	for i, want := range []int64{1, 0} {
		res, err := db.Exec(ins)
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := res.RowsAffected(); n != want {
			t.Fatalf("barrier insert #%d affected %d rows, want %d", i+1, n, want)
		}
	}
}

// TestMigrateAddsShards: a database whose activities table predates the
// shards column gains it, and its activities read as one shard each.
func TestMigrateAddsShards(t *testing.T) {
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	old := `CREATE TABLE activities (id INTEGER PRIMARY KEY, name TEXT NOT NULL, product_id INTEGER NOT NULL,
	  price INTEGER NOT NULL, total INTEGER NOT NULL, start_at DATETIME NOT NULL, end_at DATETIME NOT NULL,
	  pay_timeout_seconds INTEGER NOT NULL DEFAULT 900, created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP)`
	if _, err := db.Exec(old); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("INSERT INTO activities (name, product_id, price, total, start_at, end_at) VALUES ('a', 1, 1, 5, '2026-01-01', '2026-01-02')"); err != nil {
		t.Fatal(err)
	}
	if err := Migrate(context.Background(), db, "sqlite"); err != nil {
		t.Fatal(err)
	}
	var shards int
	if err := db.QueryRow("SELECT shards FROM activities").Scan(&shards); err != nil || shards != 1 {
		t.Fatalf("shards of the old activity: %d, %v; want 1", shards, err)
	}
}
