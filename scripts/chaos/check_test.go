package main

import (
	"strings"
	"testing"

	"github.com/dtm-labs/client/dtmcli"
	"github.com/flashsale/flashsale/internal/contract"
)

// TestAdjustmentViolations runs A2 on stores made up to hold each fault it
// must find, and on a sale that keeps every promise.
func TestAdjustmentViolations(t *testing.T) {
	gid := func(delta int, req string) string {
		return contract.Adjustment{ActivityID: 7, Delta: delta, RequestID: req}.GID()
	}
	add5, rm3, huge := gid(5, "a"), gid(-3, "b"), gid(-400, "c")
	told := func(kind string, delta int, req string, code int, status string) adjustment {
		return adjustment{kind: kind, requestID: req, delta: delta, gid: gid(delta, req), code: code, status: status}
	}
	sent := []adjustment{
		told(adjAdd, 5, "a", 200, dtmcli.StatusSucceed),
		told(adjRemove, -3, "b", 503, ""), // not told, applied all the same
		told(adjReplay, 5, "a", 200, dtmcli.StatusSucceed),
		told(adjTooLarge, -400, "c", 409, ""),
		told(adjRetry, -3, "b", 202, dtmcli.StatusSubmitted),
	}
	good := func() adjustmentState {
		return adjustmentState{
			act:    7,
			status: map[string]string{add5: dtmcli.StatusSucceed, rm3: dtmcli.StatusSucceed, huge: dtmcli.StatusFailed},
			rows:   map[string]int{add5: 5, rm3: -3},
			total:  302, activityTotal: 302,
		}
	}
	for _, tc := range []struct {
		name   string
		change func(*adjustmentState)
		want   string
	}{
		{"every promise kept", func(*adjustmentState) {}, ""},
		{"told succeed, failed", func(st *adjustmentState) {
			st.status[add5], st.total, st.activityTotal = dtmcli.StatusFailed, 297, 297
			delete(st.rows, add5)
		}, "A2 1 adjustments told 200 succeed or 202 did not succeed on the dtm server gids=" + add5 + " (told 200 succeed, failed)"},
		{"told 202, failed", func(st *adjustmentState) {
			st.status[rm3], st.total, st.activityTotal = dtmcli.StatusFailed, 305, 305
			delete(st.rows, rm3)
		}, "gids=" + rm3 + " (told 202 submitted, failed)"},
		{"applied twice", func(st *adjustmentState) { st.total, st.activityTotal = 307, 307 }, "A2 total 307 != 300 created + 2 from the 2 adjustments that succeeded"},
		{"not applied", func(st *adjustmentState) { st.total = 300 }, "A2 total 300 != 300 created + 2"},
		{"the two totals apart", func(st *adjustmentState) { st.activityTotal = 305 }, "A2 activities.total 305 != activity_stock.total 302"},
		{"too large applied", func(st *adjustmentState) { st.status[huge] = dtmcli.StatusSucceed }, "A2 1 removals of more units than the sale ever had succeeded gids=" + huge},
		{"no row", func(st *adjustmentState) { delete(st.rows, rm3) }, "A2 1 adjustments that succeeded have no stock_adjustments row gids=" + rm3},
		{"row of a failed one", func(st *adjustmentState) { st.rows[huge] = -400 }, "A2 1 stock_adjustments rows of no adjustment that succeeded with that delta gids=" + huge + " (failed, delta -400)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := good()
			tc.change(&st)
			got := strings.Join(st.violations(300, sent), "\n")
			switch {
			case tc.want == "" && got != "":
				t.Fatalf("violations:\n%s\nwant none", got)
			case !strings.Contains(got, tc.want):
				t.Fatalf("violations:\n%s\nwant one with %q", got, tc.want)
			}
		})
	}
}
