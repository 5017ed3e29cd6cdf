package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/flashsale/flashsale/dtmconf"
	"github.com/flashsale/flashsale/internal/api"
)

// TestBrowserSale is a shopper and an operator with a real browser
// (headless Chromium, Debian's package) against the embedded binary: the
// shopper page counts down to the start by server time although the
// browser's clock is 90 s behind, buys once the button enables, sees the
// order go from pending to created, and pays; then the dtm dashboard,
// served by the in-process dtm server, lists that purchase's gid as
// succeed and opens its detail, also by the link of the sale view (on the
// admin port), which shows the sale's stock and orders; an operator
// creates a sale with the view's New sale form (newSaleInView) and a
// shopper buys in it. Screenshots go to .run/screenshots/ (or
// FLASHSALE_SCREENSHOTS). With FLASHSALE_UPDATE_SCREENSHOTS=1 it also
// writes the pictures of the documentation, docs/images/shop.png,
// docs/images/new-sale.png and docs/images/dashboard.png; never otherwise, so that a normal run leaves
// the repository as it is.
//
// Without chromium (or without the dashboard, scripts/build-dtm) the test,
// or its dashboard half, is skipped; with CI=true, or when updating the
// documentation's pictures, it fails instead.
func TestBrowserSale(t *testing.T) {
	chrome := findChromium()
	if chrome == "" {
		needInCI(t, "no chromium on PATH (apt-get install chromium, or set CHROMIUM)")
	}
	dashboard := dtmconf.DashboardDir(os.Getenv)
	shots := screenshotDir(t)

	dir := t.TempDir()
	s := newSale(t, dir, "FLASHSALE_DTM_DASHBOARD_DIR="+dashboard)
	s.start()
	// The browser first: on a busy machine chromium takes seconds to start.
	ctx, cancel := newBrowser(t, chrome)
	defer cancel()

	// The sale opens 12 s from now, on a whole second as an operator sets it.
	start := time.Now().Add(12 * time.Second).Truncate(time.Second).Add(time.Second)
	act := s.Open(browserSale(3, start, 0)).ID
	user := "carol"
	gid := fmt.Sprintf("flash-sale-%d-%s", act, user)

	t.Run("shop", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
		defer cancel()
		var countdown string
		var buyDisabled bool
		step(t, ctx, "open the page, the sale not started",
			// The browser's clock runs 90 s behind (newBrowser): the
			// page must count down by the server's.
			chromedp.Navigate(s.shop+"/#token="+s.Token(user)),
			chromedp.WaitVisible(fmt.Sprintf(`a[data-activity="%d"]`, act)),
			screenshot(shots, "1-list.png"),
			chromedp.Click(fmt.Sprintf(`a[data-activity="%d"]`, act)),
			chromedp.WaitVisible(`#countdown`),
			chromedp.Poll(`document.getElementById('countdown').textContent.startsWith('Opens in')`, nil, chromedp.WithPollingTimeout(10*time.Second)),
			chromedp.Text(`#countdown`, &countdown),
			chromedp.JavascriptAttribute(`#buy`, "disabled", &buyDisabled),
			screenshot(shots, "2-countdown.png"),
		)
		if !buyDisabled {
			t.Fatalf("the buy button is enabled before the start (countdown %q)", countdown)
		}
		left := time.Until(start)
		t.Logf("countdown %q with %.1f s to the start", countdown, left.Seconds())
		if !countdownNear(countdown, left) {
			t.Fatalf("countdown %q, want about %s (the server's clock, not the browser's)", countdown, left.Round(time.Second))
		}
		step(t, ctx, "buy once the sale opens",
			chromedp.WaitEnabled(`#buy`),
			screenshot(shots, "3-open.png"),
		)
		if early := time.Until(start); early > 500*time.Millisecond {
			t.Fatalf("the buy button enabled %s before the start", early)
		}
		step(t, ctx, "buy, and see the order created",
			chromedp.Click(`#buy`),
			chromedp.WaitVisible(`#order-status[data-status="created"]`),
			screenshot(shots, "4-created.png"),
			docImage("shop.png"),
		)
		if !payEndpoint(t, s) {
			t.Log("POST /api/v1/orders/{id}/pay is not routed in this build: not paying")
			return
		}
		step(t, ctx, "pay",
			chromedp.Click(`#pay`),
			chromedp.WaitVisible(`#order-status[data-status="paid"]`),
			screenshot(shots, "5-paid.png"),
		)
	})

	var dtmLink string
	t.Run("sale view", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		step(t, ctx, "the sale view shows the sale and links the purchase into the dtm dashboard",
			chromedp.Navigate(fmt.Sprintf("%s/?activity=%d#token=%s", s.adm, act, testAdmin)),
			chromedp.Poll(`document.getElementById('redis-stock').textContent === '2' && document.querySelector('#orders td[data-key="paid"]')?.textContent === '1'`,
				nil, chromedp.WithPollingTimeout(10*time.Second)),
			chromedp.SendKeys(`#lookup`, user),
			chromedp.Click(`#lookup-form button`),
			chromedp.WaitVisible(`#dtm-link`),
			chromedp.AttributeValue(`#dtm-link`, "href", &dtmLink, nil),
			screenshot(shots, "6-sale-view.png"),
		)
		base := strings.TrimSuffix(s.dtm, "/api/dtmsvr")
		if want := base + "/admin/global-transactions/detail/" + gid; dtmLink != want {
			t.Fatalf("the sale view links %q, want %q", dtmLink, want)
		}
		step(t, ctx, "the operator adds 5 units, then ends the sale",
			chromedp.SendKeys(`#adjust-delta`, "5"),
			chromedp.Click(`#adjust`),
			chromedp.Poll(`document.getElementById('total').textContent === '8' && document.getElementById('redis-stock').textContent === '7'`,
				nil, chromedp.WithPollingTimeout(10*time.Second)),
			chromedp.Poll(`document.querySelector('#adjustments li[data-request^="ui_"]')?.textContent.startsWith('+5 units')`,
				nil, chromedp.WithPollingTimeout(10*time.Second)),
			chromedp.Evaluate(`window.confirm = () => true`, nil), // the "end the sale?" dialog, answered yes
			chromedp.Click(`#cancel-sale`),
			chromedp.Poll(`[...document.querySelectorAll('#activity option')].some(o => o.textContent.includes('(ended)'))`,
				nil, chromedp.WithPollingTimeout(10*time.Second)),
			screenshot(shots, "7-sale-changed.png"),
		)
		if code, e := s.Buy(act, "after_the_end"); code != http.StatusGone || e != api.ErrorCodeEnded {
			t.Fatalf("a buy after the operator ended the sale: %d %s, want 410 ended", code, e)
		}
	})

	t.Run("new sale", func(t *testing.T) { newSaleInView(t, ctx, s, shots) })

	t.Run("dashboard", func(t *testing.T) {
		if dashboard == "" {
			needInCI(t, "the dtm dashboard is not built (scripts/build-dtm)")
		}
		ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		base := strings.TrimSuffix(s.dtm, "/api/dtmsvr")
		row := fmt.Sprintf(`[...document.querySelectorAll('tr')].find(r => r.textContent.includes(%q))`, gid)
		step(t, ctx, "find the purchase in the dashboard",
			chromedp.Navigate(base+"/"),
			chromedp.WaitVisible(`input[placeholder="gid"]`),
			chromedp.SendKeys(`input[placeholder="gid"]`, gid),
			chromedp.Click(`button[type="submit"]`),
			chromedp.Poll(`(() => { const r = `+row+`; return !!r && r.querySelector('.ant-tag')?.textContent.trim() === 'succeed'; })()`,
				nil, chromedp.WithPollingTimeout(20*time.Second)),
			screenshot(shots, "7-dashboard.png"),
			docImage("dashboard.png"),
		)
		// A dashboard built at another version than the server's shows a
		// red "admin version ... != dtm version" line (scripts/build-dtm).
		var banner bool
		step(t, ctx, "the dashboard shows no version-mismatch banner",
			chromedp.Evaluate(`document.body.innerText.includes('admin version')`, &banner))
		if banner {
			t.Error("the dtm dashboard shows its version-mismatch banner: rebuild it with scripts/build-dtm --force")
		}
		step(t, ctx, "open its detail",
			chromedp.Evaluate(row+`.querySelector('a').click()`, nil),
			chromedp.WaitVisible(`.ant-modal .ant-descriptions`),
			chromedp.Poll(fmt.Sprintf(`document.querySelector('.ant-modal').textContent.includes(%q) && document.querySelector('.ant-modal .ant-tag').textContent.trim() === 'succeed'`, gid),
				nil, chromedp.WithPollingTimeout(10*time.Second)),
			chromedp.Sleep(500*time.Millisecond), // the dialog fades in
			screenshot(shots, "8-detail.png"),
		)
		if dtmLink == "" {
			dtmLink = base + "/admin/global-transactions/detail/" + gid
		}
		step(t, ctx, "open its page (the sale view's link)",
			chromedp.Navigate(dtmLink),
			chromedp.WaitVisible(`.ant-descriptions`),
			chromedp.Poll(fmt.Sprintf(`!!document.querySelector('.ant-descriptions') && document.body.textContent.includes(%q)`, gid),
				nil, chromedp.WithPollingTimeout(10*time.Second)),
			chromedp.Sleep(500*time.Millisecond), // the dialog fades in
			screenshot(shots, "9-detail-page.png"),
		)
	})
	t.Logf("screenshots in %s", shots)

	t.Run("challenge", func(t *testing.T) {
		// A sale asking a proof of work: the page solves it in a Web
		// Worker, showing its progress, and buys.
		const d = 14
		powAct := s.Open(browserSale(2, time.Now().Add(-time.Minute), d)).ID
		ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
		defer cancel()
		step(t, ctx, "buy through the challenge",
			chromedp.Navigate(s.shop+"/#token="+s.Token("dora")),
			chromedp.WaitVisible(fmt.Sprintf(`a[data-activity="%d"]`, powAct)),
			chromedp.Click(fmt.Sprintf(`a[data-activity="%d"]`, powAct)),
			chromedp.WaitEnabled(`#buy`),
			chromedp.Click(`#buy`),
			chromedp.WaitVisible(`#order-status[data-status="created"]`),
		)
		// The solver's speed in this Chromium, one worker, for the
		// documentation: three challenges at each difficulty.
		var runs map[string]struct{ Ms, Tries float64 }
		step(t, ctx, "time the solver",
			chromedp.Evaluate(`(async () => {
				const out = {};
				for (const d of [12, 16, 18]) {
					out[d] = {Ms: 0, Tries: 0};
					for (let i = 0; i < 3; i++) {
						const w = new Worker('/ui/shop/pow.js');
						const t0 = performance.now();
						const tries = await new Promise((res) => { w.onmessage = (e) => { if (e.data.solution !== undefined) res(e.data.tries); }; w.postMessage({challenge: 'timing.' + d + '.' + Math.random(), difficulty: d}); });
						w.terminate();
						out[d].Ms += performance.now() - t0;
						out[d].Tries += tries;
					}
				}
				return out;
			})()`, &runs, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }),
		)
		var ms, tries float64
		for d, r := range runs {
			t.Logf("difficulty %s: 3 solves in %.0f ms, %.0f hashes", d, r.Ms, r.Tries)
			ms, tries = ms+r.Ms, tries+r.Tries
		}
		rate := tries / ms * 1000
		t.Logf("the page's solver: %.0f hashes/s; expected solve at 12/16/18/20 bits: %.2f/%.1f/%.1f/%.1f s",
			rate, 4096/rate, 65536/rate, 262144/rate, 1048576/rate)
	})
}

// newBrowser starts headless Chromium whose clock (Date.now) runs 90 s
// behind the machine's, in every page it opens.
func newBrowser(t *testing.T, chrome string) (context.Context, context.CancelFunc) {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chrome),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.WindowSize(1100, 820),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	if err := chromedp.Run(ctx, skewClock(-90*time.Second)); err != nil {
		cancelCtx()
		cancelAlloc()
		t.Fatalf("start chromium (%s): %v", chrome, err)
	}
	return ctx, func() { cancelCtx(); cancelAlloc() }
}

// skewClock shifts Date.now in every page opened from now on.
func skewClock(d time.Duration) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		script := fmt.Sprintf(`(() => { const real = Date.now; Date.now = () => real() + (%d); })();`, d.Milliseconds())
		_, err := page.AddScriptToEvaluateOnNewDocument(script).Do(ctx)
		return err
	})
}

// step runs the browser actions of one step, failing t with its name.
func step(t *testing.T, ctx context.Context, name string, actions ...chromedp.Action) {
	t.Helper()
	if err := chromedp.Run(ctx, actions...); err != nil {
		var text string
		chromedp.Run(ctx, chromedp.Evaluate(`document.body ? document.body.innerText.slice(0, 2000) : ''`, &text))
		t.Fatalf("%s: %v\npage text:\n%s", name, err, text)
	}
}

// updateDocImages reports whether the run writes the documentation's
// pictures (FLASHSALE_UPDATE_SCREENSHOTS=1).
func updateDocImages() bool { return os.Getenv("FLASHSALE_UPDATE_SCREENSHOTS") == "1" }

// docImage writes a screenshot to docs/images/name when updateDocImages,
// and does nothing otherwise.
func docImage(name string) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		if !updateDocImages() {
			return nil
		}
		var png []byte
		if err := chromedp.CaptureScreenshot(&png).Do(ctx); err != nil {
			return err
		}
		dir := filepath.Join("docs", "images")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, name), png, 0o644)
	})
}

func screenshot(dir, name string) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		var png []byte
		if err := chromedp.CaptureScreenshot(&png).Do(ctx); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, name), png, 0o644)
	})
}

// countdownNear reports whether a countdown "Opens in HH:MM:SS" shows left,
// give or take two seconds.
func countdownNear(text string, left time.Duration) bool {
	var h, m, s int
	if _, err := fmt.Sscanf(text, "Opens in %d:%d:%d", &h, &m, &s); err != nil {
		return false
	}
	shown := time.Duration(h*3600+m*60+s) * time.Second
	diff := shown - left
	return diff > -2*time.Second && diff < 2*time.Second
}

// payEndpoint reports whether the pay endpoint (docs/api.md) is routed: the
// engine answers an unrouted path with "no such endpoint".
func payEndpoint(t *testing.T, s *sale) bool {
	r := s.Pay(999999999, "nobody")
	return !(r.StatusCode() == http.StatusNotFound && r.JSON404.Message == "no such endpoint")
}

func findChromium() string {
	if c := os.Getenv("CHROMIUM"); c != "" {
		return c
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// needInCI skips t for reason, or fails it when CI=true or when the run
// is to write the documentation's pictures.
func needInCI(t *testing.T, reason string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true and %s", reason)
	}
	if updateDocImages() {
		t.Fatalf("FLASHSALE_UPDATE_SCREENSHOTS=1 and %s", reason)
	}
	t.Skip(reason)
}

func screenshotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("FLASHSALE_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join(".run", "screenshots")
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// browserSale is the sale the browser sees: total units of a phone at
// 1999, opening at start for an hour, with a proof of work of difficulty
// bits before the secret (0: none).
func browserSale(total int, start time.Time, difficulty int) (api.NewProduct, api.NewActivity) {
	p := api.NewProduct{Name: "Browser phone", Description: "A phone for the browser test.", Price: 5000}
	a := api.NewActivity{Name: "Browser sale", Price: 1999, Total: total, StartAt: start.UTC(), EndAt: start.Add(time.Hour).UTC(),
		ChallengeDifficulty: difficulty}
	return p, a
}
