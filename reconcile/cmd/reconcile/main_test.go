package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dtm-labs/client/dtmcli"
	barriersql "github.com/flashsale/flashsale/barrier_sql"
	"github.com/flashsale/flashsale/flashsale/rediscache"
	"github.com/flashsale/flashsale/internal/contract"
	"github.com/flashsale/flashsale/internal/testenv"
	"github.com/redis/go-redis/v9"
)

// fakeDTM serves the two calls of the dtm admin API that reconciliation
// reads, /all and /query, from a map of gid -> status.
type fakeDTM struct {
	mu   sync.Mutex // mu guards msgs
	msgs map[string]string
}

func (f *fakeDTM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	type trans struct {
		Gid    string `json:"gid"`
		Status string `json:"status"`
	}
	switch r.URL.Path {
	case "/api/dtmsvr/all":
		var out []trans
		for g, st := range f.msgs {
			out = append(out, trans{g, st})
		}
		json.NewEncoder(w).Encode(map[string]any{"transactions": out, "next_position": ""})
	case "/api/dtmsvr/query":
		var t *trans
		if st, ok := f.msgs[r.URL.Query().Get("gid")]; ok {
			t = &trans{r.URL.Query().Get("gid"), st}
		}
		json.NewEncoder(w).Encode(map[string]any{"transaction": t})
	default:
		http.NotFound(w, r)
	}
}

// world is one activity across a real Redis and MySQL and a fake dtm API.
type world struct {
	t     *testing.T
	act   int64
	db    *sql.DB
	rdb   *redis.Client
	dtm   *fakeDTM
	env   map[string]string
	stock *rediscache.Stock
}

func newWorld(t *testing.T, total int) *world {
	t.Helper()
	redisAddr := testenv.Server(t, "REDIS_ADDR", "127.0.0.1:6379")
	dsn := testenv.MySQLDSN(t)
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := barriersql.Migrate(context.Background(), db, "mysql"); err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, act: 1 + rand.Int64N(1<<40), db: db, dtm: &fakeDTM{msgs: map[string]string{}}}
	w.rdb = redis.NewClient(&redis.Options{Addr: redisAddr})
	w.stock = rediscache.NewStock(w.rdb, time.Hour, rediscache.OneShard)
	srv := httptest.NewServer(w.dtm)
	t.Cleanup(func() {
		srv.Close()
		ctx := context.Background()
		it := w.rdb.Scan(ctx, 0, fmt.Sprintf("{fs:%d}:*", w.act), 1000).Iterator()
		for it.Next(ctx) {
			w.rdb.Del(ctx, it.Val())
		}
		w.rdb.Close()
	})
	w.env = map[string]string{"REDIS_ADDR": redisAddr, "MYSQL_DSN": dsn, "DTM_SERVER": srv.URL + "/api/dtmsvr"}
	w.exec("INSERT INTO activity_stock (activity_id, total, stock) VALUES (?, ?, ?)", w.act, total, total)
	if err := w.stock.Preheat(context.Background(), w.act, 1, total); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *world) exec(q string, args ...any) {
	w.t.Helper()
	if _, err := w.db.Exec(q, args...); err != nil {
		w.t.Fatal(err)
	}
}

// sell runs a whole purchase of user: the Lua step, the message, the order.
func (w *world) sell(user string) {
	w.t.Helper()
	gid := contract.PurchaseGID(w.act, user)
	if err := w.stock.Take(context.Background(), w.act, contract.MsgBarrier(gid)); err != nil {
		w.t.Fatal(err)
	}
	w.dtm.msgs[gid] = dtmcli.StatusSucceed
	w.order(user)
}

// order inserts user's order and takes its unit of DB stock.
func (w *world) order(user string) {
	w.t.Helper()
	w.exec("INSERT INTO orders (gid, activity_id, user_id, product_id, price, status) VALUES (?, ?, ?, 1, 100, 'created')",
		contract.PurchaseGID(w.act, user), w.act, user)
	w.exec("UPDATE activity_stock SET stock = stock - 1 WHERE activity_id = ?", w.act)
}

func (w *world) run(args ...string) (string, error) {
	var out bytes.Buffer
	err := run(context.Background(), append([]string{"-activity", fmt.Sprint(w.act)}, args...), func(k string) string { return w.env[k] }, &out)
	return out.String(), err
}

func TestReconcile(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		w := newWorld(t, 5)
		w.sell("alice")
		w.sell("bob")
		out, err := w.run()
		if err != nil {
			t.Fatalf("run: %v\n%s", err, out)
		}
		if !strings.Contains(out, "total 5, Redis stock 3, DB stock 3, live orders 2") {
			t.Fatalf("report:\n%s", out)
		}
	})
	t.Run("OrderWithoutMessage", func(t *testing.T) {
		w := newWorld(t, 5)
		w.sell("alice")
		w.order("mallory") // no Lua step, no message
		out, err := w.run()
		if !errors.Is(err, errBroken) {
			t.Fatalf("run: %v, want errBroken\n%s", err, out)
		}
		for _, want := range []string{"I2 Redis stock 4 + live orders 2 != total 5", "I4 1 orders without a succeeded message gids=" + contract.PurchaseGID(w.act, "mallory"), "orders="} {
			if !strings.Contains(out, want) {
				t.Errorf("report lacks %q:\n%s", want, out)
			}
		}
	})
	t.Run("DBStockTakenTwice", func(t *testing.T) {
		w := newWorld(t, 5)
		w.sell("alice")
		w.exec("UPDATE activity_stock SET stock = stock - 1 WHERE activity_id = ?", w.act)
		out, err := w.run()
		if !errors.Is(err, errBroken) || !strings.Contains(out, "I5 DB stock 3 != total 5 - live orders 1") {
			t.Fatalf("run: %v\n%s", err, out)
		}
	})
	t.Run("TwoOrdersOfOneUserImpossible", func(t *testing.T) {
		// I3 is a unique index: the second order cannot even be written.
		w := newWorld(t, 5)
		w.sell("alice")
		_, err := w.db.Exec("INSERT INTO orders (gid, activity_id, user_id, product_id, price, status) VALUES ('x', ?, 'alice', 1, 100, 'created')", w.act)
		if err == nil {
			t.Fatal("a second order of one user was inserted")
		}
	})
	t.Run("UnitTakenWithoutOrder", func(t *testing.T) {
		w := newWorld(t, 5)
		gid := contract.PurchaseGID(w.act, "carol")
		if err := w.stock.Take(context.Background(), w.act, contract.MsgBarrier(gid)); err != nil {
			t.Fatal(err)
		}
		w.dtm.msgs[gid] = dtmcli.StatusFailed
		out, err := w.run()
		if !errors.Is(err, errBroken) || !strings.Contains(out, "I4 1 units taken in Redis without an order gids="+gid) {
			t.Fatalf("run: %v\n%s", err, out)
		}
	})
	t.Run("Unsettled", func(t *testing.T) {
		w := newWorld(t, 5)
		gid := contract.PurchaseGID(w.act, "dave")
		if err := w.stock.Take(context.Background(), w.act, contract.MsgBarrier(gid)); err != nil {
			t.Fatal(err)
		}
		w.dtm.msgs[gid] = dtmcli.StatusSubmitted
		out, err := w.run()
		if !errors.Is(err, errBroken) || !strings.Contains(out, "unsettled: 1 messages still prepared or submitted: gids="+gid) {
			t.Fatalf("run: %v\n%s", err, out)
		}
	})
	t.Run("JSON", func(t *testing.T) {
		w := newWorld(t, 5)
		w.sell("erin")
		out, err := w.run("-json")
		if err != nil {
			t.Fatal(err)
		}
		var r struct {
			Total      int   `json:"total"`
			LiveOrders int   `json:"live_orders"`
			Violations []any `json:"violations"`
		}
		if err := json.Unmarshal([]byte(out), &r); err != nil || r.Total != 5 || r.LiveOrders != 1 || len(r.Violations) != 0 {
			t.Fatalf("JSON report %q: %+v %v", out, r, err)
		}
	})
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{{}, {"-activity", "x"}, {"-activity", "0"}, {"-nope"}} {
		err := run(context.Background(), args, func(string) string { return "" }, &bytes.Buffer{})
		if err == nil || errors.Is(err, errBroken) {
			t.Errorf("run(%q) = %v, want a usage error", args, err)
		}
	}
}
