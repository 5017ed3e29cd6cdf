package flashsale

import (
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/contract"
)

func TestActivityStatus(t *testing.T) {
	start := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	a := Activity{StartAt: start, EndAt: start.Add(time.Hour)}
	tests := []struct {
		at      time.Time
		soldOut bool
		want    string
		open    string
	}{
		{start.Add(-time.Nanosecond), false, StatusUpcoming, contract.ENotStarted},
		{start, false, StatusOpen, ""},
		{start, true, StatusSoldOut, ""},
		{start.Add(time.Hour - time.Nanosecond), false, StatusOpen, ""},
		{start.Add(time.Hour), true, StatusEnded, contract.EEnded},
	}
	for _, tt := range tests {
		if got := a.Status(tt.at, tt.soldOut); got != tt.want {
			t.Errorf("Status(%s, %v) = %s, want %s", tt.at, tt.soldOut, got, tt.want)
		}
		if got := contract.ErrorCode(a.CheckOpen(tt.at)); got != tt.open {
			t.Errorf("CheckOpen(%s) = %q, want %q", tt.at, got, tt.open)
		}
	}
}
