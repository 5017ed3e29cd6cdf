// Package testenv finds the servers that tests need: a test that needs one
// that is absent is skipped with the reason, or fails when CI=true (CI
// always provides them). It also hands tests free ports.
package testenv

import (
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/proc"
	"github.com/go-sql-driver/mysql"
)

// Server returns the address in env var key (default def) when a server
// listens there; otherwise it skips t, or fails it when CI=true.
func Server(t testing.TB, key, def string) string {
	t.Helper()
	addr := os.Getenv(key)
	if addr == "" {
		addr = def
	}
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true and no server at %s (%s): %v", addr, key, err)
		}
		t.Skipf("no server at %s (%s): %v", addr, key, err)
	}
	c.Close()
	return addr
}

// Program returns the path of the program name on PATH; otherwise it skips
// t, or fails it when CI=true. why says what the test runs it for.
func Program(t testing.TB, name, why string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true and no %s program (%s): %v", name, why, err)
		}
		t.Skipf("no %s program (%s): %v", name, why, err)
	}
	return path
}

// MySQLDSN creates a fresh database on the MySQL/MariaDB server at
// MYSQL_ADDR (default 127.0.0.1:3306, user root or MYSQL_USER), drops it
// when t ends, and returns its DSN.
func MySQLDSN(t testing.TB) string {
	t.Helper()
	cfg := mysql.NewConfig()
	cfg.Net, cfg.Addr = "tcp", Server(t, "MYSQL_ADDR", "127.0.0.1:3306")
	cfg.User, cfg.Passwd = "root", os.Getenv("MYSQL_PASSWORD")
	if u := os.Getenv("MYSQL_USER"); u != "" {
		cfg.User = u
	}
	admin, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("fs_test_%d", time.Now().UnixNano())
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		admin.Exec("DROP DATABASE " + name)
		admin.Close()
	})
	cfg.DBName = name
	cfg.ParseTime = true
	return cfg.FormatDSN()
}

// FreePort returns a TCP port free now (proc.FreePort), or fails t.
func FreePort(t testing.TB) int {
	t.Helper()
	port, err := proc.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return port
}
