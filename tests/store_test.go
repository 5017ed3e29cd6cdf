package tests

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/flashsale/flashsale/internal/proc"
	"github.com/redis/go-redis/v9"
)

// sharedStore is the run's dtm store: a redis-server of its own, without
// persistence but a snapshot a test takes (SAVE) and restarts it from
// (forget). Tests run one at a time, so a test that makes it forget loses
// only the writes made since its own snapshot.
type sharedStore struct {
	dir    string
	port   int
	server *proc.Process
}

// startSharedStore starts the run's dtm store on a free port.
func startSharedStore() (*sharedStore, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "flashsale-it-dtm-")
	if err != nil {
		return nil, err
	}
	port, err := proc.FreePort()
	if err != nil {
		return nil, err
	}
	st := &sharedStore{dir: dir, port: port}
	st.server = &proc.Process{Name: "dtm-store", Path: bin, Log: filepath.Join(dir, "redis.log"),
		Args:  []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir},
		Ready: proc.Redis(st.addr())}
	return st, st.start()
}

func (st *sharedStore) addr() string { return "127.0.0.1:" + strconv.Itoa(st.port) }

// start runs redis-server on the store's port and directory (loading
// dump.rdb when there is one) and waits until it answers.
func (st *sharedStore) start() error {
	return st.server.StartReady(context.Background(), 20*time.Second)
}

// kill SIGKILLs the store and waits for it to be gone.
func (st *sharedStore) kill() { st.server.Kill() }

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
