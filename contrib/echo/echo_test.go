package phpecho_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/require"

	"github.com/phpsession/phpsession"
	phpecho "github.com/phpsession/phpsession/contrib/echo"
	"github.com/phpsession/phpsession/internal/adaptertest"
)

// TestEcho: requests through Echo, behind phpecho.Middleware, against a
// real redis-server, with PHP reading and writing the same session.
func TestEcho(t *testing.T) {
	adaptertest.Run(t, func(t *testing.T, app *adaptertest.App, opts phpsession.MiddlewareOptions) string {
		e := echo.New()
		e.HideBanner, e.HidePort = true, true
		mw, err := phpecho.Middleware(app.M, opts)
		require.NoError(t, err)
		e.Use(mw)
		e.POST("/login", func(c echo.Context) error {
			id, err := app.M.RegenerateRequest(c.Response(), c.Request(), true)
			if err != nil {
				return c.String(http.StatusInternalServerError, err.Error())
			}
			return c.String(http.StatusOK, id)
		})
		e.POST("/cart", func(c echo.Context) error {
			return c.NoContent(app.AddToCart(c.Request().Context(), c.QueryParam("sku"), c.QueryParam("qty")))
		})
		e.GET("/cart", func(c echo.Context) error {
			code, body := app.ShowCart(c.Request().Context())
			return c.Blob(code, "application/json", body)
		})
		e.GET("/id", func(c echo.Context) error {
			id, ok := phpecho.SessionID(c)
			if !ok {
				id = "-"
			}
			return c.String(http.StatusOK, id)
		})
		srv := httptest.NewServer(e)
		t.Cleanup(srv.Close)
		return srv.URL
	})
}
