package webui

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/flashsale/flashsale/internal/contract"
	"github.com/gin-gonic/gin"
)

func TestPagesServed(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	for _, c := range []struct {
		add          func(*gin.Engine)
		index, asset string
		want         string
	}{
		{Shop, "/", "/ui/shop/shop.js", `id="buy"`},
		{Sale, "/", "/ui/sale/sale.js", `id="lookup"`},
		{Sale, "/", "/ui/sale/newsale.js", `id="new-sale-form"`},
	} {
		e := gin.New()
		c.add(e)
		for _, p := range []string{c.index, c.asset} {
			w := httptest.NewRecorder()
			e.ServeHTTP(w, httptest.NewRequest(http.MethodGet, p, nil))
			body, _ := io.ReadAll(w.Result().Body)
			if w.Code != http.StatusOK || len(body) == 0 {
				t.Errorf("GET %s: %d", p, w.Code)
			}
			if p == c.index && !strings.Contains(string(body), c.want) {
				t.Errorf("GET %s: no %s", p, c.want)
			}
		}
	}
}

// TestOffline checks that the pages load nothing from another host: no
// CDN, no web font, so they work without a network.
func TestOffline(t *testing.T) {
	outside := regexp.MustCompile(`(?i)(src|href)\s*=\s*["']?(https?:)?//|url\(\s*["']?(https?:)?//|@import|fetch\(\s*["'](https?:)?//`)
	fs.WalkDir(files, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := files.ReadFile(path)
		if m := outside.Find(b); m != nil {
			t.Errorf("%s loads from another host: %s", path, m)
		}
		return nil
	})
}

// TestEveryErrorHasAMessage checks that the shopper page has its own
// message for every error code of the contract.
func TestEveryErrorHasAMessage(t *testing.T) {
	js, err := files.ReadFile("shop/shop.js")
	if err != nil {
		t.Fatal(err)
	}
	for _, code := range []string{
		contract.EBadRequest, contract.EUnauthorized, contract.ENotFound, contract.ENotStarted, contract.EEnded,
		contract.EBadSecret, contract.EBlocked, contract.ERateLimited, contract.ESoldOut, contract.EAlreadyPurchased,
		contract.ETooLarge, contract.EUnavailable, contract.ENotPayable, contract.EInternal,
	} {
		if !regexp.MustCompile(`\n\s+` + code + `: '`).Match(js) {
			t.Errorf("shop.js has no message for %s", code)
		}
	}
}
