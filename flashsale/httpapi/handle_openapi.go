package httpapi

import (
	"net/http"

	"github.com/flashsale/flashsale/internal/api"
	"github.com/gin-gonic/gin"
)

// openAPI adds the API's OpenAPI document (internal/api/openapi.yaml):
// /openapi.json and, as written, /openapi.yaml.
func openAPI(e *gin.Engine) {
	e.GET("/openapi.json", func(c *gin.Context) {
		c.Data(http.StatusOK, "application/json; charset=utf-8", api.SpecJSON())
	})
	e.GET("/openapi.yaml", func(c *gin.Context) {
		c.Data(http.StatusOK, "application/yaml; charset=utf-8", api.SpecYAML())
	})
}
