package contract

import (
	"strconv"
	"testing"
)

func TestShardsHomeSpreadsAndShares(t *testing.T) {
	s := Shards{Activity: 7, N: 6}
	seen := map[int]int{}
	for i := 0; i < 6000; i++ {
		g := PurchaseGID(7, "u"+strconv.Itoa(i))
		h := s.Home(g)
		if h != s.Home(g) || h < 0 || h >= 6 {
			t.Fatalf("home of %s: %d", g, h)
		}
		seen[h]++
	}
	for k := 0; k < 6; k++ {
		if seen[k] < 800 || seen[k] > 1200 {
			t.Errorf("shard %d is home of %d of 6000 gids", k, seen[k])
		}
	}
	var sum int64
	for k := 0; k < 6; k++ {
		sum += s.Share(3001, k)
	}
	if sum != 3001 || s.Share(3001, 0) != 501 || s.Share(3001, 1) != 500 {
		t.Errorf("shares of 3001 over 6: sum %d, first %d, second %d", sum, s.Share(3001, 0), s.Share(3001, 1))
	}
	if (Shards{Activity: 7, N: 1}).Home("x") != 0 || StockKey(7, 0) != "{fs:7}:stock" || StockKey(7, 3) != "{fs:7:3}:stock" {
		t.Error("shard 0 must keep the one-shard layout")
	}
	if k, ok := NextShard("next:5"); !ok || k != 5 {
		t.Error("next:5")
	}
	for _, v := range []string{"op", "rollback", "next:", "next:64", "next:-1"} {
		if _, ok := NextShard(v); ok {
			t.Errorf("%q read as a link", v)
		}
	}
}
