package flashsale

import (
	"testing"
	"time"
)

func TestParseGID(t *testing.T) {
	tests := []struct {
		gid  string
		act  int64
		user string
		ok   bool
	}{
		{"flash-sale-7-alice", 7, "alice", true},
		{"flash-sale-7-user_10", 7, "user_10", true},
		{GID(123456789, "Zz9"), 123456789, "Zz9", true},
		{"flash-sale-7-a-b", 0, "", false},
		{"flash-sale-0-alice", 0, "", false},
		{"flash-sale--1-alice", 0, "", false},
		{"flash-sale-x-alice", 0, "", false},
		{"flash-sale-7-", 0, "", false},
		{"flash-sale-cancel-7-alice", 0, "", false},
		{"other-7-alice", 0, "", false},
	}
	for _, tt := range tests {
		act, user, err := ParseGID(tt.gid)
		if (err == nil) != tt.ok || act != tt.act || user != tt.user {
			t.Errorf("ParseGID(%q) = %d, %q, %v", tt.gid, act, user, err)
		}
	}
}

func TestActivityStatus(t *testing.T) {
	start := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	a := Activity{StartAt: start, EndAt: start.Add(time.Hour)}
	tests := []struct {
		at      time.Time
		soldOut bool
		want    string
		open    string
	}{
		{start.Add(-time.Nanosecond), false, StatusUpcoming, ENotStarted},
		{start, false, StatusOpen, ""},
		{start, true, StatusSoldOut, ""},
		{start.Add(time.Hour - time.Nanosecond), false, StatusOpen, ""},
		{start.Add(time.Hour), true, StatusEnded, EEnded},
	}
	for _, tt := range tests {
		if got := a.Status(tt.at, tt.soldOut); got != tt.want {
			t.Errorf("Status(%s, %v) = %s, want %s", tt.at, tt.soldOut, got, tt.want)
		}
		if got := ErrorCode(a.CheckOpen(tt.at)); got != tt.open {
			t.Errorf("CheckOpen(%s) = %q, want %q", tt.at, got, tt.open)
		}
	}
}
