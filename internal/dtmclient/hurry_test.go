package dtmclient_test

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"testing"

	"github.com/flashsale/flashsale/internal/dtmclient"
)

// TestHurry: every backed-off transaction of every group is hurried, page
// after page; the services leave the back-checks of prepared messages on
// their schedule (they hurry only what is due after HurryAfter), an
// operator's hurry takes everything.
func TestHurry(t *testing.T) {
	a, b := newFakeDTM(t), newFakeDTM(t)
	a.backOff(25000)
	b.backOff(3)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if n := dtmclient.HurryRetries(context.Background(), a.api()+","+b.api(), log); n != 25003 {
		t.Errorf("hurried %d transactions, want 25003", n)
	}
	services := strconv.Itoa(dtmclient.HurryAfter)
	if got := a.hurries(); !slices.Equal(got, []string{services, services, services}) || len(b.hurries()) != 1 {
		t.Errorf("resetCronTime calls: %v and %v, want 3 and 1 with timeout %s", got, b.hurries(), services)
	}

	a.backOff(2)
	if n, err := dtmclient.Hurry(context.Background(), nil, a.api(), 0); n != 2 || err != nil || a.hurries()[3] != "0" {
		t.Errorf("an operator's hurry: %d, %v (timeouts %v)", n, err, a.hurries())
	}
}
