package main

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
)

// database is the run's own database on the shared MySQL/MariaDB server,
// dropped when the run ends.
type database struct {
	name  string
	dsn   string // the services' DSN
	port  int    // the server's port, to find the services' connections
	db    *sql.DB
	admin *sql.DB
}

// newDatabase creates a fresh database on the server at addr.
func newDatabase(ctx context.Context, addr, user, password string) (*database, error) {
	cfg := mysql.NewConfig()
	cfg.Net, cfg.Addr, cfg.User, cfg.Passwd = "tcp", addr, user, password
	cfg.ParseTime = true
	cfg.Timeout = 5 * time.Second
	admin, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		return nil, err
	}
	d := &database{name: fmt.Sprintf("fs_chaos_%d_%d", time.Now().Unix(), os.Getpid()), admin: admin}
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+d.name); err != nil {
		admin.Close()
		return nil, fmt.Errorf("create the run's database on %s: %w", addr, err)
	}
	cfg.DBName = d.name
	d.dsn = cfg.FormatDSN()
	_, port, _ := net.SplitHostPort(addr)
	d.port, _ = strconv.Atoi(port)
	if d.db, err = sql.Open("mysql", d.dsn); err != nil {
		d.drop()
		return nil, err
	}
	// The server is shared, and its connections are few (151 by default):
	// the run's own checks take little of them.
	admin.SetMaxOpenConns(2)
	d.db.SetMaxOpenConns(4)
	return d, nil
}

// drop drops the database and closes the handles.
func (d *database) drop() {
	if d.db != nil {
		d.db.Close()
	}
	d.admin.Exec("DROP DATABASE IF EXISTS " + d.name)
	d.admin.Close()
}

// killConnections runs KILL CONNECTION on every connection that process pid
// holds to the server, and returns how many it killed. The connections are
// found by their client port: the process's TCP sockets (its descriptors'
// inodes in /proc) to the server's port, matched to the HOST column of the
// server's process list.
func (d *database) killConnections(ctx context.Context, pid int) (int, error) {
	ports, err := clientPorts(pid, d.port)
	if err != nil {
		return 0, err
	}
	rows, err := d.admin.QueryContext(ctx, "SELECT ID, HOST FROM information_schema.PROCESSLIST WHERE DB = ?", d.name)
	if err != nil {
		return 0, err
	}
	var ids []int64
	for rows.Next() {
		var id int64
		var host string
		if err := rows.Scan(&id, &host); err != nil {
			rows.Close()
			return 0, err
		}
		if _, p, err := net.SplitHostPort(host); err == nil && ports[p] {
			ids = append(ids, id)
		}
	}
	rows.Close()
	n := 0
	for _, id := range ids {
		if _, err := d.admin.ExecContext(ctx, fmt.Sprintf("KILL CONNECTION %d", id)); err == nil {
			n++
		}
	}
	return n, nil
}

// clientPorts returns the local ports of pid's TCP connections to
// serverPort, read from /proc (Linux).
func clientPorts(pid, serverPort int) (map[string]bool, error) {
	fds, err := filepath.Glob(fmt.Sprintf("/proc/%d/fd/*", pid))
	if err != nil {
		return nil, err
	}
	inodes := map[string]bool{}
	for _, fd := range fds {
		if l, err := os.Readlink(fd); err == nil && strings.HasPrefix(l, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]")] = true
		}
	}
	ports := map[string]bool{}
	for _, table := range []string{"tcp", "tcp6"} {
		f, err := os.Open(fmt.Sprintf("/proc/%d/net/%s", pid, table))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
			fs := strings.Fields(sc.Text())
			if len(fs) < 10 || !inodes[fs[9]] {
				continue
			}
			if hexPort(fs[2]) == serverPort {
				ports[strconv.Itoa(hexPort(fs[1]))] = true
			}
		}
		f.Close()
	}
	return ports, nil
}

// hexPort reads the port of a /proc/net/tcp address, "0100007F:0CEA".
func hexPort(addr string) int {
	i := strings.LastIndexByte(addr, ':')
	n, _ := strconv.ParseInt(addr[i+1:], 16, 32)
	return int(n)
}
