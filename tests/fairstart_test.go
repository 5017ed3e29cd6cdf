package tests

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
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
		code, p := s.call("POST", s.adminURL()+"/admin/v1/products", adminToken, map[string]any{"name": "Phone", "price": 5000})
		if code != http.StatusCreated {
			t.Fatalf("product: %d %v", code, p)
		}
		code, a := s.call("POST", s.adminURL()+"/admin/v1/activities", adminToken, map[string]any{"name": "fair", "product_id": p["id"], "price": 100,
			"total": units, "fair_start_ms": fairMS, "start_at": start.UTC().Format(time.RFC3339Nano), "end_at": start.Add(time.Hour).UTC().Format(time.RFC3339Nano)})
		if code != http.StatusCreated {
			t.Fatalf("activity: %d %v", code, a)
		}
		act := int64(a["id"].(float64))
		hc := &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
		// Each shopper's connection is open before the start, as a page's.
		var mu sync.Mutex
		won := map[bool]int{}
		var wg sync.WaitGroup
		for i := range 2 * each {
			slow := i%2 == 1
			base := s.shopperURL()
			if slow {
				base = slowURL
			}
			user := fmt.Sprintf("r%df%ds%d", round, fairMS, i)
			wg.Add(1)
			go func() {
				defer wg.Done()
				do := func(method, url string, body any) (int, map[string]any) {
					b, _ := json.Marshal(body)
					req, _ := http.NewRequest(method, url, bytes.NewReader(b))
					req.Header.Set("Authorization", "Bearer "+token(user))
					resp, err := hc.Do(req)
					if err != nil {
						return 0, nil
					}
					defer resp.Body.Close()
					var out map[string]any
					json.NewDecoder(resp.Body).Decode(&out)
					return resp.StatusCode, out
				}
				do("GET", base+"/readyz", nil) // the connection, before the start
				time.Sleep(time.Until(start))
				_, sec := do("GET", fmt.Sprintf("%s/api/v1/activities/%d/secret", base, act), nil)
				code, _ := do("POST", fmt.Sprintf("%s/api/v1/activities/%d/buy", base, act), map[string]any{"secret": sec["secret"]})
				if code == http.StatusAccepted {
					mu.Lock()
					won[slow]++
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
