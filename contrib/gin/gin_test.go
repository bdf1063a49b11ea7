package phpgin_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/require"

	"github.com/phpsession/phpsession"
	phpgin "github.com/phpsession/phpsession/contrib/gin"
	"github.com/phpsession/phpsession/internal/adaptertest"
)

// TestGin: requests through gin, behind phpgin.Middleware, against a real
// redis-server, with PHP reading and writing the same session.
func TestGin(t *testing.T) {
	gin.SetMode(gin.TestMode)
	adaptertest.Run(t, func(t *testing.T, app *adaptertest.App, opts phpsession.MiddlewareOptions) string {
		mw, err := phpgin.Middleware(app.M, opts)
		require.NoError(t, err)
		r := gin.New()
		r.Use(mw)
		r.POST("/login", func(c *gin.Context) {
			id, err := app.M.RegenerateRequest(c.Writer, c.Request, true)
			if err != nil {
				c.String(http.StatusInternalServerError, err.Error())
				return
			}
			c.String(http.StatusOK, id)
		})
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
