package tests

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/flashsale/flashsale/internal/api"
	"github.com/flashsale/flashsale/internal/api/apitest"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// TestFairStart: 30 fast shoppers and 30 slow ones (100 ms more on every
// request, a latency toxic on a TCP proxy in front of the shopper port)
// all buy at the opening instant, for 10 units. Without a fair start the
// fast ones take every unit; with one (600 ms, longer than the slow ones'
// delay), the slow ones' share of the units, over three sales, matches
// their half of the buyers.
func TestFairStart(t *testing.T) {
	s := newStack(t)
	srv := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	proxy := toxiproxy.NewProxy(srv, "slow_shoppers", "127.0.0.1:0", strings.TrimPrefix(s.shopperURL(), "http://"))
	if err := proxy.Start(); err != nil {
		t.Fatal(err)
	}
	defer proxy.Stop()
	if _, err := proxy.Toxics.AddToxicJson(strings.NewReader(`{"name":"far","type":"latency","stream":"upstream","toxicity":1,"attributes":{"latency":100}}`)); err != nil {
		t.Fatal(err)
	}
	slowURL := "http://" + proxy.Listen

	// sale runs one sale opening in a second and returns how many units
	// the slow shoppers won.
	sale := func(round int, fairMS int) int {
		const units, each = 10, 30
		start := time.Now().Add(1500 * time.Millisecond)
		p, a := api.SaleAt("fair", units, 0, start, start.Add(time.Hour))
		a.FairStartMS = fairMS
		act := s.Open(p, a).ID
		// Each shopper's connection is open before the start, as a page's.
		hc := &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
		fast, slow := s.Client(apitest.Shopper, s.shopperURL(), hc), s.Client(apitest.Shopper, slowURL, hc)
		var mu sync.Mutex
		won := map[bool]int{}
		var wg sync.WaitGroup
		for i := range 2 * each {
			isSlow := i%2 == 1
			c := fast
			if isSlow {
				c = slow
			}
			user := fmt.Sprintf("r%df%ds%d", round, fairMS, i)
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx, as := t.Context(), s.As(user)
				c.ReadyzWithResponse(ctx) // the connection, before the start
				time.Sleep(time.Until(start))
				var secret string
				if r, err := c.GetSecretWithResponse(ctx, act, nil, as); err == nil && r.JSON200 != nil {
					secret = r.JSON200.Secret
				}
				if r, err := c.BuyWithResponse(ctx, act, nil, api.BuyRequest{Secret: secret}, as); err == nil && r.StatusCode() == http.StatusAccepted {
					mu.Lock()
					won[isSlow]++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if won[true]+won[false] != units {
			t.Fatalf("sale %d: %d units sold of %d (fast %d, slow %d)", act, won[true]+won[false], units, won[false], won[true])
		}
		return won[true]
	}

	without := sale(0, 0)
	var with []int
	total := 0
	for r := 1; r <= 3; r++ {
		n := sale(r, 600)
		with = append(with, n)
		total += n
	}
	t.Logf("units won by the slow half of the shoppers, of 10: without a fair start %d; with one %v (%d of 30)", without, with, total)
	if without > 2 {
		t.Errorf("without a fair start the slow shoppers won %d of 10: the latency did not decide, the test shows nothing", without)
	}
	// Half of 30 expected; 3 standard deviations of the binomial either way.
	if total < 7 || total > 23 {
		t.Errorf("with a fair start the slow shoppers won %d of 30 units; want about 15", total)
	}
}
