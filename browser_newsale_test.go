package main

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/flashsale/flashsale/internal/api"
)

// newSaleInView is an operator creating a sale with the sale view's New
// sale form (a new product, two shards, two minutes to pay), refused once
// for an end before the start, the refusal shown beside End; then a
// shopper buying in that sale on the shopper page. With
// FLASHSALE_UPDATE_SCREENSHOTS=1 the refused form is
// docs/images/new-sale.png.
func newSaleInView(t *testing.T, ctx context.Context, s *sale, shots string) {
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	// Open from a minute ago, so the shopper buys at once; the form takes
	// the browser's local time, to the second.
	start := time.Now().Add(-time.Minute).Truncate(time.Second)
	local := func(at time.Time) string { return at.Local().Format("2006-01-02T15:04:05") }
	const name, user = "Kettle hour", "erin"

	var refusal string
	var invalid int
	step(t, ctx, "fill the New sale form with the end before the start, and see it refused beside End",
		chromedp.Navigate(s.adm+"/#token="+testAdmin),
		chromedp.WaitVisible(`#new-sale-open`),
		chromedp.Click(`#new-sale-open`),
		chromedp.WaitVisible(`#new-sale-form`),
		chromedp.SendKeys(`#ns-product-name`, "Steel kettle"),
		chromedp.SendKeys(`#ns-product-price`, "4000"),
		chromedp.SendKeys(`#ns-product-description`, "1.7 litres, for the operator's test."),
		chromedp.SendKeys(`#ns-name`, name),
		chromedp.SendKeys(`#ns-price`, "2500"),
		chromedp.SendKeys(`#ns-total`, "4"),
		chromedp.SetValue(`#ns-start`, local(start)),
		chromedp.SetValue(`#ns-end`, local(start.Add(-time.Hour))),
		chromedp.SetValue(`#ns-pay`, "120"),
		chromedp.SetValue(`#ns-shards`, "2"),
		chromedp.SetValue(`#ns-fair`, "300"),
		chromedp.Click(`#new-sale-create`),
		chromedp.WaitVisible(`label[data-field="end_at"].invalid .field-error`),
		chromedp.Text(`label[data-field="end_at"] .field-error`, &refusal),
		chromedp.Evaluate(`document.querySelectorAll('#new-sale-form label.invalid').length`, &invalid),
		screenshot(shots, "10-new-sale-refused.png"),
		docImage("new-sale.png"),
	)
	if refusal != "end_at must be after start_at" || invalid != 1 {
		t.Fatalf("the refusal beside End is %q, %d field(s) marked; want the API's \"end_at must be after start_at\" on End alone", refusal, invalid)
	}

	var created string
	step(t, ctx, "set the end an hour after the start, create the sale, and see it listed",
		chromedp.SetValue(`#ns-end`, local(start.Add(time.Hour))),
		chromedp.Click(`#new-sale-create`),
		chromedp.WaitVisible(`#new-sale-result.ok`),
		chromedp.AttributeValue(`#new-sale-result`, "data-activity", &created, nil),
	)
	act, err := strconv.ParseInt(created, 10, 64)
	if err != nil {
		t.Fatalf("the form's result names no activity (%q)", created)
	}
	step(t, ctx, "the view shows the new sale",
		chromedp.Poll(fmt.Sprintf(`document.getElementById('activity').value === '%d' && document.querySelector('#activity option:checked').textContent.includes(%q)`, act, name),
			nil, chromedp.WithPollingTimeout(10*time.Second)),
		chromedp.Poll(`document.getElementById('total').textContent === '4'`, nil, chromedp.WithPollingTimeout(10*time.Second)),
		screenshot(shots, "11-new-sale-created.png"),
	)
	if st := s.Stats(act); st.Total != 4 || len(st.Shards) != 2 {
		t.Fatalf("the sale made by the form has %d units over %d shard(s), want 4 over 2", st.Total, len(st.Shards))
	}

	step(t, ctx, "a shopper buys in it",
		chromedp.Navigate(s.shop+"/#token="+s.Token(user)),
		chromedp.WaitVisible(fmt.Sprintf(`a[data-activity="%d"]`, act)),
		chromedp.Click(fmt.Sprintf(`a[data-activity="%d"]`, act)),
		chromedp.WaitEnabled(`#buy`),
		chromedp.Click(`#buy`),
		chromedp.WaitVisible(`#order-status[data-status="created"]`),
		screenshot(shots, "12-new-sale-bought.png"),
	)
	o := s.WaitOrder(act, user, api.ShopperOrderStatusCreated, 10*time.Second)
	if pay := o.ExpiresAt.Sub(o.CreatedAt); o.Price != 2500 || pay < 110*time.Second || pay > 130*time.Second {
		t.Fatalf("the order is %d with %s to pay, want the form's 2500 and 2m0s", o.Price, pay)
	}
}
