package rediscache_test

import (
	"errors"
	"testing"
	"time"

	"github.com/dtm-labs/client/dtmcli"
	"github.com/flashsale/flashsale/internal/contract"
	redisv8 "github.com/go-redis/redis/v8"
)

// TestReturnMatchesDTM holds Stock.ReturnUnit, the branch of a cancellation
// message, against dtmcli's RedisCheckAdjustAmount(+1) for a msg branch's
// action, on the same Redis: a first delivery returns the unit and sets the
// barrier; a redelivery changes nothing; with the counter missing neither
// creates it nor sets the barrier (dtmcli answers FAILURE, ours an error;
// either way dtm retries the branch).
func TestReturnMatchesDTM(t *testing.T) {
	e := newEnv(t)
	ttl := int(testBarrierTTL / time.Second)
	cases := []struct {
		name      string
		stock     int
		calls     int
		wantStock string
		wantBar   string
		wantOurs  []bool // returned, per call
	}{
		{"first delivery", 4, 1, "5", contract.BarrierTaken, []bool{true}},
		{"redelivered", 4, 3, "5", contract.BarrierTaken, []bool{true, false, false}},
		{"counter missing", noStock, 1, "missing", contract.BarrierAbsent, []bool{false}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := newOurs(t, e)
			o.setStock(t, tc.stock)
			gid := newGID(t, "R")
			ourBarrier := contract.BranchBarrier(gid)
			e.sweep.add(contract.BarrierKey(o.act, 0, ourBarrier))
			for i, want := range tc.wantOurs {
				got, err := o.s.ReturnUnit(e.ctx, o.act, ourBarrier)
				if tc.stock == noStock {
					if contract.ErrorCode(err) != contract.EUnavailable {
						t.Fatalf("ours: call %d: %v, want EUnavailable", i+1, err)
					}
				} else if err != nil || got != want {
					t.Fatalf("ours: call %d: returned %v, %v; want %v", i+1, got, err, want)
				}
			}
			v, err := o.s.Barrier(e.ctx, o.act, ourBarrier)
			if err != nil {
				t.Fatal(err)
			}
			if o.stock(t) != tc.wantStock || v != tc.wantBar {
				t.Errorf("ours: stock %s, barrier %q; want %s, %q", o.stock(t), v, tc.wantStock, tc.wantBar)
			}

			r := newReference(t, e)
			r.setStock(t, tc.stock)
			rgid := newGID(t, "R")
			for i := 0; i < tc.calls; i++ {
				bb, err := dtmcli.BarrierFrom("msg", rgid, contract.FirstBranch, "action")
				if err != nil {
					t.Fatal(err)
				}
				e.sweep.add(contract.BranchBarrier(rgid))
				err = bb.RedisCheckAdjustAmount(e.rdbV8, r.stockKey, 1, ttl)
				if tc.stock == noStock && !errors.Is(err, dtmcli.ErrFailure) || tc.stock != noStock && err != nil {
					t.Fatalf("dtmcli: call %d: %v", i+1, err)
				}
			}
			rv, err := e.rdbV8.Get(e.ctx, contract.BranchBarrier(rgid)).Result()
			if errors.Is(err, redisv8.Nil) {
				rv, err = "", nil
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.stock(t) != tc.wantStock || rv != tc.wantBar {
				t.Errorf("dtmcli: stock %s, barrier %q; want %s, %q (the key names ReturnBarrier gives)", r.stock(t), rv, tc.wantStock, tc.wantBar)
			}
		})
	}
}
