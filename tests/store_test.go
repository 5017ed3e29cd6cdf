package tests

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// sharedStore is the run's dtm store: a redis-server of its own, without
// persistence but a snapshot a test takes (SAVE) and restarts it from
// (forget). Tests run one at a time, so a test that makes it forget loses
// only the writes made since its own snapshot.
type sharedStore struct {
	dir  string
	port int
	cmd  *exec.Cmd
}

// startSharedStore starts the run's dtm store on a free port.
func startSharedStore() (*sharedStore, error) {
	dir, err := os.MkdirTemp("", "flashsale-it-dtm-")
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	st := &sharedStore{dir: dir, port: port}
	return st, st.start()
}

func (st *sharedStore) addr() string { return "127.0.0.1:" + strconv.Itoa(st.port) }

// start runs redis-server on the store's port and directory (loading
// dump.rdb when there is one) and waits until it answers.
func (st *sharedStore) start() error {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return err
	}
	log, err := os.OpenFile(filepath.Join(st.dir, "redis.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	st.cmd = exec.Command(bin, "--port", strconv.Itoa(st.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", st.dir)
	st.cmd.Stdout, st.cmd.Stderr = log, log
	if err := st.cmd.Start(); err != nil {
		return err
	}
	c := st.client()
	defer c.Close()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if c.Ping(context.Background()).Err() == nil {
			return nil
		}
	}
	return fmt.Errorf("redis-server on %s does not answer", st.addr())
}

// kill SIGKILLs the store and waits for it to be gone.
func (st *sharedStore) kill() {
	if st.cmd != nil && st.cmd.Process != nil {
		st.cmd.Process.Signal(syscall.SIGKILL)
		st.cmd.Wait()
	}
}

func (st *sharedStore) client() *redis.Client {
	return redis.NewClient(&redis.Options{Addr: st.addr()})
}

// snapshot saves the store's state now: forget returns to it.
func (st *sharedStore) snapshot() error {
	c := st.client()
	defer c.Close()
	if err := c.Save(context.Background()).Err(); err != nil {
		return fmt.Errorf("SAVE: %w", err)
	}
	return os.Rename(filepath.Join(st.dir, "dump.rdb"), filepath.Join(st.dir, "snapshot.rdb"))
}

// forget SIGKILLs the store and restarts it from the snapshot: every
// write acknowledged since is lost, as after a failover to a replica that
// lacked them or a restore from backup.
func (st *sharedStore) forget() error {
	st.kill()
	b, err := os.ReadFile(filepath.Join(st.dir, "snapshot.rdb"))
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(st.dir, "dump.rdb"), b, 0o644); err != nil {
		return err
	}
	return st.start()
}
