// Package webui holds the flashsale service's pages: plain HTML, CSS and
// JavaScript embedded in the binary, with no outside links, so they work
// offline. The shopper page is served at / on the shopper listener and
// calls the shopper API of docs/api.md; the sale view is served at / on the
// admin listener and calls the admin API with the token the operator
// enters.
package webui

import (
	"embed"
	"io/fs"
	"net/http"

	"github.com/gin-gonic/gin"
)

//go:embed shop sale
var files embed.FS

// Shop adds the shopper page to e: / and its files under /ui/shop/.
func Shop(e *gin.Engine) { page(e, "shop") }

// Sale adds the operators' sale view to e: / and its files under /ui/sale/.
func Sale(e *gin.Engine) { page(e, "sale") }

func page(e *gin.Engine, dir string) {
	sub, err := fs.Sub(files, dir)
	if err != nil {
		panic(err) // the directories are embedded: cannot happen
	}
	index, err := fs.ReadFile(sub, "index.html")
	if err != nil {
		panic(err)
	}
	static := http.StripPrefix("/ui/"+dir, http.FileServer(http.FS(sub)))
	e.GET("/", func(c *gin.Context) {
		c.Header("Cache-Control", "no-cache")
		c.Data(http.StatusOK, "text/html; charset=utf-8", index)
	})
	e.GET("/ui/"+dir+"/*file", func(c *gin.Context) {
		c.Header("Cache-Control", "no-cache")
		static.ServeHTTP(c.Writer, c.Request)
	})
}
