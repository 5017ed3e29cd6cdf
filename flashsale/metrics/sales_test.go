package metrics

import (
	"testing"
	"time"
)

func TestSales(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	s := NewSales(func() time.Time { return now })
	s.Record(0, "accepted", "") // no activity: not tallied
	s.Record(1, "accepted", "")
	s.Record(1, "accepted", "")
	s.Record(1, "bad_secret", "secret")
	now = now.Add(time.Second)
	s.Record(1, "sold_out", "sold_out")
	s.Record(2, "accepted", "")
	now = now.Add(time.Second)

	got := s.Snapshot(1)
	if got.Outcomes["accepted"] != 2 || got.Outcomes["bad_secret"] != 1 || got.Outcomes["sold_out"] != 1 || len(got.Outcomes) != 3 {
		t.Errorf("outcomes %v", got.Outcomes)
	}
	if got.Rejections["secret"] != 1 || got.Rejections["sold_out"] != 1 || len(got.Rejections) != 2 {
		t.Errorf("rejections %v", got.Rejections)
	}
	n := len(got.PerSecond)
	if n != window || got.PerSecond[n-2] != 3 || got.PerSecond[n-1] != 1 || got.AcceptedPerSecond[n-2] != 2 || got.AcceptedPerSecond[n-1] != 0 {
		t.Errorf("per second: last two %v, accepted %v", got.PerSecond[n-2:], got.AcceptedPerSecond[n-2:])
	}
	if s.Snapshot(0).Outcomes["accepted"] != 0 || len(s.Snapshot(3).Outcomes) != 0 {
		t.Error("activities 0 or 3 have a tally")
	}

	// A minute later the seconds have left the window; the totals stay.
	now = now.Add(window * time.Second)
	s.Record(1, "accepted", "")
	now = now.Add(time.Second)
	got = s.Snapshot(1)
	var sum int64
	for _, v := range got.PerSecond {
		sum += v
	}
	if sum != 1 || got.Outcomes["accepted"] != 3 {
		t.Errorf("after a minute: %d buys in the window (want 1), accepted %d (want 3)", sum, got.Outcomes["accepted"])
	}
}
