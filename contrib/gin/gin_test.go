package phpgin_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/phpsession/phpsession"
	phpgin "github.com/phpsession/phpsession/contrib/gin"
	"github.com/phpsession/phpsession/internal/adaptertest"
)

// TestGin: requests through gin, behind phpgin.Middleware, against a real
// redis-server, with PHP reading and writing the same session.
func TestGin(t *testing.T) {
	gin.SetMode(gin.TestMode)
	adaptertest.Run(t, func(t *testing.T, app *adaptertest.App, opts phpsession.MiddlewareOptions) string {
		r := gin.New()
		r.Use(phpgin.Middleware(app.M, opts))
		r.POST("/cart", func(c *gin.Context) {
			c.Status(app.AddToCart(c.Request.Context(), c.Query("sku"), c.Query("qty")))
		})
		r.GET("/cart", func(c *gin.Context) {
			code, body := app.ShowCart(c.Request.Context())
			c.Data(code, "application/json", body)
		})
		r.GET("/id", func(c *gin.Context) {
			id, ok := phpgin.SessionID(c)
			if !ok {
				id = "-"
			}
			c.String(http.StatusOK, id)
		})
		srv := httptest.NewServer(r)
		t.Cleanup(srv.Close)
		return srv.URL
	})
}
